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

use std::ffi::CString;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cordon_core::escape_terminal;
use cordon_host::mounts::{MountInfo, read_own_mountinfo};
use cordon_host::open::open_regular_at;
use cordon_host::procfs::{self, ProcStat, ReadParts};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::quarantine::{raw_text, show};

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

/// A process as read from `/proc` before anything was done to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSnapshot {
    /// Process id.
    pub pid: i32,
    /// Start time in clock ticks after boot: with the pid, identifies the process.
    pub starttime: u64,
    /// Parent pid.
    pub ppid: i32,
    /// State letter when read (`R`, `S`, `D`, `T` …).
    pub state: char,
    /// Command name (lossy text).
    pub comm: String,
    /// The name's bytes when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_b64: Option<String>,
    /// Arguments (lossy text).
    pub cmdline: Vec<String>,
    /// The raw NUL-separated arguments when one is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline_b64: Option<String>,
    /// Executable (` (deleted)` kept as the kernel writes it).
    pub exe: Option<String>,
    /// Its bytes when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_b64: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Its bytes when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd_b64: Option<String>,
    /// Real, effective, saved and filesystem uid.
    pub uid: Vec<u64>,
    /// Real, effective, saved and filesystem gid.
    pub gid: Vec<u64>,
    /// Audit login uid (who logged in to start it), when set.
    pub loginuid: Option<u32>,
    /// cgroup v2 path (the `0::` line).
    pub cgroup: Option<String>,
    /// Its bytes when not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_b64: Option<String>,
    /// Threads.
    pub threads: i64,
    /// Resident memory in pages.
    pub rss_pages: i64,
    /// User CPU time in clock ticks.
    pub utime: u64,
    /// Kernel CPU time in clock ticks.
    pub stime: u64,
}

impl ProcessSnapshot {
    /// Reads a process; `None` when it does not exist (or exited while being read).
    pub fn read(proc_fd: &OwnedFd, pid: i32) -> Option<ProcessSnapshot> {
        Self::read_full(proc_fd, pid).map(|(s, _)| s)
    }

    fn read_full(proc_fd: &OwnedFd, pid: i32) -> Option<(ProcessSnapshot, procfs::Process)> {
        if pid <= 0 {
            return None;
        }
        let p = procfs::read_process(
            proc_fd,
            pid,
            ReadParts {
                fds: false,
                maps: false,
                environ: false,
            },
        );
        if p.vanished {
            return None;
        }
        let st = p.stat.as_ref()?;
        let (comm, comm_b64) = raw_text(&st.comm);
        let raw_cmd = p.cmdline.clone().unwrap_or_default();
        let args: Vec<&[u8]> = raw_cmd
            .strip_suffix(b"\0")
            .unwrap_or(&raw_cmd)
            .split(|&b| b == 0)
            .filter(|a| !raw_cmd.is_empty() || !a.is_empty())
            .collect();
        let cmdline_b64 = args
            .iter()
            .any(|a| std::str::from_utf8(a).is_err())
            .then(|| raw_text(&raw_cmd).1)
            .flatten();
        let opt = |b: Option<&Vec<u8>>| match b {
            Some(b) => {
                let (t, b64) = raw_text(b);
                (Some(t), b64)
            }
            None => (None, None),
        };
        let (exe, exe_b64) = opt(p.exe.as_ref());
        let (cwd, cwd_b64) = opt(p.cwd.as_ref());
        let cg = p.cgroup.as_deref().and_then(cgroup_v2_path);
        let (cgroup, cgroup_b64) = opt(cg.as_ref());
        let snap = ProcessSnapshot {
            pid,
            starttime: st.starttime,
            ppid: st.ppid,
            state: st.state,
            comm,
            comm_b64,
            cmdline: args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            cmdline_b64,
            exe,
            exe_b64,
            cwd,
            cwd_b64,
            uid: procfs::status_numbers(&p.status, "Uid"),
            gid: procfs::status_numbers(&p.status, "Gid"),
            loginuid: p.loginuid.filter(|&u| u != u32::MAX),
            cgroup,
            cgroup_b64,
            threads: st.num_threads,
            rss_pages: st.rss,
            utime: st.utime,
            stime: st.stime,
        };
        Some((snap, p))
    }

    /// `pid 1234 (comm)`, escaped for a terminal.
    pub fn label(&self) -> String {
        format!("pid {} ({})", self.pid, escape_terminal(self.comm.as_bytes()))
    }

    /// The command line, escaped for a terminal.
    pub fn command(&self) -> String {
        escape_terminal(self.cmdline.join(" ").as_bytes())
    }

    /// One line: label, command, executable, user.
    pub fn summary(&self) -> String {
        let mut s = self.label();
        if !self.cmdline.is_empty() {
            s.push_str(&format!(" `{}`", self.command()));
        }
        if let Some(exe) = &self.exe {
            s.push_str(&format!(", executable {}", escape_terminal(exe.as_bytes())));
        }
        if let Some(uid) = self.uid.first() {
            s.push_str(&format!(", uid {uid}"));
        }
        s
    }

    fn cgroup_bytes(&self) -> Option<Vec<u8>> {
        let text = self.cgroup.as_deref()?;
        crate::quarantine::raw_bytes(text, self.cgroup_b64.as_deref(), "cgroup").ok()
    }
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

impl FrozenCgroup {
    fn dir(&self) -> Result<PathBuf, Error> {
        let path = crate::quarantine::raw_bytes(&self.path, self.path_b64.as_deref(), "cgroup path")?;
        Ok(cgroup_dir(&self.mount, &path))
    }
}

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
                let who = format!("pid {} ({})", k.pid, escape_terminal(k.comm.as_bytes()));
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

fn plan_cgroups(
    proc_fd: &OwnedFd,
    processes: &[ProcessSnapshot],
    lineage: &[i32],
) -> Result<Vec<PlannedCgroup>, Error> {
    let mount = cgroup2_mount()?;
    let own: Vec<(i32, Vec<u8>)> = lineage
        .iter()
        .filter_map(|&pid| {
            let s = ProcessSnapshot::read(proc_fd, pid)?;
            Some((pid, s.cgroup_bytes()?))
        })
        .collect();
    let mut out: Vec<PlannedCgroup> = Vec::new();
    for p in processes {
        let Some(path) = p.cgroup_bytes() else {
            return Err(Error::Refused(format!(
                "{} has no cgroup v2 membership (no 0:: line in /proc/{}/cgroup): cgroup v2 freezing is \
                 not available for it; freeze it by signal instead",
                p.label(),
                p.pid
            )));
        };
        if path == b"/" {
            return Err(Error::Refused(format!(
                "{} is in the root cgroup, which cannot be frozen: freeze it by signal instead",
                p.label()
            )));
        }
        if path.split(|&b| b == b'/').any(|c| c == b"..") || !path.starts_with(b"/") {
            return Err(Error::Refused(format!(
                "{} is in cgroup {}, outside this process's cgroup namespace: cannot freeze it from here",
                p.label(),
                show(&path)
            )));
        }
        if out.iter().any(|c| c.path == path) {
            continue;
        }
        let mount_point = PathBuf::from(std::ffi::OsStr::from_bytes(&mount.mount_point));
        let dir = cgroup_dir(&mount_point, &path);
        if !dir.join("cgroup.freeze").exists() {
            return Err(Error::Refused(format!(
                "{} has no cgroup.freeze: this kernel has no cgroup v2 freezer (Linux 5.2+); freeze by \
                 signal instead",
                dir.display()
            )));
        }
        for (pid, own_path) in &own {
            if in_subtree(own_path, &path) {
                return Err(Error::Refused(format!(
                    "cgroup {} also holds pid {pid}, which is cordon or one of its ancestors (your own \
                     session): freezing it would freeze you; freeze the process by signal instead",
                    show(&path)
                )));
            }
        }
        let mut pids = Vec::new();
        cgroup_pids(&dir, &mut pids, 0);
        pids.sort_unstable();
        pids.dedup();
        let mut members = Vec::new();
        for pid in pids {
            if pid == 1 {
                return Err(Error::Refused(format!(
                    "cgroup {} holds pid 1 (init)",
                    show(&path)
                )));
            }
            if let Some((s, full)) = ProcessSnapshot::read_full(proc_fd, pid) {
                if full.stat.as_ref().is_some_and(ProcStat::is_kernel_thread) {
                    return Err(Error::Refused(format!(
                        "cgroup {} holds the kernel thread {}",
                        show(&path),
                        s.label()
                    )));
                }
                members.push(s);
            }
        }
        out.push(PlannedCgroup {
            mount: mount_point,
            already_frozen: read_trimmed(&dir.join("cgroup.freeze")).as_deref() == Some("1"),
            path,
            members,
        });
    }
    Ok(out)
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

    fn stop_processes(&self, proc_fd: &OwnedFd) -> Result<FreezeRecord, Error> {
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

    fn freeze_cgroups(&self, proc_fd: &OwnedFd) -> Result<FreezeRecord, Error> {
        let mut record = FreezeRecord {
            method: FreezeMethod::Cgroup,
            processes: Vec::new(),
            cgroups: Vec::new(),
            kill: None,
            notes: Vec::new(),
        };
        for c in &self.cgroups {
            let (path, path_b64) = raw_text(&c.path);
            let frozen = FrozenCgroup {
                mount: c.mount.clone(),
                path,
                path_b64,
                already_frozen: c.already_frozen,
            };
            let dir = frozen.dir()?;
            if !c.already_frozen
                && let Err(e) = write_control(&dir.join("cgroup.freeze"), b"1")
            {
                let thawed = record.undo().map(|l| l.len()).unwrap_or(0);
                return Err(Error::Unexpected(format!(
                    "could not freeze cgroup {}: {e}; {thawed} cgroup(s) already frozen were thawed",
                    show(&c.path)
                )));
            }
            record.cgroups.push(frozen);
            let deadline = Instant::now() + SETTLE;
            while !cgroup_frozen(&dir) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !cgroup_frozen(&dir) {
                record.notes.push(format!(
                    "cgroup {} does not report frozen yet (a process is inside a kernel call): it freezes when \
                     that returns",
                    show(&c.path)
                ));
            }
            // Members as read before freezing; one that exited meanwhile is dropped.
            for m in &c.members {
                if read_stat(proc_fd, m.pid).is_some_and(|s| s.starttime == m.starttime) {
                    record.processes.push(FrozenProcess {
                        process: m.clone(),
                        already_stopped: c.already_frozen,
                        exe_sha256: None,
                    });
                }
            }
            // A process that entered the cgroup after the plan is frozen too: record it.
            let mut now = Vec::new();
            cgroup_pids(&dir, &mut now, 0);
            for pid in now {
                if !record.processes.iter().any(|p| p.process.pid == pid)
                    && let Some(s) = ProcessSnapshot::read(proc_fd, pid)
                {
                    record.notes.push(format!(
                        "{} joined the cgroup after the plan and is frozen too",
                        s.label()
                    ));
                    record.processes.push(FrozenProcess {
                        process: s,
                        already_stopped: c.already_frozen,
                        exe_sha256: None,
                    });
                }
            }
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
        let mut lines = Vec::new();
        let mut failed = Vec::new();
        match self.method {
            FreezeMethod::Signal => {
                let proc_fd = open_proc()?;
                for p in self.processes.iter().rev() {
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
            }
            FreezeMethod::Cgroup => {
                for c in self.cgroups.iter().rev() {
                    let shown = escape_terminal(c.path.as_bytes());
                    if c.already_frozen {
                        lines.push(format!("cgroup {shown} was frozen before cordon: left frozen"));
                        continue;
                    }
                    let dir = c.dir()?;
                    match write_control(&dir.join("cgroup.freeze"), b"0") {
                        Ok(()) => lines.push(format!("thawed cgroup {shown}")),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            lines.push(format!("cgroup {shown} no longer exists (its processes exited)"));
                        }
                        Err(e) => failed.push(format!("could not thaw cgroup {shown}: {e}")),
                    }
                }
            }
        }
        if let Some(k) = &self.kill {
            let killed: Vec<String> = k
                .processes
                .iter()
                .filter(|r| r.outcome == Outcome::Killed)
                .map(|r| format!("pid {} ({})", r.pid, escape_terminal(r.comm.as_bytes())))
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
                Ok(()) => match signal_checked(&proc_fd, snap.pid, snap.starttime, Signal::KILL) {
                    Ok(Sent::Yes) => Outcome::Killed,
                    Ok(Sent::Exited) => Outcome::Exited,
                    Ok(Sent::Reused) => Outcome::PidReused,
                    Err(e) => Outcome::Failed(e.to_string()),
                },
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
                let Ok(cpath) = crate::quarantine::raw_bytes(&c.path, c.path_b64.as_deref(), "cgroup path")
                else {
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

/// The calling process and every ancestor up to (not including) pid 0: the processes a
/// containment action must never stop or kill, because the responder is sitting in them.
pub fn own_lineage(proc_fd: &OwnedFd) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(mut pid) = i32::try_from(std::process::id()) else {
        return out;
    };
    for _ in 0..4096 {
        out.push(pid);
        if pid <= 1 {
            break;
        }
        match read_stat(proc_fd, pid) {
            Some(s) if s.ppid > 0 && !out.contains(&s.ppid) => pid = s.ppid,
            _ => break,
        }
    }
    out
}

/// The live host's `/proc`.
pub(crate) fn open_proc() -> Result<OwnedFd, Error> {
    let proc = Path::new("/proc");
    procfs::open_proc(proc).map_err(|e| Error::io("open", proc, e.into()))
}

/// `/proc/<pid>/stat`, parsed.
pub(crate) fn read_stat(proc_fd: &OwnedFd, pid: i32) -> Option<ProcStat> {
    let name = CString::new(format!("{pid}/stat")).ok()?;
    let opened = open_regular_at(proc_fd, &name).ok()?;
    let mut bytes = Vec::new();
    opened.file.take(64 * 1024).read_to_end(&mut bytes).ok()?;
    procfs::parse_stat(&bytes)
}

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

/// SHA-256 of `/proc/<pid>/exe`, if it is still that process and the file can be read.
fn exe_sha256(proc_fd: &OwnedFd, pid: i32, starttime: u64) -> Option<String> {
    let mut f = procfs::open_exe(proc_fd, pid).ok()?.file;
    if read_stat(proc_fd, pid).map(|s| s.starttime) != Some(starttime) {
        return None;
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(hex::encode(hasher.finalize()))
}

/// The path after `0::` in a `/proc/<pid>/cgroup` file.
fn cgroup_v2_path(cgroup: &[u8]) -> Option<Vec<u8>> {
    cgroup
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .map(<[u8]>::to_vec)
}

/// The cgroup2 mount showing the whole hierarchy (of this cgroup namespace).
fn cgroup2_mount() -> Result<MountInfo, Error> {
    let mounts = read_own_mountinfo().map_err(crate::quarantine::host_error)?;
    let v2: Vec<&MountInfo> = mounts.iter().filter(|m| m.fs_type == "cgroup2").collect();
    if let Some(m) = v2.iter().find(|m| m.root == b"/") {
        return Ok((*m).clone());
    }
    if let Some(m) = v2.first() {
        return Err(Error::Refused(format!(
            "cgroup v2 is mounted only in part (at {}, showing {}): cordon cannot map a process's cgroup \
             onto it; freeze by signal instead",
            show(&m.mount_point),
            show(&m.root)
        )));
    }
    Err(Error::Refused(
        "cgroup v2 freezing is not available: no cgroup2 file system is mounted (this host uses cgroup v1 \
         only, whose freezer cordon does not use); freeze by signal instead"
            .into(),
    ))
}

fn cgroup_dir(mount: &Path, rel: &[u8]) -> PathBuf {
    crate::quarantine::local_path(mount, rel)
}

/// True when `path` is `top` or below it.
fn in_subtree(path: &[u8], top: &[u8]) -> bool {
    path == top || (path.starts_with(top) && (top.ends_with(b"/") || path.get(top.len()) == Some(&b'/')))
}

/// Pids in `dir/cgroup.procs` and in every cgroup below it.
fn cgroup_pids(dir: &Path, out: &mut Vec<i32>, depth: u32) {
    if depth > 64 {
        return;
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|s| s.parse::<i32>().ok()),
        );
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            cgroup_pids(&e.path(), out, depth + 1);
        }
    }
}

/// True when `dir/cgroup.events` says `frozen 1`.
fn cgroup_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .map(|t| t.lines().any(|l| l.trim() == "frozen 1"))
        .unwrap_or(false)
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Writes a cgroup control file that must already exist.
fn write_control(path: &Path, value: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn cgroup_paths_and_subtrees() {
        assert_eq!(
            cgroup_v2_path(b"4:memory:/x\n0::/system.slice/evil.service\n").unwrap(),
            b"/system.slice/evil.service"
        );
        assert!(cgroup_v2_path(b"4:memory:/x\n").is_none());
        assert!(in_subtree(b"/a/b", b"/a"));
        assert!(in_subtree(b"/a", b"/a"));
        assert!(!in_subtree(b"/ab", b"/a"));
        assert!(in_subtree(b"/a/b", b"/"));
    }

    #[test]
    fn lineage_starts_with_this_process() {
        let proc_fd = procfs::open_proc(Path::new("/proc")).unwrap();
        let l = own_lineage(&proc_fd);
        assert_eq!(l[0], i32::try_from(std::process::id()).unwrap());
        assert!(l.len() >= 2, "{l:?}");
    }
}
