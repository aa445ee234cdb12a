//! systemd units, timers, drop-ins and generators (`systemd.unit(5)`, `systemd.service(5)`).
//!
//! Unit files are INI-like; only the `Exec*=` commands and `Environment=` settings matter here, so a
//! line scan suffices (no crate parses systemd's dialect faithfully anyway: specifiers, `-@:+!`
//! prefixes). Generators are executables run at every boot, before any unit.

use super::{LaunchPoint, logical_lines};
use crate::context::Ctx;
use crate::fs::join;

const UNIT_DIRS: [&[u8]; 9] = [
    b"/etc/systemd/system",
    b"/run/systemd/system",
    b"/usr/local/lib/systemd/system",
    b"/usr/lib/systemd/system",
    b"/lib/systemd/system",
    b"/etc/systemd/user",
    b"/usr/lib/systemd/user",
    b"/lib/systemd/user",
    b"/usr/local/lib/systemd/user",
];

const GENERATOR_DIRS: [&[u8]; 6] = [
    b"/etc/systemd/system-generators",
    b"/usr/local/lib/systemd/system-generators",
    b"/usr/lib/systemd/system-generators",
    b"/lib/systemd/system-generators",
    b"/etc/systemd/user-generators",
    b"/usr/lib/systemd/user-generators",
];

const EXEC_KEYS: [&[u8]; 7] = [
    b"ExecStart",
    b"ExecStartPre",
    b"ExecStartPost",
    b"ExecStop",
    b"ExecStopPost",
    b"ExecReload",
    b"ExecCondition",
];

pub(super) fn read(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut dirs: Vec<Vec<u8>> = UNIT_DIRS
        .iter()
        .filter(|d| !is_aliased(ctx, d))
        .map(|d| d.to_vec())
        .collect();
    for (_, _, home) in ctx.homes() {
        dirs.push(join(&home, b".config/systemd/user"));
        dirs.push(join(&home, b".local/share/systemd/user"));
    }
    for dir in dirs {
        for (name, meta) in ctx.list(&dir) {
            let path = join(&dir, &name);
            if meta.is_dir() && name.ends_with(b".d") {
                for conf in ctx.files_in(&path) {
                    if conf.ends_with(b".conf") {
                        unit(ctx, &conf, out);
                    }
                }
            } else if meta.is_file() && is_unit_name(&name) {
                unit(ctx, &path, out);
            }
        }
    }
    let generator_dirs: Vec<&[u8]> = GENERATOR_DIRS
        .iter()
        .copied()
        .filter(|d| !is_aliased(ctx, d))
        .collect();
    for dir in generator_dirs {
        for path in ctx.files_in(dir) {
            let owner = ctx.owner(&path);
            out.push(LaunchPoint {
                kind: "generator",
                path: path.clone(),
                line: None,
                command: path.clone(),
                run_as: Some(b"root".to_vec()),
                trigger: "every boot, before units load".into(),
                owner,
                evidence: path,
            });
        }
    }
}

/// `/lib/...` is `/usr/lib/...` on merged-/usr systems: read it once.
fn is_aliased(ctx: &Ctx, dir: &[u8]) -> bool {
    dir.starts_with(b"/lib/") && ctx.is_symlink(b"/lib")
}

fn is_unit_name(name: &[u8]) -> bool {
    [&b".service"[..], b".timer", b".socket", b".path", b".mount"]
        .iter()
        .any(|s| name.ends_with(s))
}

fn unit(ctx: &mut Ctx, path: &[u8], out: &mut Vec<LaunchPoint>) {
    let Some(c) = ctx.read(path) else { return };
    let owner = ctx.owner(path);
    let mut user = None;
    let mut trigger = if path.ends_with(b".timer") {
        "timer".to_owned()
    } else {
        "service start".to_owned()
    };
    let lines = logical_lines(&c.bytes);
    for (_, line) in &lines {
        if let Some(v) = value_of(line, b"User") {
            user = Some(v.to_vec());
        }
        for key in [&b"OnCalendar"[..], b"OnBootSec", b"OnUnitActiveSec"] {
            if let Some(v) = value_of(line, key) {
                trigger = format!(
                    "timer {}={}",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(v)
                );
            }
        }
    }
    for (n, line) in lines {
        let command = EXEC_KEYS
            .iter()
            .find_map(|k| value_of(&line, k))
            .map(|v| v.trim_start_matches_prefixes())
            .or_else(|| {
                value_of(&line, b"Environment")
                    .filter(|v| v.windows(10).any(|w| w == b"LD_PRELOAD"))
                    .map(<[u8]>::to_vec)
            });
        let Some(command) = command else { continue };
        if command.is_empty() {
            continue;
        }
        out.push(LaunchPoint {
            kind: "systemd",
            path: path.to_vec(),
            line: Some(n),
            command,
            run_as: Some(user.clone().unwrap_or_else(|| b"root".to_vec())),
            trigger: trigger.clone(),
            owner: owner.clone(),
            evidence: line.clone(),
        });
    }
}

fn value_of<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(key)?.trim_ascii_start();
    Some(rest.strip_prefix(b"=")?.trim_ascii())
}

trait ExecPrefix {
    fn trim_start_matches_prefixes(&self) -> Vec<u8>;
}

impl ExecPrefix for [u8] {
    /// `ExecStart=` values may start with `@ - : + !` modifiers.
    fn trim_start_matches_prefixes(&self) -> Vec<u8> {
        let mut v = self;
        while let Some((first, rest)) = v.split_first() {
            if matches!(first, b'@' | b'-' | b':' | b'+' | b'!') {
                v = rest;
            } else {
                break;
            }
        }
        v.to_vec()
    }
}
