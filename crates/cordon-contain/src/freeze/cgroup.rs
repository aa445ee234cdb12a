//! Freezing with the cgroup v2 freezer: every process of a cgroup and below it held at once, none
//! able to start there, and no `SIGCONT` from the attacker's other processes able to thaw it. The
//! plan refuses a cgroup holding init, a kernel thread or cordon's own session, and a host without
//! a whole cgroup2 mount; undo writes `0` back only where cordon wrote `1`.

use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cordon_core::escape_terminal;
use cordon_host::mounts::{MountInfo, read_own_mountinfo};
use cordon_host::procfs::ProcStat;

use super::snapshot::{ProcessSnapshot, read_stat};
use super::{FreezeMethod, FreezePlan, FreezeRecord, FrozenCgroup, FrozenProcess, PlannedCgroup, SETTLE};
use crate::Error;
use crate::examined::{host_error, local_path, raw_bytes, raw_text, show};

impl FrozenCgroup {
    pub(super) fn dir(&self) -> Result<PathBuf, Error> {
        let path = raw_bytes(&self.path, self.path_b64.as_deref(), "cgroup path")?;
        Ok(cgroup_dir(&self.mount, &path))
    }
}

pub(super) fn plan_cgroups(
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
    pub(super) fn freeze_cgroups(&self, proc_fd: &OwnedFd) -> Result<FreezeRecord, Error> {
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

/// `0` into the `cgroup.freeze` of each cgroup a cgroup freeze froze, last first; what was frozen
/// before cordon stays frozen. Returns what was done and what failed.
pub(super) fn thaw(cgroups: &[FrozenCgroup]) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    for c in cgroups.iter().rev() {
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
    Ok((lines, failed))
}

/// The path after `0::` in a `/proc/<pid>/cgroup` file.
pub(super) fn cgroup_v2_path(cgroup: &[u8]) -> Option<Vec<u8>> {
    cgroup
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .map(<[u8]>::to_vec)
}

/// The cgroup2 mount showing the whole hierarchy (of this cgroup namespace).
fn cgroup2_mount() -> Result<MountInfo, Error> {
    let mounts = read_own_mountinfo().map_err(host_error)?;
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
    local_path(mount, rel)
}

/// True when `path` is `top` or below it.
pub(super) fn in_subtree(path: &[u8], top: &[u8]) -> bool {
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
pub(super) fn cgroup_frozen(dir: &Path) -> bool {
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
    #![allow(clippy::unwrap_used)]
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
}
