//! Processes, read from `/proc` by cordon itself (never `ps`): `stat`, `status`, `cmdline`,
//! `environ`, the `exe`/`cwd`/`root` links, open descriptors, memory maps, namespaces and cgroups.
//!
//! Each process is read through a descriptor of its own `/proc/<pid>` directory, so a pid reused
//! half-way cannot mix two processes. A process that exits mid-read, or a file the kernel refuses,
//! leaves a recorded error and whatever was read before; nothing here fails the whole listing. The
//! `stat` parser takes the command name from the first `(` to the *last* `)`, since a hostile name
//! may contain parentheses and spaces.

use std::ffi::CStr;
use std::io::Read as _;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::open::{OpenedDir, open_dir_at, open_regular_at};

/// Largest `/proc/<pid>/*` text file read (maps of a huge process can be several MiB).
pub const PROC_FILE_CAP: u64 = 16 * 1024 * 1024;

/// The fields of `/proc/<pid>/stat` cordon uses (see `proc_pid_stat(5)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: i32,
    /// Command name (`comm`), raw bytes, up to 15 bytes as the kernel keeps it.
    pub comm: Vec<u8>,
    /// State letter (`R`, `S`, `D`, `Z`, `T` …).
    pub state: char,
    /// Parent pid.
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
    /// Controlling terminal device number.
    pub tty_nr: i32,
    /// Kernel flags (`PF_*`); `PF_KTHREAD` = 0x0020_0000.
    pub flags: u32,
    /// User-mode CPU time in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time in clock ticks.
    pub stime: u64,
    /// Number of threads.
    pub num_threads: i64,
    /// Start time in clock ticks after boot.
    pub starttime: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident set size in pages.
    pub rss: i64,
}

impl ProcStat {
    /// True for a kernel thread.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & 0x0020_0000 != 0
    }
}

/// Parses `/proc/<pid>/stat`.
pub fn parse_stat(bytes: &[u8]) -> Option<ProcStat> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let pid = std::str::from_utf8(bytes.get(..open)?)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = bytes.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // f[0] is field 3 (state); field n is f[n - 3].
    let field = |n: usize| f.get(n - 3).copied();
    let num = |n: usize| field(n).and_then(|s| s.parse::<i64>().ok());
    let unum = |n: usize| field(n).and_then(|s| s.parse::<u64>().ok());
    Some(ProcStat {
        pid,
        comm,
        state: field(3)?.chars().next()?,
        ppid: i32::try_from(num(4)?).ok()?,
        pgrp: i32::try_from(num(5)?).ok()?,
        session: i32::try_from(num(6)?).ok()?,
        tty_nr: i32::try_from(num(7)?).ok()?,
        flags: u32::try_from(unum(9)?).ok()?,
        utime: unum(14)?,
        stime: unum(15)?,
        num_threads: num(20)?,
        starttime: unum(22)?,
        vsize: unum(23)?,
        rss: num(24)?,
    })
}

/// `Key:\tvalue` lines of `/proc/<pid>/status`, raw.
pub fn parse_status(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let key = String::from_utf8_lossy(line.get(..colon)?).into_owned();
            let mut value = line.get(colon + 1..)?;
            while let [b' ' | b'\t', rest @ ..] = value {
                value = rest;
            }
            Some((key, value.to_vec()))
        })
        .collect()
}

/// The numbers of a `status` line such as `Uid:\t0\t0\t0\t0`.
pub fn status_numbers(status: &[(String, Vec<u8>)], key: &str) -> Vec<u64> {
    status
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split_ascii_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The text of a `status` line.
pub fn status_text(status: &[(String, Vec<u8>)], key: &str) -> Option<String> {
    status
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// Permissions (`r-xp`).
    pub perms: String,
    /// Offset in the file.
    pub offset: u64,
    /// Inode of the mapped file (0 for anonymous).
    pub inode: u64,
    /// Path or pseudo name (`[heap]`, `/memfd:x (deleted)`), raw; empty for anonymous memory.
    pub path: Vec<u8>,
}

/// Parses `/proc/<pid>/maps`.
pub fn parse_maps(bytes: &[u8]) -> Vec<MapEntry> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let mut rest = line;
            let mut fields: Vec<&[u8]> = Vec::with_capacity(5);
            for _ in 0..5 {
                let trimmed = trim_start(rest);
                let end = trimmed.iter().position(|&b| b == b' ').unwrap_or(trimmed.len());
                fields.push(trimmed.get(..end)?);
                rest = trimmed.get(end..)?;
            }
            let [range, perms, offset, _dev, inode] = fields.as_slice() else {
                return None;
            };
            let (start, end) = std::str::from_utf8(range).ok()?.split_once('-')?;
            Some(MapEntry {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                perms: String::from_utf8_lossy(perms).into_owned(),
                offset: u64::from_str_radix(std::str::from_utf8(offset).ok()?, 16).ok()?,
                inode: std::str::from_utf8(inode).ok()?.parse().ok()?,
                path: trim_start(rest).to_vec(),
            })
        })
        .collect()
}

fn trim_start(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    b
}

/// Everything read about one process. Fields are `None` when the file could not be read; the
/// reasons are in `errors`.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// Process id.
    pub pid: i32,
    /// `stat`.
    pub stat: Option<ProcStat>,
    /// `status` lines.
    pub status: Vec<(String, Vec<u8>)>,
    /// `cmdline`, NUL-separated arguments.
    pub cmdline: Option<Vec<u8>>,
    /// `environ`: the initial environment, NUL-separated.
    pub environ: Option<Vec<u8>>,
    /// `exe` link target (` (deleted)`, `/memfd:` kept as the kernel writes them).
    pub exe: Option<Vec<u8>>,
    /// `cwd` link target.
    pub cwd: Option<Vec<u8>>,
    /// `root` link target.
    pub root: Option<Vec<u8>>,
    /// Open descriptors: number and link target (`socket:[123]`, `pipe:[…]`, paths).
    pub fds: Vec<(u32, Vec<u8>)>,
    /// `maps`.
    pub maps: Vec<MapEntry>,
    /// Namespaces: name (`net`, `pid` …) and link target (`net:[4026531840]`).
    pub namespaces: Vec<(String, Vec<u8>)>,
    /// `cgroup`, raw.
    pub cgroup: Option<Vec<u8>>,
    /// `loginuid` (4294967295 = unset).
    pub loginuid: Option<u32>,
    /// `sessionid` (audit session).
    pub sessionid: Option<u32>,
    /// What could not be read: the `/proc/<pid>/` entry and the error.
    pub errors: Vec<(&'static str, Errno)>,
    /// True when the process was gone before everything was read.
    pub vanished: bool,
}

impl Process {
    /// The net namespace inode, from `ns/net`.
    pub fn net_ns(&self) -> Option<u64> {
        self.namespaces
            .iter()
            .find(|(n, _)| n == "net")
            .and_then(|(_, v)| bracket_number(v))
    }

    /// Socket inodes among the open descriptors.
    pub fn socket_inodes(&self) -> impl Iterator<Item = u64> + '_ {
        self.fds
            .iter()
            .filter(|(_, t)| t.starts_with(b"socket:["))
            .filter_map(|(_, t)| bracket_number(t))
    }
}

/// The number in `kind:[123]`.
pub fn bracket_number(link: &[u8]) -> Option<u64> {
    let open = link.iter().position(|&b| b == b'[')?;
    let close = link.iter().rposition(|&b| b == b']')?;
    std::str::from_utf8(link.get(open + 1..close)?).ok()?.parse().ok()
}

/// Pids listed in the `/proc` directory at `proc` (numeric entries only).
pub fn list_pids(proc: &Path) -> Result<Vec<i32>, Errno> {
    let fd = rustix::fs::open(
        proc,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut dir = rustix::fs::Dir::new(fd)?;
    let mut pids = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        if let Some(pid) = std::str::from_utf8(entry.file_name().to_bytes())
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
        {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// True when `/proc/<pid>` answers `stat` even if it was not listed (a thread id also answers).
pub fn pid_exists(proc_fd: impl AsFd, pid: i32) -> bool {
    rustix::fs::statat(proc_fd, pid.to_string(), rustix::fs::AtFlags::empty()).is_ok()
}

/// Opens `/proc` (or another procfs mount) for [`read_process`].
pub fn open_proc(proc: &Path) -> Result<OwnedFd, Errno> {
    rustix::fs::open(
        proc,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn read_at(dir: &OwnedFd, name: &CStr) -> Result<Vec<u8>, Errno> {
    let opened = open_regular_at(dir, name)?;
    let mut bytes = Vec::new();
    opened
        .file
        .take(PROC_FILE_CAP)
        .read_to_end(&mut bytes)
        .map_err(|e| e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error))?;
    Ok(bytes)
}

fn link_at(dir: impl AsFd, name: &CStr) -> Result<Vec<u8>, Errno> {
    rustix::fs::readlinkat(dir, name, Vec::new()).map(std::ffi::CString::into_bytes)
}

/// Which parts of a process to read (the cheap ones are always read).
#[derive(Debug, Clone, Copy)]
pub struct ReadParts {
    /// Open descriptors.
    pub fds: bool,
    /// Memory maps.
    pub maps: bool,
    /// Initial environment.
    pub environ: bool,
}

/// Reads one process through its `/proc/<pid>` directory.
pub fn read_process(proc_fd: &OwnedFd, pid: i32, parts: ReadParts) -> Process {
    let mut p = Process {
        pid,
        ..Process::default()
    };
    let Ok(name) = std::ffi::CString::new(pid.to_string()) else {
        return p;
    };
    let dir: OpenedDir = match open_dir_at(proc_fd, &name) {
        Ok(d) => d,
        Err(e) => {
            p.vanished = e == Errno::NOENT || e == Errno::SRCH;
            p.errors.push(("", e));
            return p;
        }
    };
    let d = &dir.fd;
    let note = |p: &mut Process, what: &'static str, e: Errno| {
        if e == Errno::NOENT || e == Errno::SRCH {
            // The file exists for every live process: its absence means the process is gone.
            if !pid_exists(proc_fd, pid) {
                p.vanished = true;
            }
        }
        p.errors.push((what, e));
    };
    match read_at(d, c"stat") {
        Ok(b) => p.stat = parse_stat(&b),
        Err(e) => note(&mut p, "stat", e),
    }
    match read_at(d, c"status") {
        Ok(b) => p.status = parse_status(&b),
        Err(e) => note(&mut p, "status", e),
    }
    match read_at(d, c"cmdline") {
        Ok(b) => p.cmdline = Some(b),
        Err(e) => note(&mut p, "cmdline", e),
    }
    let kthread = p.stat.as_ref().is_some_and(ProcStat::is_kernel_thread);
    // Kernel threads have no user memory: no environment, no maps, no exe.
    if parts.environ && !kthread {
        match read_at(d, c"environ") {
            Ok(b) => p.environ = Some(b),
            Err(e) => note(&mut p, "environ", e),
        }
    }
    for (what, slot) in [("exe", &mut p.exe), ("cwd", &mut p.cwd), ("root", &mut p.root)] {
        let Ok(cname) = std::ffi::CString::new(what) else {
            continue;
        };
        match link_at(d, &cname) {
            Ok(t) => *slot = Some(t),
            // Kernel threads have no exe; not an error.
            Err(Errno::NOENT) if kthread => {}
            Err(e) => p.errors.push((what, e)),
        }
    }
    if parts.fds && !kthread {
        match open_dir_at(d, c"fd") {
            Ok(fd_dir) => match list_fds(&fd_dir.fd) {
                Ok(fds) => p.fds = fds,
                Err(e) => p.errors.push(("fd", e)),
            },
            Err(e) => p.errors.push(("fd", e)),
        }
    }
    if parts.maps && !kthread {
        match read_at(d, c"maps") {
            Ok(b) => p.maps = parse_maps(&b),
            Err(e) => p.errors.push(("maps", e)),
        }
    }
    match open_dir_at(d, c"ns") {
        Ok(ns_dir) => {
            for ns in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
                let Ok(cname) = std::ffi::CString::new(ns) else {
                    continue;
                };
                if let Ok(t) = link_at(&ns_dir.fd, &cname) {
                    p.namespaces.push((ns.to_owned(), t));
                }
            }
        }
        Err(e) => p.errors.push(("ns", e)),
    }
    match read_at(d, c"cgroup") {
        Ok(b) => p.cgroup = Some(b),
        Err(e) => p.errors.push(("cgroup", e)),
    }
    let number = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().parse::<u32>().ok();
    p.loginuid = read_at(d, c"loginuid").ok().and_then(number);
    p.sessionid = read_at(d, c"sessionid").ok().and_then(number);
    if !p.vanished && !pid_exists(proc_fd, pid) {
        p.vanished = true;
    }
    p
}

fn list_fds(fd_dir: &OwnedFd) -> Result<Vec<(u32, Vec<u8>)>, Errno> {
    let dup = rustix::io::dup(fd_dir)?;
    let mut reader = rustix::fs::Dir::new(dup)?;
    let mut out = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let Some(n) = std::str::from_utf8(entry.file_name().to_bytes())
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // A descriptor closed between listing and readlink is skipped.
        if let Ok(t) = link_at(fd_dir, entry.file_name()) {
            out.push((n, t));
        }
    }
    out.sort_unstable_by_key(|(n, _)| *n);
    Ok(out)
}

/// Opens `/proc/<pid>/exe` (following the magic link on purpose: it reaches deleted and memfd
/// binaries) for hashing. `O_NOATIME` where allowed; only a regular file is returned.
pub fn open_exe(proc_fd: &OwnedFd, pid: i32) -> Result<crate::open::OpenedFile, Errno> {
    let path = format!("{pid}/exe");
    let base = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let (fd, noatime) =
        match rustix::fs::openat(proc_fd, path.as_str(), base | OFlags::NOATIME, Mode::empty()) {
            Ok(fd) => (fd, true),
            Err(Errno::PERM) => (
                rustix::fs::openat(proc_fd, path.as_str(), base, Mode::empty())?,
                false,
            ),
            Err(e) => return Err(e),
        };
    let stat = rustix::fs::fstat(&fd)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(Errno::NOTSUP);
    }
    Ok(crate::open::OpenedFile {
        file: std::fs::File::from(fd),
        noatime,
        stat,
    })
}

/// Boot time (`btime` of `/proc/stat`), seconds since the epoch.
pub fn boot_time(proc_stat: &[u8]) -> Option<i64> {
    String::from_utf8_lossy(proc_stat)
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), for `starttime`.
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_hostile_comm() {
        let line = b"4242 (evil) S (x) 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23) R 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 3 0 12345 1000000 250 18446744073709551615\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(
            s.comm,
            b"evil) S (x) 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23"
        );
        assert_eq!(s.state, 'R');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.utime, 5);
        assert_eq!(s.num_threads, 3);
        assert_eq!(s.starttime, 12345);
        assert_eq!(s.rss, 250);
    }

    #[test]
    fn maps_with_spaces_and_deleted() {
        let maps = b"55d0c0000000-55d0c0001000 r-xp 00001000 fe:00 1234   /tmp/my prog (deleted)\n\
7f0000000000-7f0000001000 rwxp 00000000 00:00 0 \n";
        let m = parse_maps(maps);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].path, b"/tmp/my prog (deleted)");
        assert_eq!(m[0].inode, 1234);
        assert_eq!(m[1].perms, "rwxp");
        assert!(m[1].path.is_empty());
    }

    #[test]
    fn reads_own_process() {
        let proc_fd = open_proc(Path::new("/proc")).unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        let p = read_process(
            &proc_fd,
            me,
            ReadParts {
                fds: true,
                maps: true,
                environ: true,
            },
        );
        assert!(!p.vanished);
        assert_eq!(p.stat.as_ref().unwrap().pid, me);
        assert!(p.exe.is_some() && !p.fds.is_empty() && !p.maps.is_empty());
        assert!(p.net_ns().is_some());
        assert_eq!(
            status_numbers(&p.status, "Tgid"),
            vec![u64::from(me.unsigned_abs())]
        );
    }
}
