//! Accounts and authentication: extra UID 0 accounts, empty or unexpected passwords, service
//! accounts that can log in, sudoers rules, SSH keys and sshd settings, PAM modules.

use cordon_core::{Confidence, Finding, Severity};

use crate::context::Ctx;
use crate::fs::join;
use crate::launch::logical_lines;
use crate::launch::ssh::{parse_key_line, split_keyword};

/// Runs every account check.
pub fn check(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    let shells = login_shells(ctx);
    for u in ctx.users.clone() {
        let name = String::from_utf8_lossy(&u.name).into_owned();
        if u.uid == 0 && u.name != b"root" {
            out.push(
                Finding::new(
                    "account.extra_uid0",
                    Severity::Critical,
                    Confidence::High,
                    format!("account {name} has user id 0: it is root under another name"),
                    "lock it now (cordon contain), then find when and how it was added (timeline of /etc/passwd)",
                    &t,
                )
                .technique("T1136.001")
                .path("/etc/passwd")
                .user(u.name.clone())
                .evidence(passwd_line(&u)),
            );
        }
    }
    if let Some(c) = ctx.read(b"/etc/shadow") {
        for (_, line) in logical_lines(&c.bytes) {
            let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            let (Some(name), Some(hash)) = (fields.first(), fields.get(1)) else {
                continue;
            };
            let Some(user) = ctx.users.iter().find(|u| u.name == *name).cloned() else {
                continue;
            };
            let can_login = shells.contains(&user.shell);
            let has_password = !hash.is_empty() && !hash.starts_with(b"!") && !hash.starts_with(b"*");
            let who = String::from_utf8_lossy(name).into_owned();
            let redacted = redact_shadow(&line);
            if hash.is_empty() {
                out.push(
                    Finding::new(
                        "account.empty_password",
                        Severity::High,
                        Confidence::High,
                        format!("account {who} has an empty password: anyone can log in as it where passwords are accepted"),
                        "lock it (passwd -l) and set a password or remove it",
                        &t,
                    )
                    .technique("T1078.003")
                    .path("/etc/shadow")
                    .user(name.to_vec())
                    .evidence(redacted),
                );
            } else if user.uid > 0 && user.uid < 1000 && can_login && has_password {
                out.push(
                    Finding::new(
                        "account.service_login",
                        Severity::High,
                        Confidence::Medium,
                        format!("service account {who} (uid {}) has a password and a login shell ({})", user.uid, String::from_utf8_lossy(&user.shell)),
                        "service accounts should not log in: lock the password and set the shell to /usr/sbin/nologin, then check how it changed",
                        &t,
                    )
                    .technique("T1078.003")
                    .path("/etc/shadow")
                    .user(name.to_vec())
                    .evidence(redacted),
                );
            }
        }
    }
    sudoers(ctx, out);
    ssh_keys(ctx, out);
    sshd_settings(ctx, out);
    pam_modules(ctx, out);
}

fn passwd_line(u: &cordon_host::accounts::PasswdEntry) -> Vec<u8> {
    let mut v = u.name.clone();
    v.extend_from_slice(format!(":x:{}:{}:", u.uid, u.gid).as_bytes());
    v.extend_from_slice(&u.gecos);
    v.push(b':');
    v.extend_from_slice(&u.home);
    v.push(b':');
    v.extend_from_slice(&u.shell);
    v
}

/// A shadow line with the password hash replaced: findings must not copy credentials around.
fn redact_shadow(line: &[u8]) -> Vec<u8> {
    let mut fields: Vec<Vec<u8>> = line.split(|&b| b == b':').map(<[u8]>::to_vec).collect();
    if let Some(h) = fields.get_mut(1)
        && !h.is_empty()
    {
        *h = b"<hash>".to_vec();
    }
    fields.join(&b':')
}

/// Shells that allow an interactive login (from /etc/shells, without nologin/false).
fn login_shells(ctx: &mut Ctx) -> Vec<Vec<u8>> {
    let listed = ctx
        .read(b"/etc/shells")
        .map(|c| logical_lines(&c.bytes).into_iter().map(|(_, l)| l).collect());
    let listed: Vec<Vec<u8>> = listed.unwrap_or_else(|| {
        [
            "/bin/sh",
            "/bin/bash",
            "/usr/bin/bash",
            "/bin/dash",
            "/usr/bin/zsh",
            "/bin/zsh",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    });
    listed
        .into_iter()
        .filter(|s| !s.ends_with(b"nologin") && !s.ends_with(b"false"))
        .collect()
}

fn sudoers(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    let mut files = vec![b"/etc/sudoers".to_vec()];
    files.extend(
        ctx.files_in(b"/etc/sudoers.d")
            .into_iter()
            .filter(|p| !p.ends_with(b"/README")),
    );
    for path in files {
        let Some(c) = ctx.read(&path) else { continue };
        for (n, line) in logical_lines(&c.bytes) {
            let text = String::from_utf8_lossy(&line).into_owned();
            if text.starts_with("Defaults") {
                let (sev, why) = if text.contains("LD_PRELOAD") || text.contains("LD_LIBRARY_PATH") {
                    (
                        Severity::High,
                        "keeps LD_PRELOAD/LD_LIBRARY_PATH through sudo, letting any sudo user run code as root",
                    )
                } else if text.contains("!authenticate") {
                    (Severity::High, "turns off password checks for sudo")
                } else if text.contains("timestamp_timeout=-1") || text.contains("!tty_tickets") {
                    (
                        Severity::Medium,
                        "makes one sudo password last forever or across terminals",
                    )
                } else {
                    continue;
                };
                out.push(sudo_finding(
                    "sudoers.weak_default",
                    sev,
                    why,
                    &path,
                    n,
                    &line,
                    None,
                    &t,
                ));
                continue;
            }
            if !text.contains("NOPASSWD") {
                continue;
            }
            let subject = line
                .split(|b| b.is_ascii_whitespace())
                .next()
                .unwrap_or_default()
                .to_vec();
            let uid = ctx.users.iter().find(|u| u.name == subject).map(|u| u.uid);
            let all = text.contains("NOPASSWD: ALL") || text.contains("NOPASSWD:ALL");
            let (check, sev, why) = match uid {
                Some(uid) if uid > 0 && uid < 1000 => (
                    "sudoers.service_nopasswd",
                    Severity::High,
                    "lets a service account (a web server, a daemon) run commands as root without a password: the classic privilege-escalation backdoor",
                ),
                _ if all => (
                    "sudoers.nopasswd_all",
                    Severity::Low,
                    "lets a user or group run anything as root without a password",
                ),
                _ => (
                    "sudoers.nopasswd",
                    Severity::Info,
                    "lets a user run some commands as root without a password",
                ),
            };
            out.push(sudo_finding(check, sev, why, &path, n, &line, Some(subject), &t));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn sudo_finding(
    check: &str,
    sev: Severity,
    why: &str,
    path: &[u8],
    n: usize,
    line: &[u8],
    user: Option<Vec<u8>>,
    t: &str,
) -> Finding {
    let mut f = Finding::new(
        check,
        sev,
        if sev >= Severity::High {
            Confidence::High
        } else {
            Confidence::Low
        },
        format!("sudoers rule at {}:{n} {why}", cordon_core::escape_terminal(path)),
        "confirm the rule with the host's administrators; remove it if nobody asked for it",
        t,
    )
    .technique("T1548.003")
    .path(path.to_vec())
    .evidence(line.to_vec())
    .attr("line", n);
    if let Some(u) = user {
        f = f.user(u);
    }
    f
}

fn ssh_keys(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    for (user, uid, home) in ctx.homes() {
        for name in [&b".ssh/authorized_keys"[..], b".ssh/authorized_keys2"] {
            let path = join(&home, name);
            let Some(c) = ctx.read(&path) else { continue };
            let who = String::from_utf8_lossy(&user).into_owned();
            for (n, line) in logical_lines(&c.bytes) {
                let Some(key) = parse_key_line(&line) else {
                    ctx.note(&path, &format!("line {n} is not a key; skipped"));
                    continue;
                };
                let fp = key.fingerprint();
                let comment = String::from_utf8_lossy(&key.comment).into_owned();
                let service = uid > 0 && uid < 1000;
                let (check, sev, why) = if service {
                    (
                        "ssh.service_account_key",
                        Severity::Medium,
                        format!(
                            "service account {who} (uid {uid}) accepts an SSH key: services rarely need to log in"
                        ),
                    )
                } else {
                    (
                        "ssh.authorized_key",
                        Severity::Info,
                        format!("{who} accepts SSH key {fp} ({comment})"),
                    )
                };
                out.push(
                    Finding::new(check, sev, if service { Confidence::Medium } else { Confidence::Low }, why,
                        "check every key with its owner; remove keys nobody recognises (cordon contain can do it reversibly)", &t)
                        .technique("T1098.004")
                        .path(path.clone())
                        .user(user.clone())
                        .evidence(line.clone())
                        .attr("fingerprint", fp)
                        .attr("comment", comment)
                        .attr("line", n),
                );
            }
            if name == b".ssh/authorized_keys2" {
                out.push(
                    Finding::new("ssh.authorized_keys2", Severity::Low, Confidence::Low,
                        format!("{who} has an authorized_keys2 file, a legacy name attackers use because admins forget it"),
                        "check its keys; remove the file if unused", &t)
                        .technique("T1098.004")
                        .path(path.clone())
                        .user(user.clone()),
                );
            }
        }
    }
}

fn sshd_settings(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    let mut files = vec![b"/etc/ssh/sshd_config".to_vec()];
    files.extend(ctx.files_in(b"/etc/ssh/sshd_config.d"));
    for path in files {
        let Some(c) = ctx.read(&path) else { continue };
        for (n, line) in logical_lines(&c.bytes) {
            let (k, v) = split_keyword(&line);
            let k = String::from_utf8_lossy(k).to_ascii_lowercase();
            let v = String::from_utf8_lossy(v).to_ascii_lowercase();
            let (check, sev, why) = match (k.as_str(), v.as_str()) {
                ("permitemptypasswords", "yes") => (
                    "sshd.empty_passwords",
                    Severity::High,
                    "allows SSH logins with empty passwords",
                ),
                ("permitrootlogin", "yes") => (
                    "sshd.root_login",
                    Severity::Low,
                    "allows root to log in over SSH with a password",
                ),
                ("permituserenvironment", "yes") => (
                    "sshd.user_environment",
                    Severity::Medium,
                    "lets users set environment variables (LD_PRELOAD) at SSH login",
                ),
                ("authorizedkeysfile", v)
                    if !v.split_whitespace().all(|f| {
                        f == ".ssh/authorized_keys"
                            || f == ".ssh/authorized_keys2"
                            || f == "%h/.ssh/authorized_keys"
                    }) =>
                {
                    (
                        "sshd.keys_file",
                        Severity::Medium,
                        "reads authorized keys from an unusual file, where a backdoor key can hide",
                    )
                }
                _ => continue,
            };
            out.push(
                Finding::new(check, sev, Confidence::Medium, format!("sshd setting at {}:{n} {why}", cordon_core::escape_terminal(&path)),
                    "restore the setting to the distribution default unless it is documented policy, then reload sshd", &t)
                    .technique("T1098.004")
                    .path(path.clone())
                    .evidence(line.clone())
                    .attr("line", n),
            );
        }
    }
}

fn pam_modules(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    for path in ctx.files_in(b"/etc/pam.d") {
        let Some(c) = ctx.read(&path) else { continue };
        for (n, line) in logical_lines(&c.bytes) {
            let words: Vec<&[u8]> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            let Some(module) = words.iter().find(|w| w.ends_with(b".so")) else {
                continue;
            };
            let control = words.get(1).copied().unwrap_or_default();
            let kind = words.first().copied().unwrap_or_default();
            let from_odd_place = module.starts_with(b"/")
                && !(module.starts_with(b"/lib/")
                    || module.starts_with(b"/usr/lib/")
                    || module.starts_with(b"/lib64/"));
            let permit_all = kind.ends_with(b"auth")
                && control == b"sufficient"
                && (module.ends_with(b"pam_permit.so")
                    || (module.ends_with(b"pam_succeed_if.so") && line.windows(8).any(|w| w == b"uid >= 0")));
            let (check, sev, why) = if from_odd_place {
                (
                    "pam.foreign_module",
                    Severity::High,
                    "loads an authentication module from outside the system's PAM directories",
                )
            } else if permit_all {
                (
                    "pam.permit_all",
                    Severity::Critical,
                    "accepts any password: authentication always succeeds",
                )
            } else {
                continue;
            };
            out.push(
                Finding::new(check, sev, Confidence::High, format!("PAM line {}:{n} {why}", cordon_core::escape_terminal(&path)),
                    "restore the file from the package (apt-get install --reinstall) and preserve the module as evidence", &t)
                    .technique("T1556.003")
                    .path(path.clone())
                    .evidence(line.clone())
                    .attr("line", n),
            );
        }
    }
}
