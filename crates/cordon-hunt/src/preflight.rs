//! The gate before a rebuilt host goes back on the network: nothing the hunt finds at medium or
//! above, none of the incident's indicators, the entry vector closed, and a short hardening set.
//! Package integrity is checked by the caller (it lives in `cordon-integrity`) and passed in.

use cordon_core::{Finding, Severity};
use cordon_host::Target;

use crate::context::Ctx;
use crate::fs::RootFs;
use crate::indicators::{Indicator, present};
use crate::launch::logical_lines;
use crate::launch::ssh::split_keyword;
use crate::{Error, HuntOptions, hunt};

/// One preflight check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short id (`hunt`, `indicators`, `entry.ssh_passwords`, `harden.firewall` …).
    pub id: String,
    /// Passed?
    pub pass: bool,
    /// Why, in words.
    pub reason: String,
}

fn check(id: &str, pass: bool, reason: impl Into<String>) -> Check {
    Check {
        id: id.to_owned(),
        pass,
        reason: reason.into(),
    }
}

/// What preflight needs from the case.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    /// The incident's indicators.
    pub indicators: Vec<Indicator>,
    /// The case's findings (entry vectors come from `logs.*` and `web.*`).
    pub findings: Vec<Finding>,
    /// When the incident was detected (the case opened), days since the epoch.
    pub detected_day: i64,
}

/// Runs every check on the rebuilt system at `target`.
pub fn run(target: &Target, facts: &CaseFacts) -> Result<Vec<Check>, Error> {
    let mut out = Vec::new();
    let report = hunt(target, &HuntOptions::default())?;
    let serious: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .collect();
    if serious.is_empty() {
        out.push(check("hunt", true, "the hunt finds nothing at medium or above"));
    }
    for f in serious {
        out.push(check(
            &format!("hunt.{}", f.check),
            false,
            format!("{} ({})", f.summary, f.severity.as_str()),
        ));
    }

    let fs = RootFs::open(target)?;
    let left = present(&fs, &facts.indicators);
    if left.is_empty() {
        out.push(check(
            "indicators",
            true,
            format!(
                "none of the incident's {} indicators is present",
                facts.indicators.len()
            ),
        ));
    }
    for i in left {
        out.push(check(
            "indicators",
            false,
            format!("the attacker's {} is still there", i.describe()),
        ));
    }

    let mut ctx = Ctx::new(fs, report.target.clone());
    entry_vector(&mut ctx, facts, &mut out);
    hardening(&mut ctx, &mut out);
    Ok(out)
}

fn sshd_settings(ctx: &mut Ctx) -> Vec<(String, String)> {
    let mut files = vec![b"/etc/ssh/sshd_config".to_vec()];
    files.extend(ctx.files_in(b"/etc/ssh/sshd_config.d"));
    let mut out = Vec::new();
    // sshd uses the first value it reads for a keyword; drop-ins are read where `Include` stands,
    // which on Debian is the top of sshd_config, so they come first.
    files.rotate_left(1);
    for path in files {
        if let Some(c) = ctx.read(&path) {
            for (_, line) in logical_lines(&c.bytes) {
                let (k, v) = split_keyword(&line);
                out.push((
                    String::from_utf8_lossy(k).to_ascii_lowercase(),
                    String::from_utf8_lossy(v).to_ascii_lowercase(),
                ));
            }
        }
    }
    out
}

fn first<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn entry_vector(ctx: &mut Ctx, facts: &CaseFacts, out: &mut Vec<Check>) {
    let ssh_entries: Vec<&Finding> = facts
        .findings
        .iter()
        .filter(|f| f.check == "logs.bruteforce_then_success" || f.check == "logs.ssh_bruteforce")
        .collect();
    if !ssh_entries.is_empty() {
        let s = sshd_settings(ctx);
        let passwords_off = first(&s, "passwordauthentication") == Some("no")
            && first(&s, "kbdinteractiveauthentication").unwrap_or("no") == "no";
        let limited = ctx
            .read(b"/etc/fail2ban/jail.local")
            .is_some_and(|c| String::from_utf8_lossy(&c.bytes).contains("[sshd]"))
            || ctx
                .read(b"/etc/fail2ban/jail.d/defaults-debian.conf")
                .is_some_and(|c| String::from_utf8_lossy(&c.bytes).contains("[sshd]"));
        out.push(check(
            "entry.ssh_passwords",
            passwords_off || limited,
            if passwords_off {
                "the way in was SSH password guessing; password authentication is now off".to_owned()
            } else if limited {
                "the way in was SSH password guessing; fail2ban limits sshd".to_owned()
            } else {
                "the way in was SSH password guessing, and sshd still accepts passwords without rate limiting: set PasswordAuthentication no (or enable fail2ban's sshd jail)".to_owned()
            },
        ));
        let shadow = ctx.read(b"/etc/shadow").map(|c| c.bytes).unwrap_or_default();
        for f in ssh_entries
            .iter()
            .filter(|f| f.check == "logs.bruteforce_then_success")
        {
            let Some(user) = &f.user else { continue };
            let name = String::from_utf8_lossy(user).into_owned();
            let line = shadow
                .split(|&b| b == b'\n')
                .find(|l| l.starts_with(user) && l.get(user.len()) == Some(&b':'));
            let fields: Vec<&[u8]> = line
                .map(|l| l.split(|&b| b == b':').collect())
                .unwrap_or_default();
            let locked = fields
                .get(1)
                .is_some_and(|h| h.starts_with(b"!") || h.starts_with(b"*"));
            let changed_day = fields
                .get(2)
                .and_then(|d| std::str::from_utf8(d).ok()?.parse::<i64>().ok());
            let changed_after = changed_day.is_some_and(|d| d >= facts.detected_day);
            let (pass, why) = if line.is_none() {
                (true, format!("the abused account {name} no longer exists"))
            } else if locked {
                (true, format!("the abused account {name} is locked"))
            } else if changed_after {
                (
                    true,
                    format!("the abused account {name}'s password was changed after the incident"),
                )
            } else {
                (
                    false,
                    format!(
                        "the abused account {name} is neither locked nor has its password been changed since the incident"
                    ),
                )
            };
            out.push(check("entry.abused_account", pass, why));
        }
    }
    for f in facts
        .findings
        .iter()
        .filter(|f| f.check == "web.shell" || f.check == "web.script_in_uploads")
    {
        let Some(path) = &f.path else { continue };
        let gone = !matches!(ctx.fs.meta(path), Ok(Some(_)));
        out.push(check(
            "entry.web_shell",
            gone,
            if gone {
                format!("the web shell {} is gone", cordon_core::escape_terminal(path))
            } else {
                format!(
                    "the web shell {} is still there",
                    cordon_core::escape_terminal(path)
                )
            },
        ));
    }
}

fn hardening(ctx: &mut Ctx, out: &mut Vec<Check>) {
    let s = sshd_settings(ctx);
    let root_login = first(&s, "permitrootlogin").unwrap_or("prohibit-password");
    out.push(check(
        "harden.ssh_root_password",
        root_login != "yes",
        format!(
            "PermitRootLogin is {root_login}{}",
            if root_login == "yes" {
                ": root can log in with a password"
            } else {
                ""
            }
        ),
    ));
    let empty = first(&s, "permitemptypasswords").unwrap_or("no");
    out.push(check(
        "harden.ssh_empty_passwords",
        empty != "yes",
        format!("PermitEmptyPasswords is {empty}"),
    ));

    let mut writable = Vec::new();
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        // Merged-/usr symlinks (/bin → usr/bin) show 0777 themselves; only real directories count.
        if let Ok(Some(m)) = ctx.fs.meta(dir.as_bytes())
            && m.is_dir()
            && m.mode & 0o002 != 0
            && m.mode & 0o1000 == 0
        {
            writable.push(dir);
        }
    }
    out.push(check(
        "harden.root_path",
        writable.is_empty(),
        if writable.is_empty() {
            "no directory in root's PATH is world-writable".to_owned()
        } else {
            format!(
                "world-writable directories in root's PATH: {}",
                writable.join(", ")
            )
        },
    ));

    let mut nopasswd = Vec::new();
    accounts_nopasswd(ctx, &mut nopasswd);
    out.push(check(
        "harden.sudo_service_accounts",
        nopasswd.is_empty(),
        if nopasswd.is_empty() {
            "no service account may sudo without a password".to_owned()
        } else {
            format!("service accounts with NOPASSWD sudo: {}", nopasswd.join(", "))
        },
    ));

    let firewall = firewall_default_deny(ctx);
    out.push(check(
        "harden.firewall",
        firewall.is_some(),
        firewall.unwrap_or_else(|| "no default-deny inbound firewall is configured (nftables input policy drop, ufw default deny, or iptables INPUT DROP)".into()),
    ));

    let auto = ctx.read(b"/etc/apt/apt.conf.d/20auto-upgrades").is_some_and(|c| {
        let t = String::from_utf8_lossy(&c.bytes);
        t.lines()
            .any(|l| l.contains("Unattended-Upgrade") && l.contains("\"1\""))
    });
    out.push(check(
        "harden.security_updates",
        auto,
        if auto { "automatic security updates are on (unattended-upgrades)" } else { "automatic security updates are off: install unattended-upgrades and enable it in /etc/apt/apt.conf.d/20auto-upgrades" },
    ));
}

fn accounts_nopasswd(ctx: &mut Ctx, out: &mut Vec<String>) {
    let mut files = vec![b"/etc/sudoers".to_vec()];
    files.extend(ctx.files_in(b"/etc/sudoers.d"));
    for path in files {
        let Some(c) = ctx.read(&path) else { continue };
        for (_, line) in logical_lines(&c.bytes) {
            if !line.windows(8).any(|w| w == b"NOPASSWD") {
                continue;
            }
            let who = line
                .split(|b| b.is_ascii_whitespace())
                .next()
                .unwrap_or_default()
                .to_vec();
            if ctx
                .users
                .iter()
                .any(|u| u.name == who && u.uid > 0 && u.uid < 1000)
            {
                out.push(String::from_utf8_lossy(&who).into_owned());
            }
        }
    }
}

fn firewall_default_deny(ctx: &mut Ctx) -> Option<String> {
    if let Some(c) = ctx.read(b"/etc/nftables.conf") {
        let t = String::from_utf8_lossy(&c.bytes).to_ascii_lowercase();
        if t.contains("hook input") && t.contains("policy drop") {
            return Some("nftables: the input chain's policy is drop".into());
        }
    }
    let ufw_on = ctx
        .read(b"/etc/ufw/ufw.conf")
        .is_some_and(|c| String::from_utf8_lossy(&c.bytes).contains("ENABLED=yes"));
    let ufw_deny = ctx
        .read(b"/etc/default/ufw")
        .is_some_and(|c| String::from_utf8_lossy(&c.bytes).contains("DEFAULT_INPUT_POLICY=\"DROP\""));
    if ufw_on && ufw_deny {
        return Some("ufw is enabled with a default-deny input policy".into());
    }
    if let Some(c) = ctx.read(b"/etc/iptables/rules.v4")
        && String::from_utf8_lossy(&c.bytes).contains(":INPUT DROP")
    {
        return Some("iptables: the saved INPUT policy is DROP".into());
    }
    None
}
