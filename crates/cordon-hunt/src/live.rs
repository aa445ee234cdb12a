//! Checks that need the running system: processes, sockets and the kernel.
//!
//! Everything is read from `/proc` and `/sys` directly; nothing the suspect installed is run. Each
//! check tolerates processes that exit while they are read.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use cordon_core::{Confidence, Finding, Severity};
use cordon_host::net::parse_inet;
use cordon_host::procfs::{Process, ReadParts, list_pids, open_proc, pid_exists, read_process};

use crate::context::Ctx;
use crate::heuristics::WORLD_WRITABLE;
use crate::launch::system::ROOTKIT_MODULES;

/// Programs that give a remote user a shell when their standard streams are a network socket.
const SHELLS: [&[u8]; 14] = [
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"csh", b"tcsh", b"busybox", b"python", b"python2", b"python3",
    b"perl", b"php", b"ruby",
];

/// Programs that should never listen on a port themselves.
const NEVER_LISTEN: [&[u8]; 12] = [
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"nc", b"ncat", b"netcat", b"socat", b"busybox", b"perl", b"php",
];

/// Runs the live checks.
pub fn check(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    let proc = Path::new("/proc");
    let procs = match (open_proc(proc), list_pids(proc)) {
        (Ok(fd), Ok(pids)) => {
            let parts = ReadParts {
                fds: true,
                maps: false,
                environ: true,
            };
            let procs: Vec<Process> = pids
                .iter()
                .map(|&pid| read_process(&fd, pid, parts))
                .filter(|p| !p.vanished)
                .collect();
            hidden_pids(&fd, &pids, &t, out);
            procs
        }
        _ => {
            ctx.notes
                .push("/proc cannot be read: process checks skipped".into());
            Vec::new()
        }
    };
    let unreadable = procs
        .iter()
        .filter(|p| p.exe.is_none() && !p.stat.as_ref().is_some_and(|s| s.is_kernel_thread()))
        .count();
    if unreadable > 0 {
        ctx.notes.push(format!(
            "{unreadable} process(es) whose executable could not be read (run as root to check them)"
        ));
    }
    for p in &procs {
        process(p, &t, out);
    }
    listeners(&procs, &t, out);
    modules(ctx, out);
    taint(ctx, out);
}

fn comm(p: &Process) -> Vec<u8> {
    p.stat.as_ref().map(|s| s.comm.clone()).unwrap_or_default()
}

fn cmdline(p: &Process) -> Vec<u8> {
    p.cmdline
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect::<Vec<u8>>()
        .trim_ascii()
        .to_vec()
}

fn process(p: &Process, t: &str, out: &mut Vec<Finding>) {
    let Some(stat) = &p.stat else { return };
    if stat.is_kernel_thread() {
        return;
    }
    let name = String::from_utf8_lossy(&stat.comm).into_owned();
    let cmd = cmdline(p);
    let finding = |check: &str, sev: Severity, conf: Confidence, tech: &str, why: String, fix: &str| {
        Finding::new(
            check,
            sev,
            conf,
            format!("process {} ({name}) {why}", p.pid),
            fix,
            t,
        )
        .technique(tech)
        .pid(i64::from(p.pid))
        .path(p.exe.clone().unwrap_or_default())
        .evidence(cmd.clone())
    };
    if let Some(exe) = &p.exe {
        if exe.starts_with(b"/memfd:") {
            out.push(finding(
                "process.memfd_exe",
                Severity::High,
                Confidence::High,
                "T1620",
                "runs from an anonymous memory file (memfd), leaving no program on disk".into(),
                "freeze it (cordon contain), dump its memory, then kill it",
            ));
        } else if exe.ends_with(b" (deleted)") {
            let tmp = WORLD_WRITABLE.iter().any(|w| exe.starts_with(w));
            out.push(finding("process.deleted_exe",
                if tmp { Severity::High } else { Severity::Low },
                if tmp { Confidence::High } else { Confidence::Low },
                "T1070.004",
                "runs a program that was deleted after it started (cordon collect still hashes it from /proc)".into(),
                "preserve /proc/PID/exe (cordon collect), then decide; upgraded daemons not yet restarted also look like this"));
        } else if WORLD_WRITABLE.iter().any(|w| exe.starts_with(w)) {
            out.push(finding(
                "process.tmp_exe",
                Severity::High,
                Confidence::High,
                "T1059",
                "runs a program from a world-writable directory".into(),
                "freeze it, preserve the program, then kill it",
            ));
        }
        // Named like a kernel thread ([kworker/0:1]) but has a program: masquerading.
        let argv0 = cmd.split(|&b| b == b' ').next().unwrap_or_default();
        if argv0.starts_with(b"[") && cmd.ends_with(b"]") {
            out.push(finding(
                "process.kthread_masquerade",
                Severity::High,
                Confidence::High,
                "T1036.004",
                "calls itself a kernel thread but runs a program from disk".into(),
                "freeze it, preserve its program and memory, then kill it",
            ));
        }
    }
    if SHELLS
        .iter()
        .any(|s| stat.comm.as_slice() == *s || stat.comm.starts_with(b"python"))
    {
        let socket_fds: Vec<u32> = p
            .fds
            .iter()
            .filter(|(fd, l)| *fd <= 2 && l.starts_with(b"socket:["))
            .map(|(fd, _)| *fd)
            .collect();
        if !socket_fds.is_empty() {
            out.push(finding("process.socket_shell", Severity::Critical, Confidence::High, "T1059.004",
                format!("is a shell or interpreter whose standard input/output is a network socket (fds {socket_fds:?}): a remote shell"),
                "cut the connection (cordon contain) and freeze the process; note the remote address from `cordon collect`"));
        }
    }
    if let Some(env) = &p.environ
        && let Some(v) = env.split(|&b| b == 0).find(|v| v.starts_with(b"LD_PRELOAD="))
    {
        out.push(
            finding(
                "process.ld_preload",
                Severity::High,
                Confidence::Medium,
                "T1574.006",
                "was started with LD_PRELOAD, which injects a library into it".into(),
                "check the library; a userland rootkit hides files and processes this way",
            )
            .attr("ld_preload", String::from_utf8_lossy(v).into_owned()),
        );
    }
}

/// Pids that answer when asked directly but are missing from the `/proc` listing: hidden by a
/// rootkit. A pid is probed only if it is a thread-group leader (its `status` says `Tgid` = pid) and
/// is still unlisted in a second listing, so threads and newborn processes are not reported.
fn hidden_pids(proc_fd: &rustix::fd::OwnedFd, listed: &[i32], t: &str, out: &mut Vec<Finding>) {
    let listed: HashSet<i32> = listed.iter().copied().collect();
    let max_listed = listed.iter().copied().max().unwrap_or(0);
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(32768);
    let limit = pid_max.min(max_listed.saturating_add(65536).max(32768));
    let mut suspects = Vec::new();
    for pid in 1..=limit {
        if !listed.contains(&pid) && pid_exists(proc_fd, pid) {
            suspects.push(pid);
        }
    }
    if suspects.is_empty() {
        return;
    }
    let relisted: HashSet<i32> = list_pids(Path::new("/proc"))
        .unwrap_or_default()
        .into_iter()
        .collect();
    for pid in suspects {
        if relisted.contains(&pid) {
            continue;
        }
        let status = std::fs::read(format!("/proc/{pid}/status")).unwrap_or_default();
        let tgid = String::from_utf8_lossy(&status)
            .lines()
            .find_map(|l| {
                l.strip_prefix("Tgid:")
                    .map(|v| v.trim().parse::<i32>().unwrap_or(0))
            })
            .unwrap_or(0);
        if tgid != pid {
            continue;
        }
        out.push(
            Finding::new("process.hidden", Severity::Critical, Confidence::High,
                format!("process {pid} exists but is hidden from the /proc listing: a rootkit is hiding it"),
                "treat the kernel or libc as compromised: image memory, then rebuild the host; do not trust any tool running on it", t)
                .technique("T1014")
                .pid(i64::from(pid)),
        );
    }
}

fn listeners(procs: &[Process], t: &str, out: &mut Vec<Finding>) {
    let mut by_inode: HashMap<u64, &Process> = HashMap::new();
    for p in procs {
        for inode in p.socket_inodes() {
            by_inode.insert(inode, p);
        }
    }
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read(file) else { continue };
        for s in parse_inet(&text).into_iter().filter(|s| s.state == 10) {
            let Some(p) = by_inode.get(&s.inode) else { continue };
            let c = comm(p);
            if NEVER_LISTEN.contains(&c.as_slice()) {
                out.push(
                    Finding::new(
                        "process.shell_listener",
                        Severity::High,
                        Confidence::High,
                        format!(
                            "{} (pid {}) listens on {}:{}: a bind shell or ad-hoc backdoor",
                            String::from_utf8_lossy(&c),
                            p.pid,
                            s.local,
                            s.local_port
                        ),
                        "block the port (cordon contain), freeze the process, preserve it",
                        t,
                    )
                    .technique("T1059.004")
                    .pid(i64::from(p.pid))
                    .evidence(cmdline(p))
                    .attr("port", s.local_port),
                );
            }
        }
    }
}

fn modules(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let t = ctx.target_label.clone();
    let listed: HashSet<Vec<u8>> = match std::fs::read("/proc/modules") {
        Ok(b) => b
            .split(|&c| c == b'\n')
            .filter_map(|l| l.split(|&c| c == b' ').next())
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        Err(e) => {
            ctx.notes.push(format!("/proc/modules: {e}"));
            return;
        }
    };
    for name in &listed {
        if ROOTKIT_MODULES.contains(&name.as_slice()) {
            out.push(
                Finding::new("kmod.rootkit_loaded", Severity::Critical, Confidence::High,
                    format!("kernel module {} of a known rootkit is loaded", String::from_utf8_lossy(name)),
                    "the kernel is compromised: image memory, then rebuild; nothing on this host can be trusted", &t)
                    .technique("T1014")
                    .evidence(name.clone()),
            );
        }
    }
    let Ok(dir) = std::fs::read_dir("/sys/module") else {
        return;
    };
    for entry in dir.flatten() {
        // Loadable modules have `initstate`; built-in ones do not.
        if !entry.path().join("initstate").exists() {
            continue;
        }
        let name = entry.file_name().into_encoded_bytes();
        if !listed.contains(&name) {
            out.push(
                Finding::new("kmod.hidden", Severity::Critical, Confidence::High,
                    format!("kernel module {} is loaded (in /sys/module) but missing from /proc/modules: it hides itself", String::from_utf8_lossy(&name)),
                    "the kernel is compromised: image memory, then rebuild from trusted media", &t)
                    .technique("T1014")
                    .evidence(name),
            );
        }
    }
}

fn taint(ctx: &mut Ctx, out: &mut Vec<Finding>) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/kernel/tainted") else {
        return;
    };
    let Ok(bits) = text.trim().parse::<u64>() else {
        return;
    };
    // O (4096): out-of-tree module; E (8192): unsigned module.
    if bits & (4096 | 8192) != 0 {
        out.push(
            Finding::new("kmod.taint", Severity::Medium, Confidence::Low,
                format!("the kernel is tainted ({bits}): an out-of-tree or unsigned module was loaded since boot"),
                "match the loaded modules against the packages that ship them; vendor drivers (nvidia, zfs, vbox) also taint", &ctx.target_label)
                .technique("T1547.006")
                .evidence(text.trim().as_bytes().to_vec()),
        );
    }
}
