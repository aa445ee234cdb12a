//! Opening a file of the examined system the only way cordon does it.
//!
//! `O_RDONLY|O_NOATIME|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC`, then `fstat` on the open descriptor: only a
//! regular file is handed back. `O_NONBLOCK` means a FIFO swapped in between a check and the open
//! cannot hang us; `O_NOFOLLOW` means a symlink planted at the last component is not followed;
//! `O_NOATIME` keeps the access time (evidence) unchanged. The kernel allows `O_NOATIME` only to the
//! file's owner or a process with `CAP_FOWNER`; when it is refused we open without it and say so,
//! so the caller can record that this read may have touched the atime.

use std::fs::File;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::Error;

/// A regular file opened read-only, with what we know about how it was opened.
#[derive(Debug)]
pub struct OpenedFile {
    /// The open file.
    pub file: File,
    /// False when `O_NOATIME` was refused and the file was opened without it.
    pub noatime: bool,
    /// `fstat` of the open descriptor (what was actually opened, not what the path pointed at before).
    pub stat: rustix::fs::Stat,
}

/// Opens `path` read-only without following a final symlink, without touching its atime where the
/// kernel allows, refusing anything that is not a regular file.
pub fn open_regular(path: &Path) -> Result<OpenedFile, Error> {
    let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let (fd, noatime) = match rustix::fs::open(path, base | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => (fd, true),
        Err(Errno::PERM) => (
            rustix::fs::open(path, base, Mode::empty()).map_err(|e| open_error(path, e))?,
            false,
        ),
        Err(e) => return Err(open_error(path, e)),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| Error::io("stat", path, e))?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != FileType::RegularFile {
        return Err(Error::NotRegular {
            path: path.to_owned(),
            kind: file_type_name(kind),
        });
    }
    Ok(OpenedFile {
        file: File::from(fd),
        noatime,
        stat,
    })
}

fn open_error(path: &Path, e: Errno) -> Error {
    // ELOOP from O_NOFOLLOW means the last component is a symlink: say that rather than "too many
    // levels of symbolic links", which reads like a loop.
    if e == Errno::LOOP
        && let Ok(st) = rustix::fs::lstat(path)
        && FileType::from_raw_mode(st.st_mode) == FileType::Symlink
    {
        return Error::NotRegular {
            path: path.to_owned(),
            kind: "symbolic link",
        };
    }
    Error::io("open", path, e)
}

/// A human name for a file type, for messages.
pub fn file_type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn reads_a_regular_file_and_refuses_fifo_symlink_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"evidence").unwrap();
        let mut opened = open_regular(&f).unwrap();
        let mut s = String::new();
        opened.file.read_to_string(&mut s).unwrap();
        assert_eq!(s, "evidence");

        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = open_regular(&fifo).unwrap_err();
        assert!(matches!(err, Error::NotRegular { kind: "FIFO", .. }), "{err}");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let err = open_regular(&link).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotRegular {
                    kind: "symbolic link",
                    ..
                }
            ),
            "{err}"
        );

        let err = open_regular(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotRegular {
                    kind: "directory",
                    ..
                }
            ),
            "{err}"
        );
    }
}

/// The bytes of a small file, read through [`open_regular`], at most `cap` bytes.
#[derive(Debug)]
pub struct SmallFile {
    /// Up to `cap` bytes of content.
    pub bytes: Vec<u8>,
    /// True when the file held more than `cap` bytes.
    pub truncated: bool,
    /// False when the atime may have been touched (see [`OpenedFile::noatime`]).
    pub noatime: bool,
}

/// Reads at most `cap` bytes of a regular file (config files, /etc/passwd, /proc entries).
pub fn read_capped(path: &Path, cap: u64) -> Result<SmallFile, Error> {
    use std::io::Read as _;
    let opened = open_regular(path)?;
    let mut bytes = Vec::new();
    // Read one byte past the cap to learn whether there was more.
    opened
        .file
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::std_io("read", path, e))?;
    let truncated = bytes.len() as u64 > cap;
    bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok(SmallFile {
        bytes,
        truncated,
        noatime: opened.noatime,
    })
}

/// The flags of every read-only open of the examined system, without `O_NOATIME`.
fn base_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY
}

/// Opens `name` in directory `dir` like [`open_regular`]: read-only, no final-symlink following,
/// `O_NOATIME` where allowed, only a regular file is handed back. Errors are raw errnos, with
/// `ENOTSUP` standing for "not a regular file" (the caller knows the type from its own `statx`).
pub fn open_regular_at<Fd: std::os::fd::AsFd>(dir: Fd, name: &std::ffi::CStr) -> Result<OpenedFile, Errno> {
    let dir = dir.as_fd();
    let (fd, noatime) = match rustix::fs::openat(dir, name, base_flags() | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => (fd, true),
        Err(Errno::PERM) => (rustix::fs::openat(dir, name, base_flags(), Mode::empty())?, false),
        Err(e) => return Err(e),
    };
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Errno::NOTSUP);
    }
    Ok(OpenedFile {
        file: File::from(fd),
        noatime,
        stat,
    })
}

/// A directory opened for listing, without following a final symlink and without touching its atime
/// where the kernel allows.
#[derive(Debug)]
pub struct OpenedDir {
    /// The directory descriptor.
    pub fd: rustix::fd::OwnedFd,
    /// False when `O_NOATIME` was refused (listing may update the directory's atime).
    pub noatime: bool,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK
}

/// Opens directory `name` in `dir` (no final-symlink following, `O_NOATIME` where allowed).
pub fn open_dir_at<Fd: std::os::fd::AsFd>(dir: Fd, name: &std::ffi::CStr) -> Result<OpenedDir, Errno> {
    let dir = dir.as_fd();
    match rustix::fs::openat(dir, name, dir_flags() | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => Ok(OpenedDir { fd, noatime: true }),
        Err(Errno::PERM) => Ok(OpenedDir {
            fd: rustix::fs::openat(dir, name, dir_flags(), Mode::empty())?,
            noatime: false,
        }),
        Err(e) => Err(e),
    }
}

/// Opens the root directory of a target (`/`, or the mount point of an image).
pub fn open_root(root: &Path) -> Result<OpenedDir, Error> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::open(root, flags | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => Ok(OpenedDir { fd, noatime: true }),
        Err(Errno::PERM) => Ok(OpenedDir {
            fd: rustix::fs::open(root, flags, Mode::empty()).map_err(|e| Error::io("open", root, e))?,
            noatime: false,
        }),
        Err(e) => Err(Error::io("open", root, e)),
    }
}

/// Opens `inner` (a path of the examined system, e.g. `/var/log`) below the target's root
/// descriptor, resolving symbolic links *inside* that root (`openat2` `RESOLVE_IN_ROOT`, no magic
/// links): an absolute link in a mounted image points into the image, never at the examiner's own
/// files. The final component is never followed. `want_dir` selects a directory or a regular file.
/// Falls back to a plain `openat` relative to the root on kernels without `openat2`.
pub fn open_in_root<Fd: std::os::fd::AsFd>(
    root: Fd,
    inner: &[u8],
    want_dir: bool,
) -> Result<(rustix::fd::OwnedFd, bool), Errno> {
    let root = root.as_fd();
    let mut rel = inner;
    while let Some(rest) = rel.strip_prefix(b"/") {
        rel = rest;
    }
    let rel: &[u8] = if rel.is_empty() { b"." } else { rel };
    let flags = if want_dir { dir_flags() } else { base_flags() };
    let resolve = rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS;
    let attempt = |flags: OFlags| match rustix::fs::openat2(root, rel, flags, Mode::empty(), resolve) {
        Err(Errno::NOSYS) => rustix::fs::openat(root, rel, flags, Mode::empty()),
        other => other,
    };
    let (fd, noatime) = match attempt(flags | OFlags::NOATIME) {
        Ok(fd) => (fd, true),
        Err(Errno::PERM) => (attempt(flags)?, false),
        Err(e) => return Err(e),
    };
    if !want_dir {
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Errno::NOTSUP);
        }
    }
    Ok((fd, noatime))
}
