//! Freezing a process: stop it without destroying what it holds.
//!
//! Killing a malicious process loses its memory (decrypted payloads, keys, the attacker's commands),
//! its deleted executable and its open connections. Stopping it keeps all of that for `cordon memory`
//! while it can do nothing more. So cordon stops by default — `SIGSTOP`, or with `cgroup` the cgroup
//! v2 freezer, which also holds every process the service started and which the attacker's other
//! processes cannot undo with `SIGCONT` — and kills only processes a freeze record says it froze,
//! that are still frozen, and that are still the same processes ([`kill_frozen`]).
//!
//! Every process is identified by pid *and* start time (`/proc/<pid>/stat` field 22), so a pid
//! reused between the freeze and the undo or kill is never signalled. Signals go through a pidfd
//! where the kernel has them (5.3+): the start time is checked on the process the pidfd holds, so
//! nothing can slip in between the check and the signal.
//!
//! The plan refuses pid 1, kernel threads, and cordon itself with every one of its ancestors — the
//! responder's shell, `sudo`, `tmux`, the `sshd` session they came in through. Freezing those would
//! freeze the responder.
//!
//! The parts: `snapshot` (a process as read from `/proc`, and cordon's own lineage), `plan` (the
//! refusals and the plan in plain words), `signal` (`SIGSTOP` and `SIGCONT` through pidfds),
//! `cgroup` (the cgroup v2 freezer) and `kill` ([`kill_frozen`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

mod cgroup;
mod kill;
mod plan;
mod signal;
mod snapshot;

use self::snapshot::{exe_sha256, pid_label};

pub use self::kill::{KillReport, KillResult, Outcome, kill_frozen};
pub(crate) use self::signal::{kill_checked, signal_checked};
pub(crate) use self::snapshot::open_proc;
pub use self::snapshot::{ProcessSnapshot, own_lineage};

/// How long apply waits for the kernel to report a process stopped or a cgroup frozen.
const SETTLE: Duration = Duration::from_secs(2);

/// What the responder asked to freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeRequest {
    /// Process ids.
    pub pids: Vec<i32>,
    /// Freeze each process's whole cgroup (v2 freezer) instead of sending `SIGSTOP`.
    pub cgroup: bool,
    /// After freezing and recording, kill what was frozen (`SIGKILL`); cannot be undone.
    pub kill: bool,
}

/// The plan: what will be stopped.
#[derive(Debug, Clone)]
pub struct FreezePlan {
    /// The request.
    pub request: FreezeRequest,
    /// The processes asked for.
    pub processes: Vec<ProcessSnapshot>,
    /// With `cgroup`, the cgroups to freeze and every process in them.
    pub cgroups: Vec<PlannedCgroup>,
    /// Plain-words consequences and warnings.
    pub notes: Vec<String>,
}

/// A cgroup the plan will freeze.
#[derive(Debug, Clone)]
pub struct PlannedCgroup {
    /// cgroup v2 mount point.
    pub mount: PathBuf,
    /// Path inside the hierarchy (`/system.slice/x.service`).
    pub path: Vec<u8>,
    /// Every process in it and below it.
    pub members: Vec<ProcessSnapshot>,
    /// Already frozen before cordon (undo leaves it frozen).
    pub already_frozen: bool,
}

/// How processes were frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreezeMethod {
    /// `SIGSTOP` to each process.
    Signal,
    /// The cgroup v2 freezer (`cgroup.freeze`).
    Cgroup,
}

/// A process a freeze stopped (or found stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenProcess {
    /// What was read before it was stopped.
    #[serde(flatten)]
    pub process: ProcessSnapshot,
    /// It was already stopped before cordon (undo leaves it stopped).
    pub already_stopped: bool,
    /// SHA-256 of its executable, read through `/proc/<pid>/exe` once it was stopped (reaches a
    /// deleted binary too).
    pub exe_sha256: Option<String>,
}

/// A cgroup a freeze froze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenCgroup {
    /// cgroup v2 mount point.
    pub mount: PathBuf,
    /// Path inside the hierarchy (lossy text).
    pub path: String,
    /// Its bytes when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    /// Already frozen before cordon.
    pub already_frozen: bool,
}

/// What a freeze did; enough to undo it or to kill what it froze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeRecord {
    /// Signal or cgroup freezer.
    pub method: FreezeMethod,
    /// Every process frozen (with `cgroup`, every member of the frozen cgroups).
    pub processes: Vec<FrozenProcess>,
    /// The cgroups frozen.
    #[serde(default)]
    pub cgroups: Vec<FrozenCgroup>,
    /// When the request asked to kill: what that did.
    #[serde(default)]
    pub kill: Option<KillReport>,
    /// What did not go as planned (a process still in the kernel, a cgroup slow to freeze).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl FreezePlan {
    /// Stops every process (or freezes every cgroup), waits for the kernel to confirm, then hashes
    /// each executable. If a signal fails half-way, what was already stopped is resumed and the error
    /// says so. With `kill`, then kills what was frozen ([`kill_frozen`]).
    pub fn apply(&self) -> Result<FreezeRecord, Error> {
        let proc_fd = open_proc()?;
        let mut record = if self.request.cgroup {
            self.freeze_cgroups(&proc_fd)?
        } else {
            self.stop_processes(&proc_fd)?
        };
        for p in &mut record.processes {
            p.exe_sha256 = exe_sha256(&proc_fd, p.process.pid, p.process.starttime);
        }
        if self.request.kill {
            record.kill = Some(kill_frozen(&record)?);
        }
        Ok(record)
    }
}

impl FreezeRecord {
    /// Resumes what the freeze stopped: `SIGCONT` to each process that is still the same process
    /// (start time checked), or `0` into each cgroup's `cgroup.freeze`. What was stopped or frozen
    /// before cordon stays so. Returns what was done; fails (after trying everything) if a process or
    /// cgroup could not be resumed.
    pub fn undo(&self) -> Result<Vec<String>, Error> {
        let (mut lines, failed) = match self.method {
            FreezeMethod::Signal => signal::resume(&self.processes)?,
            FreezeMethod::Cgroup => cgroup::thaw(&self.cgroups)?,
        };
        if let Some(k) = &self.kill {
            let killed: Vec<String> = k
                .processes
                .iter()
                .filter(|r| r.outcome == Outcome::Killed)
                .map(|r| pid_label(r.pid, &r.comm))
                .collect();
            if !killed.is_empty() {
                lines.push(format!(
                    "killed processes cannot be revived: {}",
                    killed.join(", ")
                ));
            }
        }
        if failed.is_empty() {
            Ok(lines)
        } else {
            lines.extend(failed);
            Err(Error::Unexpected(lines.join("; ")))
        }
    }
}
