//! Ending the account's running sessions: on the live host only, and only when asked. Sessions are
//! found by the audit login uid, which `su` and `sudo` keep, so what the attacker started after
//! logging in is found whatever user it now runs as. cordon and its ancestors are spared because
//! the responder may be sitting in them. Killing cannot be undone, so it comes last in apply.

use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

use cordon_host::open::open_regular_at;
use cordon_host::procfs;
use rustix::process::Signal;

use super::EndedSession;
use crate::freeze::{Outcome, ProcessSnapshot, kill_checked, signal_checked};

/// The login uid of this session (`/proc/self/loginuid`), when set.
pub(super) fn own_loginuid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/loginuid")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&u| u != u32::MAX)
}

/// `/proc/<pid>/loginuid` of one process.
fn loginuid_of(proc_fd: &OwnedFd, pid: i32) -> Option<u32> {
    let name = std::ffi::CString::new(format!("{pid}/loginuid")).ok()?;
    let opened = open_regular_at(proc_fd, &name).ok()?;
    let mut text = String::new();
    opened.file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Processes whose login uid is `uid`: those to end, and those spared (cordon and its ancestors).
pub(super) fn login_processes(
    proc_fd: &OwnedFd,
    uid: u32,
    lineage: &[i32],
) -> (Vec<ProcessSnapshot>, Vec<(ProcessSnapshot, String)>) {
    let mut end = Vec::new();
    let mut spare = Vec::new();
    let pids = procfs::list_pids(Path::new("/proc")).unwrap_or_default();
    for pid in pids {
        if loginuid_of(proc_fd, pid) != Some(uid) {
            continue;
        }
        let Some(snap) = ProcessSnapshot::read(proc_fd, pid) else {
            continue;
        };
        if lineage.contains(&pid) {
            spare.push((
                snap,
                "it is cordon or one of its ancestors (your own session)".to_string(),
            ));
        } else if snap.state != 'Z' {
            end.push(snap);
        }
    }
    (end, spare)
}

/// Ends every process of `uid`'s logins except cordon and its ancestors. Each pass records the
/// processes found, stops them all (so none can start a replacement while others are killed), then
/// kills them; up to three passes catch what was started in between. Returns the record and whether
/// new processes were still appearing.
pub(super) fn end_sessions(proc_fd: &OwnedFd, uid: u32, lineage: &[i32]) -> (Vec<EndedSession>, bool) {
    let mut out: Vec<EndedSession> = Vec::new();
    let seen = |out: &[EndedSession], s: &ProcessSnapshot| {
        out.iter()
            .any(|o| o.process.pid == s.pid && o.process.starttime == s.starttime)
    };
    for _ in 0..3 {
        let (found, spared) = login_processes(proc_fd, uid, lineage);
        for (s, why) in spared {
            if !seen(&out, &s) {
                out.push(EndedSession {
                    process: s,
                    outcome: Outcome::Skipped(why),
                });
            }
        }
        let new: Vec<ProcessSnapshot> = found.into_iter().filter(|s| !seen(&out, s)).collect();
        if new.is_empty() {
            return (out, false);
        }
        for s in &new {
            let _ = signal_checked(proc_fd, s.pid, s.starttime, Signal::STOP);
        }
        for s in new {
            let outcome = kill_checked(proc_fd, s.pid, s.starttime);
            out.push(EndedSession { process: s, outcome });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (left, _) = login_processes(proc_fd, uid, lineage);
    let more = left.iter().any(|s| !seen(&out, s));
    (out, more)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::print_stderr)]
    use std::time::Instant;

    use super::*;
    use crate::freeze::own_lineage;

    /// A child with its own login uid stands in for an attacker's session; needs root (setting
    /// `/proc/self/loginuid` takes CAP_AUDIT_CONTROL) and a kernel with audit.
    #[test]
    fn ends_the_processes_of_a_login_uid_only() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: setting a login uid needs root");
            return;
        }
        let uid = 1_900_000_000 + std::process::id() % 1000;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("echo {uid} > /proc/self/loginuid && exec sleep 60"))
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let proc_fd = procfs::open_proc(Path::new("/proc")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while loginuid_of(&proc_fd, pid) != Some(uid) {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                eprintln!("skipped: this kernel does not let the test set a login uid");
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let lineage = own_lineage(&proc_fd);
        let (ended, more) = end_sessions(&proc_fd, uid, &lineage);
        assert!(!more);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].process.pid, pid);
        assert_eq!(ended[0].outcome, Outcome::Killed);
        assert_eq!(ended[0].process.loginuid, Some(uid));
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(child.wait().unwrap().signal(), Some(9));
    }
}
