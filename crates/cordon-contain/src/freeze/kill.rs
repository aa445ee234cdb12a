//! Killing what a freeze froze, and only that. A process is killed only while it is still frozen
//! the way the record froze it and still has the recorded start time; everything else is left alone
//! and reported. Killing loses the memory, a deleted executable and the connections that freezing
//! keeps, so it is never the default and never reaches a process cordon did not freeze.

use serde::{Deserialize, Serialize};

use super::cgroup::{cgroup_frozen, in_subtree};
use super::signal::kill_checked;
use super::snapshot::{ProcessSnapshot, open_proc, pid_label};
use super::{FreezeMethod, FreezeRecord};
use crate::Error;
use crate::examined::{raw_bytes, show};

/// What happened to one process when killing or ending sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `SIGKILL` was sent.
    Killed,
    /// It had already exited.
    Exited,
    /// The pid now belongs to another process (start time differs): not touched.
    PidReused,
    /// It is no longer frozen (state given): not killed.
    NotFrozen(String),
    /// Deliberately left alone, with the reason.
    Skipped(String),
    /// The signal failed.
    Failed(String),
}

/// The result of killing one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillResult {
    /// Process id.
    pub pid: i32,
    /// Its start time.
    pub starttime: u64,
    /// Its command name.
    pub comm: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What [`kill_frozen`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillReport {
    /// One entry per process of the record.
    pub processes: Vec<KillResult>,
}

impl KillReport {
    /// Plain-words lines.
    pub fn describe(&self) -> Vec<String> {
        self.processes
            .iter()
            .map(|k| {
                let who = pid_label(k.pid, &k.comm);
                match &k.outcome {
                    Outcome::Killed => format!("killed {who}"),
                    Outcome::Exited => format!("{who} had already exited"),
                    Outcome::PidReused => {
                        format!("{who}: the pid now belongs to another process; not touched")
                    }
                    Outcome::NotFrozen(state) => {
                        format!(
                            "{who} is no longer frozen (state {state}): not killed; freeze it again first"
                        )
                    }
                    Outcome::Skipped(why) => format!("{who} skipped: {why}"),
                    Outcome::Failed(e) => format!("{who} could not be killed: {e}"),
                }
            })
            .collect()
    }
}

/// Kills (`SIGKILL`) the processes of `record` that are still frozen — stopped (`T`) for a signal
/// freeze, in a cgroup that reports frozen for a cgroup freeze — and whose start time still matches.
/// Everything else is left alone and reported. Fails only when `/proc` cannot be read.
pub fn kill_frozen(record: &FreezeRecord) -> Result<KillReport, Error> {
    let proc_fd = open_proc()?;
    let mut out = Vec::new();
    for p in &record.processes {
        let snap = &p.process;
        let outcome = match ProcessSnapshot::read(&proc_fd, snap.pid) {
            None => Outcome::Exited,
            Some(now) if now.starttime != snap.starttime => Outcome::PidReused,
            Some(now) => match frozen_state(record, &now) {
                Err(state) => Outcome::NotFrozen(state),
                Ok(()) => kill_checked(&proc_fd, snap.pid, snap.starttime),
            },
        };
        out.push(KillResult {
            pid: snap.pid,
            starttime: snap.starttime,
            comm: snap.comm.clone(),
            outcome,
        });
    }
    Ok(KillReport { processes: out })
}

/// `Ok` when `now` is frozen the way `record` froze it, else the state it is in.
fn frozen_state(record: &FreezeRecord, now: &ProcessSnapshot) -> Result<(), String> {
    match record.method {
        FreezeMethod::Signal => {
            if now.state == 'T' {
                Ok(())
            } else {
                Err(now.state.to_string())
            }
        }
        FreezeMethod::Cgroup => {
            let Some(path) = now.cgroup_bytes() else {
                return Err("no cgroup".into());
            };
            for c in &record.cgroups {
                let Ok(cpath) = raw_bytes(&c.path, c.path_b64.as_deref(), "cgroup path") else {
                    continue;
                };
                if in_subtree(&path, &cpath) && c.dir().is_ok_and(|d| cgroup_frozen(&d)) {
                    return Ok(());
                }
            }
            Err(format!("{}, cgroup {} not frozen", now.state, show(&path)))
        }
    }
}
