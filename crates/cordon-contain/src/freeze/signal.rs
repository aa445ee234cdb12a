//! Freezing by signal: `SIGSTOP` to each process, `SIGCONT` on undo, `SIGKILL` only when asked.
//! Every signal goes through [`signal_checked`], which sends it only to the process that started at
//! the recorded time: through a pidfd where the kernel has them, so that a pid reused between the
//! check and the signal is never hit.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};

use super::kill::Outcome;
use super::snapshot::{open_proc, read_stat};
use super::{FreezeMethod, FreezePlan, FreezeRecord, FrozenProcess, SETTLE};
use crate::Error;

/// Whether a checked signal reached its process.
pub(crate) enum Sent {
    /// Delivered to the process with the recorded start time.
    Yes,
    /// The process no longer exists.
    Exited,
    /// The pid belongs to another process now.
    Reused,
}

/// Sends `sig` to `pid` only if it is still the process that started at `starttime`: through a
/// pidfd (the check and the signal then concern the same process), or with `kill` right after the
/// check on kernels without pidfds.
pub(crate) fn signal_checked(
    proc_fd: &OwnedFd,
    pid: i32,
    starttime: u64,
    sig: Signal,
) -> Result<Sent, Errno> {
    let Some(p) = Pid::from_raw(pid.max(0)) else {
        return Ok(Sent::Exited);
    };
    let pidfd = match rustix::process::pidfd_open(p, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(Errno::SRCH) => return Ok(Sent::Exited),
        Err(Errno::NOSYS) => None,
        Err(e) => return Err(e),
    };
    match read_stat(proc_fd, pid) {
        None => return Ok(Sent::Exited),
        Some(s) if s.starttime != starttime => return Ok(Sent::Reused),
        Some(_) => {}
    }
    let sent = match &pidfd {
        Some(fd) => rustix::process::pidfd_send_signal(fd, sig),
        None => rustix::process::kill_process(p, sig),
    };
    match sent {
        Ok(()) => Ok(Sent::Yes),
        Err(Errno::SRCH) => Ok(Sent::Exited),
        Err(e) => Err(e),
    }
}

/// Sends `SIGKILL` through [`signal_checked`] and says what became of the process.
pub(crate) fn kill_checked(proc_fd: &OwnedFd, pid: i32, starttime: u64) -> Outcome {
    match signal_checked(proc_fd, pid, starttime, Signal::KILL) {
        Ok(Sent::Yes) => Outcome::Killed,
        Ok(Sent::Exited) => Outcome::Exited,
        Ok(Sent::Reused) => Outcome::PidReused,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

impl FreezePlan {
    pub(super) fn stop_processes(&self, proc_fd: &OwnedFd) -> Result<FreezeRecord, Error> {
        let mut record = FreezeRecord {
            method: FreezeMethod::Signal,
            processes: Vec::new(),
            cgroups: Vec::new(),
            kill: None,
            notes: Vec::new(),
        };
        for p in &self.processes {
            let already = p.state == 'T';
            if !already {
                let sent = signal_checked(proc_fd, p.pid, p.starttime, Signal::STOP);
                let failure = match sent {
                    Ok(Sent::Yes) => None,
                    Ok(Sent::Exited) => Some(format!("{} exited since the plan", p.label())),
                    Ok(Sent::Reused) => Some(format!(
                        "pid {} now belongs to another process (it was reused since the plan)",
                        p.pid
                    )),
                    Err(e) => Some(format!("could not stop {}: {e}", p.label())),
                };
                if let Some(why) = failure {
                    let resumed = record.undo().map(|l| l.len()).unwrap_or(0);
                    return Err(Error::Unexpected(format!(
                        "{why}; {resumed} process(es) already stopped were resumed, nothing is frozen; plan \
                         again"
                    )));
                }
            }
            record.processes.push(FrozenProcess {
                process: p.clone(),
                already_stopped: already,
                exe_sha256: None,
            });
        }
        let deadline = Instant::now() + SETTLE;
        for p in &record.processes {
            let state = loop {
                let state = read_stat(proc_fd, p.process.pid).map(|s| s.state);
                if state == Some('T') || state.is_none() || Instant::now() > deadline {
                    break state;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            match state {
                Some('T') => {}
                None => record
                    .notes
                    .push(format!("{} exited right after being stopped", p.process.label())),
                Some(s) => record.notes.push(format!(
                    "{} has not stopped yet (state {s}{}): it stops when that returns",
                    p.process.label(),
                    if s == 'D' { ": inside a kernel call" } else { "" }
                )),
            }
        }
        Ok(record)
    }
}

/// `SIGCONT` to each process a signal freeze stopped, last first, if it is still the same process;
/// what was stopped before cordon stays stopped. Returns what was done and what failed.
pub(super) fn resume(processes: &[FrozenProcess]) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    let proc_fd = open_proc()?;
    for p in processes.iter().rev() {
        let who = p.process.label();
        if p.already_stopped {
            lines.push(format!("{who} was stopped before cordon: left stopped"));
            continue;
        }
        match signal_checked(&proc_fd, p.process.pid, p.process.starttime, Signal::CONT) {
            Ok(Sent::Yes) => lines.push(format!("resumed {who}")),
            Ok(Sent::Exited) => lines.push(format!("{who} has exited")),
            Ok(Sent::Reused) => lines.push(format!(
                "{who}: the pid now belongs to another process; not touched"
            )),
            Err(e) => failed.push(format!("could not resume {who}: {e}")),
        }
    }
    Ok((lines, failed))
}
