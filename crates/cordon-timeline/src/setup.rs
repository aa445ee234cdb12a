//! What a run needs to know about the examined system before reading its logs: its name, its time
//! zone (local times in its logs) and its accounts — all read from its files as data.

use std::collections::HashMap;

use cordon_host::Target;

use crate::civil::LocalZone;
use crate::detect::Accounts;

/// The examined system, as far as the timeline is concerned.
#[derive(Debug, Clone)]
pub struct System {
    /// Host name (`/etc/hostname` of an offline tree; the kernel's for the live host).
    pub host: String,
    /// The zone its local times are in.
    pub zone: LocalZone,
    /// Its accounts.
    pub accounts: Accounts,
    /// uid → name.
    pub uid_names: HashMap<u32, Vec<u8>>,
    /// Things the responder should know (zone assumed, files unreadable).
    pub notes: Vec<String>,
}

/// True for a plausible IANA zone name: letters, digits, `_+-/`, no `..` component, not absolute.
pub fn is_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && !name.starts_with('/')
        && name.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-/".contains(&b))
}

/// Reads what the timeline needs about `target`. `tz` (from the responder) wins over the target's
/// `/etc/timezone`; without either, UTC is assumed and a note says so.
pub fn examine(target: &Target, tz: Option<&str>) -> Result<System, crate::Error> {
    let mut notes = Vec::new();
    let host = if target.is_live() {
        cordon_host::identity::hostname()
    } else {
        cordon_host::open::read_capped(&target.path("/etc/hostname"), 256)
            .ok()
            .map(|f| String::from_utf8_lossy(f.bytes.trim_ascii()).into_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| target.label())
    };
    let zone = match tz {
        Some(name) => LocalZone::named(name)?,
        None => target_zone(target, &mut notes),
    };
    let passwd = cordon_host::accounts::read_passwd(target.root()).map(|(p, _)| p);
    let groups = cordon_host::accounts::read_group(target.root())
        .map(|(g, _)| g)
        .unwrap_or_default();
    let passwd = match passwd {
        Ok(p) => p,
        Err(e) => {
            notes.push(format!(
                "accounts not read ({e}): account-based log checks skipped"
            ));
            Vec::new()
        }
    };
    let uid_names = passwd.iter().map(|p| (p.uid, p.name.clone())).collect();
    Ok(System {
        host,
        zone,
        accounts: Accounts::new(&passwd, &groups),
        uid_names,
        notes,
    })
}

/// For log files given by hand (copied off the examined system): nothing is known about the system
/// they came from — no accounts, zone from `tz` or UTC.
pub fn detached(tz: Option<&str>) -> Result<System, crate::Error> {
    let mut notes =
        vec!["log files given by hand: account-based checks skipped (no passwd of their host)".to_owned()];
    let zone = match tz {
        Some(name) => LocalZone::named(name)?,
        None => {
            notes.push(
                "local log times read as UTC; use --tz for the zone of the host that wrote them".into(),
            );
            LocalZone::utc("assumed")
        }
    };
    Ok(System {
        host: "unknown".into(),
        zone,
        accounts: Accounts::default(),
        uid_names: HashMap::new(),
        notes,
    })
}

fn target_zone(target: &Target, notes: &mut Vec<String>) -> LocalZone {
    let name = cordon_host::open::read_capped(&target.path("/etc/timezone"), 256)
        .ok()
        .map(|f| String::from_utf8_lossy(f.bytes.trim_ascii()).into_owned());
    match name {
        Some(n) if n == "UTC" || n == "Etc/UTC" => LocalZone::utc("/etc/timezone"),
        Some(n) if is_zone_name(&n) => {
            let file = format!("/usr/share/zoneinfo/{n}");
            match cordon_host::open::read_capped(&target.path(&file), 1024 * 1024)
                .map_err(|e| e.to_string())
                .and_then(|f| LocalZone::from_tzif(&n, &f.bytes, "/etc/timezone").map_err(|e| e.to_string()))
            {
                Ok(z) => z,
                Err(e) => {
                    notes.push(format!(
                        "time zone {n} of the target not usable ({e}): local log times read as UTC; use --tz"
                    ));
                    LocalZone::utc("assumed")
                }
            }
        }
        Some(n) => {
            notes.push(format!(
                "/etc/timezone holds an odd zone name ({}): local log times read as UTC; use --tz",
                n.escape_debug()
            ));
            LocalZone::utc("assumed")
        }
        None => {
            notes.push("no /etc/timezone on the target: local log times read as UTC; use --tz if the host ran another zone".into());
            LocalZone::utc("assumed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_cannot_leave_the_zoneinfo_directory() {
        assert!(
            is_zone_name("Europe/Paris")
                && is_zone_name("America/Port-au-Prince")
                && is_zone_name("Etc/GMT+5")
        );
        assert!(!is_zone_name("../../etc/shadow") && !is_zone_name("/etc/passwd") && !is_zone_name("a//b"));
    }
}
