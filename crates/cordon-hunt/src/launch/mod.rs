//! The launch-point inventory: every place on the system that can start code.
//!
//! Each reader below turns one mechanism (cron, systemd, shell start-up files, PAM, udev, sshd …) into
//! [`LaunchPoint`]s — what runs, as whom, on what trigger, and whether a package installed the file.
//! [`judge`] then applies the same command heuristics to all of them, plus a base severity for a
//! launch point no package installed (which is where almost all modern persistence lives).

mod cron;
mod shell;
pub mod ssh;
pub mod system;
mod systemd;

use cordon_core::{Confidence, Finding, Severity};

use crate::context::Ctx;
use crate::heuristics;

/// One place that can start code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPoint {
    /// Mechanism (`cron`, `systemd`, `pam` …): a key of [`KINDS`].
    pub kind: &'static str,
    /// The file that defines it.
    pub path: Vec<u8>,
    /// 1-based line in that file, when it is one line.
    pub line: Option<usize>,
    /// What runs (a command line, a script's text, a module name).
    pub command: Vec<u8>,
    /// As whom, when known.
    pub run_as: Option<Vec<u8>>,
    /// When (`*/5 * * * *`, `boot`, `login`, `ssh login` …).
    pub trigger: String,
    /// The package that installed the file, if any.
    pub owner: Option<String>,
    /// The whole line or file, as evidence.
    pub evidence: Vec<u8>,
}

/// What a mechanism is, for findings and docs.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Key.
    pub kind: &'static str,
    /// ATT&CK technique of persistence through it.
    pub technique: &'static str,
    /// Severity of a launch point no package installed, before looking at its command.
    pub unowned: Option<Severity>,
    /// What it reads, for docs/checks.md.
    pub reads: &'static str,
    /// False-positive notes, for docs/checks.md.
    pub fp: &'static str,
}

/// Every mechanism the inventory reads.
pub const KINDS: &[Kind] = &[
    Kind {
        kind: "cron",
        technique: "T1053.003",
        unowned: Some(Severity::Low),
        reads: "/etc/crontab, /etc/cron.d/*, /etc/cron.{hourly,daily,weekly,monthly}/*, /etc/anacrontab, /var/spool/cron/crontabs/*, /var/spool/cron/*",
        fp: "admins add cron jobs (backups, certbot): unowned alone is only low",
    },
    Kind {
        kind: "at",
        technique: "T1053.002",
        unowned: Some(Severity::Medium),
        reads: "/var/spool/cron/atjobs/*, /var/spool/at/*",
        fp: "one-off admin jobs",
    },
    Kind {
        kind: "systemd",
        technique: "T1543.002",
        unowned: Some(Severity::Low),
        reads: "units, timers and drop-ins in /etc/systemd/{system,user}, /run/systemd/system, /usr/local/lib/systemd, /usr/lib/systemd, ~/.config/systemd/user",
        fp: "an application's own unit under /etc/systemd/system is normal; a unit in /usr/lib no package installed is medium",
    },
    Kind {
        kind: "generator",
        technique: "T1543.002",
        unowned: Some(Severity::High),
        reads: "/etc, /usr/local/lib, /usr/lib systemd/{system,user}-generators/*",
        fp: "rare outside packages",
    },
    Kind {
        kind: "init",
        technique: "T1037.004",
        unowned: Some(Severity::Medium),
        reads: "/etc/init.d/*",
        fp: "legacy vendor software installs SysV scripts",
    },
    Kind {
        kind: "rc_local",
        technique: "T1037.004",
        unowned: Some(Severity::Low),
        reads: "/etc/rc.local, /etc/rc.d/rc.local",
        fp: "often present and harmless",
    },
    Kind {
        kind: "profile",
        technique: "T1546.004",
        unowned: Some(Severity::Low),
        reads: "/etc/profile, /etc/profile.d/*, /etc/bash.bashrc, /etc/zsh/*, /etc/environment, users' .bashrc .profile .zshrc …",
        fp: "users customise their dotfiles; only suspicious commands in them are raised",
    },
    Kind {
        kind: "motd",
        technique: "T1037",
        unowned: Some(Severity::Medium),
        reads: "/etc/update-motd.d/*",
        fp: "runs as root at every SSH login; distro scripts are package-owned",
    },
    Kind {
        kind: "udev",
        technique: "T1546.017",
        unowned: Some(Severity::Low),
        reads: "RUN+= in /etc/udev/rules.d, /usr/lib/udev/rules.d, /run/udev/rules.d",
        fp: "vendor rules use RUN+=",
    },
    Kind {
        kind: "apt_hook",
        technique: "T1546.016",
        unowned: Some(Severity::Medium),
        reads: "Pre-Invoke / Post-Invoke in /etc/apt/apt.conf.d/*",
        fp: "needrestart, apt-listchanges are package-owned",
    },
    Kind {
        kind: "pam",
        technique: "T1556.003",
        unowned: Some(Severity::Medium),
        reads: "pam_exec.so lines and module paths in /etc/pam.d/*",
        fp: "pam_exec is used by some mount helpers",
    },
    Kind {
        kind: "sshd",
        technique: "T1098.004",
        unowned: Some(Severity::Medium),
        reads: "ForceCommand, AuthorizedKeysCommand in /etc/ssh/sshd_config and sshd_config.d/*",
        fp: "bastions use ForceCommand",
    },
    Kind {
        kind: "authorized_keys",
        technique: "T1098.004",
        unowned: Some(Severity::Medium),
        reads: "command= options in every account's ~/.ssh/authorized_keys{,2}",
        fp: "backup and git accounts use forced commands",
    },
    Kind {
        kind: "ld_preload",
        technique: "T1574.006",
        unowned: Some(Severity::High),
        reads: "/etc/ld.so.preload",
        fp: "a few EDR/AV products preload a library",
    },
    Kind {
        kind: "ld_path",
        technique: "T1574.006",
        unowned: Some(Severity::Low),
        reads: "/etc/ld.so.conf, /etc/ld.so.conf.d/*",
        fp: "vendor library dirs",
    },
    Kind {
        kind: "kmod_load",
        technique: "T1547.006",
        unowned: Some(Severity::Low),
        reads: "/etc/modules, /etc/modules-load.d/*, /usr/lib/modules-load.d/*",
        fp: "admins load drivers at boot",
    },
    Kind {
        kind: "modprobe",
        technique: "T1547.006",
        unowned: Some(Severity::Medium),
        reads: "install/remove lines in /etc/modprobe.d/*, /usr/lib/modprobe.d/*",
        fp: "blacklisting with `install x /bin/false` is common",
    },
    Kind {
        kind: "xdg_autostart",
        technique: "T1547.013",
        unowned: Some(Severity::Medium),
        reads: "Exec= in /etc/xdg/autostart/*.desktop, ~/.config/autostart/*",
        fp: "desktops only; servers rarely have any",
    },
    Kind {
        kind: "net_hook",
        technique: "T1546",
        unowned: Some(Severity::Medium),
        reads: "/etc/network/if-*.d/*, /etc/NetworkManager/dispatcher.d/*",
        fp: "distro hooks are package-owned",
    },
    Kind {
        kind: "core_pattern",
        technique: "T1546",
        unowned: Some(Severity::High),
        reads: "/proc/sys/kernel/core_pattern (live)",
        fp: "systemd-coredump, apport and abrt pipes are known and not raised",
    },
    Kind {
        kind: "binfmt",
        technique: "T1546",
        unowned: Some(Severity::Low),
        reads: "/proc/sys/fs/binfmt_misc/* (live)",
        fp: "qemu-user, wine and java register handlers",
    },
];

/// The kind's description.
pub fn kind(key: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.kind == key)
}

/// Reads every launch point of the system.
pub fn inventory(ctx: &mut Ctx) -> Vec<LaunchPoint> {
    let mut out = Vec::new();
    cron::read(ctx, &mut out);
    systemd::read(ctx, &mut out);
    shell::read(ctx, &mut out);
    ssh::read(ctx, &mut out);
    system::read(ctx, &mut out);
    out
}

/// Findings for every launch point: one per heuristic signal on a command, and one `unowned`
/// finding per file (not per line) that no package installed.
pub fn judge_all(lps: &[LaunchPoint], target: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut unowned_seen = std::collections::HashSet::new();
    for lp in lps {
        let (signals, unowned) = judge(lp, target);
        out.extend(signals);
        if let Some(f) = unowned
            && unowned_seen.insert((lp.kind, lp.path.clone()))
        {
            out.push(f);
        }
    }
    out
}

/// The findings of one launch point: its command's signals, and the `unowned` finding it would
/// raise when nothing else is wrong with it.
pub fn judge(lp: &LaunchPoint, target: &str) -> (Vec<Finding>, Option<Finding>) {
    let Some(k) = kind(lp.kind) else {
        return (Vec::new(), None);
    };
    let signals = heuristics::judge(&lp.command);
    let who = lp
        .run_as
        .as_ref()
        .map(|u| format!(" as {}", String::from_utf8_lossy(u)))
        .unwrap_or_default();
    let mut out = Vec::new();
    for s in &signals {
        let f = Finding::new(
            &format!("{}.{}", lp.kind, s.id),
            s.severity,
            s.confidence,
            format!(
                "{} launch point {}{who} ({}): {}",
                lp.kind,
                where_(lp),
                lp.trigger,
                s.why
            ),
            remediation(lp, true),
            target,
        )
        .technique(s.technique)
        .path(lp.path.clone())
        .evidence(lp.evidence.clone())
        .attr("launch_point", lp.kind)
        .attr("persistence_technique", k.technique)
        .attr("package", lp.owner.clone());
        out.push(with_user(with_line(f, lp.line), &lp.run_as));
    }
    // A unit in the package directories that no package installed is odder than one in /etc; the
    // shell start-up files every system has (/etc/profile …) are judged by their lines only.
    let base = if lp.kind == "systemd" && (lp.path.starts_with(b"/usr/lib/") || lp.path.starts_with(b"/lib/"))
    {
        Some(Severity::Medium)
    } else if lp.kind == "profile" && !lp.path.starts_with(b"/etc/profile.d/") {
        None
    } else {
        k.unowned
    };
    let mut unowned = None;
    if signals.is_empty()
        && lp.owner.is_none()
        && let Some(sev) = base
    {
        {
            let f = Finding::new(
                &format!("{}.unowned", lp.kind),
                sev,
                if sev >= Severity::High {
                    Confidence::Medium
                } else {
                    Confidence::Low
                },
                format!(
                    "{} launch point {}{who} ({}) that no package installed",
                    lp.kind,
                    cordon_core::escape_terminal(&lp.path),
                    lp.trigger
                ),
                remediation(lp, false),
                target,
            )
            .technique(k.technique)
            .path(lp.path.clone())
            .evidence(lp.evidence.clone())
            .attr("launch_point", lp.kind);
            unowned = Some(with_user(with_line(f, lp.line), &lp.run_as));
        }
    }
    (out, unowned)
}

fn with_line(f: Finding, line: Option<usize>) -> Finding {
    match line {
        Some(l) => f.attr("line", l),
        None => f,
    }
}

fn with_user(f: Finding, user: &Option<Vec<u8>>) -> Finding {
    match user {
        Some(u) => f.user(u.clone()),
        None => f,
    }
}

fn where_(lp: &LaunchPoint) -> String {
    let path = cordon_core::escape_terminal(&lp.path);
    match lp.line {
        Some(l) => format!("{path}:{l}"),
        None => path,
    }
}

fn remediation(lp: &LaunchPoint, suspicious: bool) -> String {
    let path = cordon_core::escape_terminal(&lp.path);
    if suspicious {
        format!(
            "preserve {path} as evidence (cordon collect / evidence add), then disable it and find what it \
             installed or downloaded; check how it was written (timeline around its mtime)"
        )
    } else {
        format!(
            "confirm with whoever administers the host that {path} is theirs; if nobody knows it, treat it as the attacker's"
        )
    }
}

/// Non-empty lines that are not comments, with their 1-based numbers; a line ending in `\` is
/// joined with the next (shell and crontab continuation).
pub fn logical_lines(bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, Vec<u8>)> = None;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let (start, mut acc) = pending.take().unwrap_or((i + 1, Vec::new()));
        if let Some(head) = line.strip_suffix(b"\\") {
            acc.extend_from_slice(head);
            pending = Some((start, acc));
            continue;
        }
        acc.extend_from_slice(line);
        let trimmed = acc.trim_ascii();
        if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
            out.push((start, trimmed.to_vec()));
        }
    }
    if let Some((start, acc)) = pending {
        let trimmed = acc.trim_ascii();
        if !trimmed.is_empty() && !trimmed.starts_with(b"#") {
            out.push((start, trimmed.to_vec()));
        }
    }
    out
}
