//! Shell start-up files, rc.local, SysV init scripts and MOTD scripts: code that runs at login or
//! boot. Each line of a start-up file is its own launch point, so a finding points at the line.

use super::{LaunchPoint, cron::script, logical_lines};
use crate::context::Ctx;
use crate::fs::join;

const SYSTEM_RC: [&[u8]; 9] = [
    b"/etc/profile",
    b"/etc/bash.bashrc",
    b"/etc/bash.bash_logout",
    b"/etc/environment",
    b"/etc/zsh/zshenv",
    b"/etc/zsh/zprofile",
    b"/etc/zsh/zshrc",
    b"/etc/zsh/zlogin",
    b"/etc/csh.cshrc",
];

const USER_RC: [&[u8]; 11] = [
    b".bashrc",
    b".bash_profile",
    b".bash_login",
    b".bash_logout",
    b".profile",
    b".zshrc",
    b".zprofile",
    b".zshenv",
    b".zlogin",
    b".cshrc",
    b".config/fish/config.fish",
];

pub(super) fn read(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    for path in SYSTEM_RC {
        lines(ctx, path, "profile", "every login shell", None, out);
    }
    for path in ctx.files_in(b"/etc/profile.d") {
        lines(ctx, &path, "profile", "every login shell", None, out);
    }
    for (user, _, home) in ctx.homes() {
        for rc in USER_RC {
            let path = join(&home, rc);
            lines(
                ctx,
                &path,
                "profile",
                "the user's shell start-up",
                Some(user.clone()),
                out,
            );
        }
    }
    for path in [&b"/etc/rc.local"[..], b"/etc/rc.d/rc.local"] {
        lines(ctx, path, "rc_local", "boot", Some(b"root".to_vec()), out);
    }
    for path in ctx.files_in(b"/etc/init.d") {
        script(ctx, &path, "init", "boot (SysV init)", out);
    }
    for path in ctx.files_in(b"/etc/update-motd.d") {
        script(ctx, &path, "motd", "every SSH login, as root", out);
    }
}

/// One launch point per meaningful line. User dotfiles are never "unowned" findings (users own
/// them); only their suspicious commands are — so they get a placeholder owner.
fn lines(
    ctx: &mut Ctx,
    path: &[u8],
    kind: &'static str,
    trigger: &str,
    user: Option<Vec<u8>>,
    out: &mut Vec<LaunchPoint>,
) {
    let Some(c) = ctx.read(path) else { return };
    let owner = if user.as_deref().is_some_and(|u| u != b"root") || is_home_file(path) {
        Some("(user's own file)".to_owned())
    } else {
        ctx.owner(path)
    };
    let lines = logical_lines(&c.bytes);
    // rc.local that only says `exit 0` is the stock file.
    if kind == "rc_local" && lines.iter().all(|(_, l)| l == b"exit 0") {
        return;
    }
    for (n, line) in lines {
        out.push(LaunchPoint {
            kind,
            path: path.to_vec(),
            line: Some(n),
            command: line.clone(),
            run_as: user.clone(),
            trigger: trigger.to_owned(),
            owner: owner.clone(),
            evidence: line,
        });
    }
}

fn is_home_file(path: &[u8]) -> bool {
    path.starts_with(b"/home/") || path.starts_with(b"/root/")
}
