//! Planning a freeze. Each pid is checked and refused when stopping it would hang the host (init),
//! cannot work (kernel threads, zombies, a thread given instead of its process) or would freeze the
//! responder (cordon and every one of its ancestors); then the consequences are said in plain words,
//! the irreversible ones loudest.

use std::os::fd::OwnedFd;

use cordon_host::procfs::{self, ProcStat};

use super::cgroup::plan_cgroups;
use super::snapshot::{ProcessSnapshot, open_proc, own_lineage};
use super::{FreezePlan, FreezeRequest};
use crate::Error;
use crate::examined::show;

impl FreezeRequest {
    /// Reads every process and builds the plan, refusing pid 1, kernel threads, threads given
    /// instead of their process, zombies, processes that do not exist, and cordon itself with all of
    /// its ancestors (the responder's own shell and session). Nothing is changed.
    pub fn plan(&self) -> Result<FreezePlan, Error> {
        if self.pids.is_empty() {
            return Err(Error::Refused("no process id was given".into()));
        }
        let proc_fd = open_proc()?;
        let lineage = own_lineage(&proc_fd);
        let mut processes: Vec<ProcessSnapshot> = Vec::new();
        let mut notes = Vec::new();
        for &pid in &self.pids {
            if processes.iter().any(|p| p.pid == pid) {
                continue;
            }
            let snap = check_target(&proc_fd, pid, &lineage)?;
            if snap.state == 'T' {
                notes.push(format!(
                    "{} is already stopped: it stays stopped on undo",
                    snap.label()
                ));
            }
            processes.push(snap);
        }
        let cgroups = if self.cgroup {
            plan_cgroups(&proc_fd, &processes, &lineage)?
        } else {
            Vec::new()
        };
        notes.extend(standard_notes(self));
        Ok(FreezePlan {
            request: self.clone(),
            processes,
            cgroups,
            notes,
        })
    }
}

fn check_target(proc_fd: &OwnedFd, pid: i32, lineage: &[i32]) -> Result<ProcessSnapshot, Error> {
    if pid <= 0 {
        return Err(Error::Refused(format!("{pid} is not a process id")));
    }
    if pid == 1 {
        return Err(Error::Refused(
            "pid 1 is init (systemd): stopping it would hang the whole system".into(),
        ));
    }
    let Some((snap, full)) = ProcessSnapshot::read_full(proc_fd, pid) else {
        return Err(Error::Refused(format!("no such process: pid {pid}")));
    };
    if full.stat.as_ref().is_some_and(ProcStat::is_kernel_thread) {
        return Err(Error::Refused(format!(
            "{} is a kernel thread: it cannot be stopped and is not something an attacker starts \
             (a rootkit hides in the kernel itself; image memory instead)",
            snap.label()
        )));
    }
    if let Some(&tgid) = procfs::status_numbers(&full.status, "Tgid").first()
        && tgid != u64::try_from(pid).unwrap_or(0)
    {
        return Err(Error::Refused(format!(
            "{pid} is a thread of process {tgid}: give the process id {tgid}"
        )));
    }
    if lineage.contains(&pid) {
        let whose = if lineage.first() == Some(&pid) {
            "cordon itself"
        } else {
            "an ancestor of cordon (your own shell, sudo, terminal multiplexer or SSH session)"
        };
        return Err(Error::Refused(format!(
            "{} is {whose}: freezing it would freeze you",
            snap.label()
        )));
    }
    if snap.state == 'Z' || snap.state == 'X' {
        return Err(Error::Refused(format!(
            "{} has already exited (zombie; its parent pid {} has not collected it): nothing to freeze",
            snap.label(),
            snap.ppid
        )));
    }
    Ok(snap)
}

fn standard_notes(req: &FreezeRequest) -> Vec<String> {
    let mut notes = vec![
        "a stopped process keeps its memory, open files and connections (peers get no answers): image its \
         memory now (cordon memory), before anything kills it"
            .to_string(),
    ];
    if req.cgroup {
        notes.push(
            "the cgroup freezer holds every process in the cgroup and below it, and new ones cannot start \
             there; SIGCONT does not thaw it, only undo does"
                .into(),
        );
    } else {
        notes.push(
            "SIGSTOP can be undone by any process allowed to signal it (the attacker's other processes as \
             the same user can send SIGCONT); the cgroup freezer (cgroup) cannot"
                .into(),
        );
        notes.push(
            "children and other processes of the attacker keep running: look for them (same user, same \
             parent, same session) and freeze them too"
                .into(),
        );
    }
    if req.kill {
        notes.push(
            "then every frozen process is KILLED (SIGKILL) — that cannot be undone: its memory, a deleted \
             executable and its connections are lost. Without kill you can image memory first and kill \
             later (kill only what a freeze record holds)"
                .into(),
        );
    }
    notes
}

impl FreezePlan {
    /// What applying will do, in plain words (process names escaped for a terminal).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.request.cgroup {
            for c in &self.cgroups {
                out.push(format!(
                    "freeze cgroup {} with the cgroup v2 freezer ({} process(es)){}",
                    show(&c.path),
                    c.members.len(),
                    if c.already_frozen {
                        " — it is already frozen"
                    } else {
                        ""
                    }
                ));
                for m in &c.members {
                    out.push(format!("  {}", m.summary()));
                }
            }
        } else {
            for p in &self.processes {
                out.push(format!("stop {} with SIGSTOP", p.summary()));
            }
        }
        out.extend(self.notes.iter().cloned());
        out
    }
}
