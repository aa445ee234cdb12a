//! System-wide hooks: udev, apt, PAM, the dynamic loader, kernel-module loading, XDG autostart,
//! network hooks, and (live) the kernel's core-dump pipe and binfmt_misc handlers.

use super::{LaunchPoint, cron::script, logical_lines};
use crate::context::Ctx;
use crate::fs::join;

pub(super) fn read(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    udev(ctx, out);
    apt_hooks(ctx, out);
    pam(ctx, out);
    loader(ctx, out);
    modules(ctx, out);
    xdg(ctx, out);
    for dir in [
        &b"/etc/network/if-up.d"[..],
        b"/etc/network/if-pre-up.d",
        b"/etc/network/if-down.d",
        b"/etc/network/if-post-down.d",
        b"/etc/NetworkManager/dispatcher.d",
    ] {
        for path in ctx.files_in(dir) {
            script(ctx, &path, "net_hook", "network interface change", out);
        }
    }
    if ctx.fs.target.is_live() {
        live_kernel_hooks(ctx, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    out: &mut Vec<LaunchPoint>,
    kind: &'static str,
    path: &[u8],
    n: usize,
    command: Vec<u8>,
    trigger: &str,
    owner: Option<String>,
    line: &[u8],
) {
    out.push(LaunchPoint {
        kind,
        path: path.to_vec(),
        line: Some(n),
        command,
        run_as: Some(b"root".to_vec()),
        trigger: trigger.to_owned(),
        owner,
        evidence: line.to_vec(),
    });
}

fn udev(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut dirs = vec![
        &b"/etc/udev/rules.d"[..],
        b"/run/udev/rules.d",
        b"/usr/lib/udev/rules.d",
        b"/usr/local/lib/udev/rules.d",
    ];
    if !ctx.is_symlink(b"/lib") {
        dirs.push(b"/lib/udev/rules.d");
    }
    for dir in dirs {
        for path in ctx.files_in(dir) {
            let Some(c) = ctx.read(&path) else { continue };
            let owner = ctx.owner(&path);
            for (n, line) in logical_lines(&c.bytes) {
                for cmd in udev_runs(&line) {
                    push(out, "udev", &path, n, cmd, "device event", owner.clone(), &line);
                }
            }
        }
    }
}

/// The programs of `RUN+="…"` / `RUN{program}+="…"` keys in a udev rule line.
pub fn udev_runs(line: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(pos) = rest.windows(3).position(|w| w == b"RUN") {
        rest = rest.get(pos + 3..).unwrap_or_default();
        let Some(eq) = rest.iter().position(|&b| b == b'"') else {
            break;
        };
        let op = rest.get(..eq).unwrap_or_default();
        if !(op.ends_with(b"+=") || op.ends_with(b"="))
            || op.contains(&b' ') && !op.trim_ascii().ends_with(b"=")
        {
            continue;
        }
        let value = rest.get(eq + 1..).unwrap_or_default();
        let end = value.iter().position(|&b| b == b'"').unwrap_or(value.len());
        out.push(value.get(..end).unwrap_or_default().to_vec());
        rest = value.get(end..).unwrap_or_default();
    }
    out
}

fn apt_hooks(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    for path in ctx.files_in(b"/etc/apt/apt.conf.d") {
        let Some(c) = ctx.read(&path) else { continue };
        let owner = ctx.owner(&path);
        for (n, line) in logical_lines(&c.bytes) {
            let is_hook = [&b"Pre-Invoke"[..], b"Post-Invoke", b"Pre-Install-Pkgs"]
                .iter()
                .any(|k| line.windows(k.len()).any(|w| w == *k));
            if !is_hook {
                continue;
            }
            for cmd in quoted(&line) {
                push(
                    out,
                    "apt_hook",
                    &path,
                    n,
                    cmd,
                    "every apt/dpkg run",
                    owner.clone(),
                    &line,
                );
            }
        }
    }
}

fn quoted(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|&b| b == b'"')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn pam(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    for path in ctx.files_in(b"/etc/pam.d") {
        let Some(c) = ctx.read(&path) else { continue };
        for (n, line) in logical_lines(&c.bytes) {
            let words: Vec<&[u8]> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            let Some(pos) = words.iter().position(|w| w.ends_with(b"pam_exec.so")) else {
                continue;
            };
            let args: Vec<&[u8]> = words
                .iter()
                .skip(pos + 1)
                .copied()
                .filter(|w| !w.contains(&b'=') || w.starts_with(b"/"))
                .collect();
            let cmd = args
                .iter()
                .skip_while(|a| !a.starts_with(b"/"))
                .copied()
                .collect::<Vec<_>>()
                .join(&b' ');
            // Never "owned": no distribution ships pam_exec lines, so one in a package's file was added.
            push(
                out,
                "pam",
                &path,
                n,
                cmd,
                "authentication (pam_exec)",
                None,
                &line,
            );
        }
    }
}

fn loader(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    if let Some(c) = ctx.read(b"/etc/ld.so.preload") {
        for (n, line) in logical_lines(&c.bytes) {
            for lib in line
                .split(|b| b.is_ascii_whitespace() || *b == b':')
                .filter(|w| !w.is_empty())
            {
                let mut command = b"LD_PRELOAD=".to_vec();
                command.extend_from_slice(lib);
                // Never "owned": whatever a package put there, every program now loads it.
                push(
                    out,
                    "ld_preload",
                    b"/etc/ld.so.preload",
                    n,
                    command,
                    "every program start",
                    None,
                    &line,
                );
            }
        }
    }
    let mut confs = vec![b"/etc/ld.so.conf".to_vec()];
    confs.extend(ctx.files_in(b"/etc/ld.so.conf.d"));
    for path in confs {
        let Some(c) = ctx.read(&path) else { continue };
        let owner = ctx.owner(&path);
        for (n, line) in logical_lines(&c.bytes) {
            if line.starts_with(b"include") {
                continue;
            }
            // A library directory is a launch point whose "command" is the directory: the heuristics
            // flag world-writable and hidden locations.
            push(
                out,
                "ld_path",
                &path,
                n,
                line.clone(),
                "every dynamically linked program",
                owner.clone(),
                &line,
            );
        }
    }
}

/// Kernel modules no honest system loads: known rootkits' module names.
pub const ROOTKIT_MODULES: [&[u8]; 12] = [
    b"diamorphine",
    b"reptile",
    b"reptile_module",
    b"suterusu",
    b"kovid",
    b"adore",
    b"adore-ng",
    b"rootfoo",
    b"nuk3gh0st",
    b"sutekh",
    b"khook",
    b"brokepkg",
];

fn modules(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut files = vec![b"/etc/modules".to_vec()];
    for dir in [
        &b"/etc/modules-load.d"[..],
        b"/usr/lib/modules-load.d",
        b"/run/modules-load.d",
    ] {
        files.extend(ctx.files_in(dir));
    }
    for path in files {
        let Some(c) = ctx.read(&path) else { continue };
        let owner = ctx.owner(&path);
        for (n, line) in logical_lines(&c.bytes) {
            push(
                out,
                "kmod_load",
                &path,
                n,
                line.clone(),
                "boot (module loaded)",
                owner.clone(),
                &line,
            );
        }
    }
    let mut dirs = vec![
        &b"/etc/modprobe.d"[..],
        b"/usr/lib/modprobe.d",
        b"/run/modprobe.d",
    ];
    if !ctx.is_symlink(b"/lib") {
        dirs.push(b"/lib/modprobe.d");
    }
    for dir in dirs {
        for path in ctx.files_in(dir) {
            let Some(c) = ctx.read(&path) else { continue };
            let owner = ctx.owner(&path);
            for (n, line) in logical_lines(&c.bytes) {
                let mut words = line.splitn(3, |b| b.is_ascii_whitespace());
                let (Some(verb), Some(module), Some(cmd)) = (words.next(), words.next(), words.next()) else {
                    continue;
                };
                if verb != b"install" && verb != b"remove" {
                    continue;
                }
                let cmd = cmd.trim_ascii();
                // `install x /bin/false` (or true) is how modules are blacklisted.
                if matches!(
                    cmd,
                    b"/bin/false" | b"/bin/true" | b"/usr/bin/false" | b"/usr/bin/true" | b"false" | b"true"
                ) {
                    continue;
                }
                let trigger = format!("loading module {}", String::from_utf8_lossy(module));
                push(
                    out,
                    "modprobe",
                    &path,
                    n,
                    cmd.to_vec(),
                    &trigger,
                    owner.clone(),
                    &line,
                );
            }
        }
    }
}

fn xdg(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut dirs = vec![b"/etc/xdg/autostart".to_vec()];
    for (_, _, home) in ctx.homes() {
        dirs.push(join(&home, b".config/autostart"));
    }
    for dir in dirs {
        for path in ctx.files_in(&dir) {
            let Some(c) = ctx.read(&path) else { continue };
            let owner = ctx.owner(&path);
            for (n, line) in logical_lines(&c.bytes) {
                if let Some(cmd) = line.strip_prefix(b"Exec=") {
                    push(
                        out,
                        "xdg_autostart",
                        &path,
                        n,
                        cmd.to_vec(),
                        "desktop login",
                        owner.clone(),
                        &line,
                    );
                }
            }
        }
    }
}

/// Core-dump pipes that ship with distributions.
const KNOWN_CORE_HANDLERS: [&[u8]; 4] = [
    b"/lib/systemd/systemd-coredump",
    b"/usr/lib/systemd/systemd-coredump",
    b"/usr/share/apport/apport",
    b"/usr/libexec/abrt-hook-ccpp",
];

fn live_kernel_hooks(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    if let Some(c) = ctx.read(b"/proc/sys/kernel/core_pattern") {
        let pattern = c.bytes.trim_ascii();
        if let Some(cmd) = pattern.strip_prefix(b"|") {
            let prog = cmd.split(|b| b.is_ascii_whitespace()).next().unwrap_or_default();
            let known = KNOWN_CORE_HANDLERS.contains(&prog);
            let owner = if known {
                Some("(distribution core handler)".to_owned())
            } else {
                None
            };
            push(
                out,
                "core_pattern",
                b"/proc/sys/kernel/core_pattern",
                1,
                cmd.to_vec(),
                "any process crash, as root",
                owner,
                pattern,
            );
        }
    }
    for path in ctx.files_in(b"/proc/sys/fs/binfmt_misc") {
        if path.ends_with(b"/register") || path.ends_with(b"/status") {
            continue;
        }
        let Some(c) = ctx.read(&path) else { continue };
        for (n, line) in logical_lines(&c.bytes) {
            if let Some(interp) = line.strip_prefix(b"interpreter ") {
                let owner = ctx.owner(interp);
                push(
                    out,
                    "binfmt",
                    &path,
                    n,
                    interp.to_vec(),
                    "executing a matching file",
                    owner,
                    &line,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_udev_run_programs() {
        assert_eq!(
            udev_runs(br#"ACTION=="add", SUBSYSTEM=="usb", RUN+="/bin/sh -c 'echo hi'", RUN{program}+="/usr/bin/x""#),
            vec![b"/bin/sh -c 'echo hi'".to_vec(), b"/usr/bin/x".to_vec()]
        );
        assert!(udev_runs(br#"SUBSYSTEM=="net", NAME="eth0""#).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = udev_runs(&line);
            let _ = quoted(&line);
        }
    }
}
