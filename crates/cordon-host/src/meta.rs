//! File metadata from `statx(2)`: the four times (with birth time where the filesystem keeps it),
//! owner, mode, inode, device and mount id — taken without following a final symlink and without
//! asking a network filesystem to sync.

use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, StatxFlags};
use rustix::io::Errno;

/// A point in time as the kernel gives it: seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime {
    /// Seconds since 1970-01-01 UTC (negative before).
    pub sec: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
}

/// What `statx` says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Inode number.
    pub ino: u64,
    /// Device of the filesystem (`major`, `minor`).
    pub dev: (u32, u32),
    /// Mount id (matches `/proc/self/mountinfo`), when the kernel reports it.
    pub mnt_id: Option<u64>,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Hard link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (apparent).
    pub size: u64,
    /// 512-byte blocks allocated (less than size/512 for a sparse file).
    pub blocks: u64,
    /// Device numbers of a character or block device.
    pub rdev: (u32, u32),
    /// Last access.
    pub atime: Option<FileTime>,
    /// Last content modification.
    pub mtime: Option<FileTime>,
    /// Last metadata change.
    pub ctime: Option<FileTime>,
    /// Creation (birth), when the filesystem records it.
    pub btime: Option<FileTime>,
}

impl FileMeta {
    /// The file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    /// True for a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type() == FileType::RegularFile
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    /// True for a regular file with any execute bit set.
    pub fn is_executable_file(&self) -> bool {
        self.is_file() && self.mode & 0o111 != 0
    }

    /// `ls -l` style mode string (`-rwsr-xr-x`, `drwxrwxrwt`).
    pub fn mode_string(&self) -> String {
        mode_string(self.mode)
    }
}

fn ts(t: rustix::fs::StatxTimestamp) -> FileTime {
    FileTime {
        sec: t.tv_sec,
        nsec: t.tv_nsec,
    }
}

fn from_statx(s: &rustix::fs::Statx) -> FileMeta {
    let has = |flag: StatxFlags| s.stx_mask & flag.bits() != 0;
    FileMeta {
        ino: s.stx_ino,
        dev: (s.stx_dev_major, s.stx_dev_minor),
        mnt_id: has(StatxFlags::MNT_ID).then_some(s.stx_mnt_id),
        mode: u32::from(s.stx_mode),
        nlink: s.stx_nlink,
        uid: s.stx_uid,
        gid: s.stx_gid,
        size: s.stx_size,
        blocks: s.stx_blocks,
        rdev: (s.stx_rdev_major, s.stx_rdev_minor),
        atime: has(StatxFlags::ATIME).then(|| ts(s.stx_atime)),
        mtime: has(StatxFlags::MTIME).then(|| ts(s.stx_mtime)),
        ctime: has(StatxFlags::CTIME).then(|| ts(s.stx_ctime)),
        btime: has(StatxFlags::BTIME).then(|| ts(s.stx_btime)),
    }
}

fn mask() -> StatxFlags {
    StatxFlags::BASIC_STATS | StatxFlags::BTIME | StatxFlags::MNT_ID
}

/// `statx` of `name` in directory `dir`, not following a final symlink, without syncing.
pub fn statx_at<Fd: AsFd, P: rustix::path::Arg>(dir: Fd, name: P) -> Result<FileMeta, Errno> {
    let s = rustix::fs::statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::STATX_DONT_SYNC,
        mask(),
    )?;
    Ok(from_statx(&s))
}

/// `statx` of an open descriptor.
pub fn statx_fd<Fd: AsFd>(fd: Fd) -> Result<FileMeta, Errno> {
    let s = rustix::fs::statx(fd, c"", AtFlags::EMPTY_PATH | AtFlags::STATX_DONT_SYNC, mask())?;
    Ok(from_statx(&s))
}

/// `statx` of a path, not following a final symlink.
pub fn statx_path(path: &std::path::Path) -> Result<FileMeta, Errno> {
    statx_at(rustix::fs::CWD, path)
}

/// `ls -l` style mode string for a raw `st_mode`.
pub fn mode_string(mode: u32) -> String {
    let kind = match FileType::from_raw_mode(mode) {
        FileType::RegularFile => '-',
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        FileType::CharacterDevice => 'c',
        FileType::BlockDevice => 'b',
        FileType::Unknown => '?',
    };
    let bit = |mask: u32, c: char| if mode & mask != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (mode & x != 0, mode & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_match_ls() {
        assert_eq!(mode_string(0o100755), "-rwxr-xr-x");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o102644), "-rw-r-Sr--");
    }

    #[test]
    fn statx_reports_times_and_does_not_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("l")).unwrap();
        let m = statx_path(&f).unwrap();
        assert!(m.is_file() && m.size == 3 && m.mtime.is_some() && m.ctime.is_some());
        let l = statx_path(&dir.path().join("l")).unwrap();
        assert_eq!(l.file_type(), FileType::Symlink);
    }
}
