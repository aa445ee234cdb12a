//! A process as read from `/proc` before anything is done to it, and the processes never to be
//! touched. The pid and the start time together identify a process, so that a reused pid is never
//! mistaken for it; the rest (command line, executable, login uid, cgroup) is read once, before the
//! process is stopped, and kept for the report with non-UTF-8 bytes in `_b64` companions.

use std::ffi::CString;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::Path;

use cordon_core::escape_terminal;
use cordon_host::open::open_regular_at;
use cordon_host::procfs::{self, ProcStat, ReadParts};
use serde::{Deserialize, Serialize};

use super::cgroup::cgroup_v2_path;
use crate::Error;
use crate::examined::{raw_bytes, raw_text, raw_text_opt};

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

    pub(super) fn read_full(proc_fd: &OwnedFd, pid: i32) -> Option<(ProcessSnapshot, procfs::Process)> {
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
        let (exe, exe_b64) = raw_text_opt(p.exe.as_deref());
        let (cwd, cwd_b64) = raw_text_opt(p.cwd.as_deref());
        let cg = p.cgroup.as_deref().and_then(cgroup_v2_path);
        let (cgroup, cgroup_b64) = raw_text_opt(cg.as_deref());
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
        pid_label(self.pid, &self.comm)
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

    pub(super) fn cgroup_bytes(&self) -> Option<Vec<u8>> {
        let text = self.cgroup.as_deref()?;
        raw_bytes(text, self.cgroup_b64.as_deref(), "cgroup").ok()
    }
}

/// `pid 1234 (comm)`, escaped for a terminal.
pub(super) fn pid_label(pid: i32, comm: &str) -> String {
    format!("pid {} ({})", pid, escape_terminal(comm.as_bytes()))
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
pub(super) fn read_stat(proc_fd: &OwnedFd, pid: i32) -> Option<ProcStat> {
    let name = CString::new(format!("{pid}/stat")).ok()?;
    let opened = open_regular_at(proc_fd, &name).ok()?;
    let mut bytes = Vec::new();
    opened.file.take(64 * 1024).read_to_end(&mut bytes).ok()?;
    procfs::parse_stat(&bytes)
}

/// SHA-256 of `/proc/<pid>/exe`, if it is still that process and the file can be read.
pub(super) fn exe_sha256(proc_fd: &OwnedFd, pid: i32, starttime: u64) -> Option<String> {
    let mut f = procfs::open_exe(proc_fd, pid).ok()?.file;
    if read_stat(proc_fd, pid).map(|s| s.starttime) != Some(starttime) {
        return None;
    }
    crate::store::sha256_reader(&mut f).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn lineage_starts_with_this_process() {
        let proc_fd = procfs::open_proc(Path::new("/proc")).unwrap();
        let l = own_lineage(&proc_fd);
        assert_eq!(l[0], i32::try_from(std::process::id()).unwrap());
        assert!(l.len() >= 2, "{l:?}");
    }
}
