//! The put-back. Each file is recreated with `O_EXCL`, never over something that appeared since,
//! byte-identical (the copy's SHA-256 checked while it streams), then given its owner, mode,
//! extended attributes, times and inode flags; what cannot come back (the ctime, the inode number)
//! is said. An apply stopped half-way is rolled back with the same function, so a quarantine is all
//! or nothing.

use std::io::{Read, Write};
use std::path::Path;

use cordon_host::meta::statx_at;
use cordon_host::open::file_type_name;
use rustix::fs::{AtFlags, IFlags, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use super::file::{FileKind, MovedFile};
use super::lookup::{ParentError, open_parent_to_restore};
use super::meta::{Timestamp, write_xattrs};
use crate::Error;
use crate::examined::{show, show_local};
use crate::store;

/// Undoes `done` after `e` stopped an apply half-way, and says what happened.
pub(super) fn roll_back(e: Error, done: &[MovedFile]) -> Error {
    if done.is_empty() {
        return e;
    }
    let mut failed = Vec::new();
    for f in done.iter().rev() {
        if let Err(err) = put_back(f) {
            failed.push(format!(
                "{} (its copy stays at {}): {err}",
                show_local(&f.local()),
                f.stored.display()
            ));
        }
    }
    if failed.is_empty() {
        Error::Unexpected(format!(
            "{e}; the {} file(s) already moved were put back, nothing is changed",
            done.len()
        ))
    } else {
        Error::Unexpected(format!(
            "{e}; putting back what was already moved failed for: {}",
            failed.join("; ")
        ))
    }
}

/// An error in the middle of an undo, with what had been done before it.
pub(crate) fn partial(e: Error, done: &[String]) -> Error {
    if done.is_empty() {
        e
    } else {
        Error::Unexpected(format!("{e}; done before that: {}", done.join("; ")))
    }
}

/// Checks that `f` can be put back: its copy is intact, its directory exists, nothing is at its path.
pub(crate) fn check_put_back(f: &MovedFile) -> Result<(), Error> {
    let local = f.local();
    let actual = store::sha256_of(&f.stored)?;
    if actual != f.sha256 {
        return Err(Error::Unexpected(format!(
            "the copy of {} in the case ({}) no longer has the recorded SHA-256 (recorded {}, now {actual}): \
             nothing was put back",
            show_local(&local),
            f.stored.display(),
            f.sha256
        )));
    }
    let path = f.path_bytes()?;
    let (dir, name) = open_parent_to_restore(&f.root, &path, f.dir_id).map_err(|e| match e {
        ParentError::Missing => Error::Refused(format!(
            "the directory of {} no longer exists: recreate it (with its owner and mode), then undo again",
            show_local(&local)
        )),
        ParentError::Other(e) => e,
    })?;
    match statx_at(&dir, name.as_c_str()) {
        Err(Errno::NOENT) => Ok(()),
        Ok(m) => Err(Error::Refused(format!(
            "{} exists again (a {} created after cordon moved the original aside): it is not overwritten; \
             move it away and undo again",
            show_local(&local),
            file_type_name(m.file_type())
        ))),
        Err(e) => Err(Error::io("stat", &local, e.into())),
    }
}

/// Recreates `f` at its path with `O_EXCL`, byte-identical (hash checked while copying), then its
/// owner, mode, extended attributes, times and inode flags. Returns what was done.
pub(crate) fn put_back(f: &MovedFile) -> Result<Vec<String>, Error> {
    let local = f.local();
    let path = f.path_bytes()?;
    let (dir, name) =
        open_parent_to_restore(&f.root, &path, f.dir_id).map_err(ParentError::into_error(&local))?;
    let mut lines = Vec::new();
    let times = Timestamps {
        last_access: f.atime.map_or(omit(), Timestamp::timespec),
        last_modification: f.mtime.map_or(omit(), Timestamp::timespec),
    };
    match f.kind {
        FileKind::File => {
            let fd = rustix::fs::openat(
                &dir,
                name.as_c_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| {
                if e == Errno::EXIST {
                    Error::Refused(format!(
                        "{} exists again: it is not overwritten",
                        show_local(&local)
                    ))
                } else {
                    Error::io("create", &local, e.into())
                }
            })?;
            let mut out = std::fs::File::from(fd);
            let fail = |e: Error| {
                let _ = rustix::fs::unlinkat(&dir, name.as_c_str(), AtFlags::empty());
                e
            };
            copy_verified(&f.stored, &mut out, &f.sha256).map_err(fail)?;
            out.sync_all().map_err(|e| fail(Error::io("fsync", &local, e)))?;
            rustix::fs::fchown(
                &out,
                Some(rustix::fs::Uid::from_raw(f.uid)),
                Some(rustix::fs::Gid::from_raw(f.gid)),
            )
            .map_err(|e| fail(Error::io("give back the owner of", &local, e.into())))?;
            // After fchown, which clears setuid bits and file capabilities.
            rustix::fs::fchmod(&out, Mode::from_raw_mode(f.mode & 0o7777))
                .map_err(|e| fail(Error::io("give back the mode of", &local, e.into())))?;
            lines.extend(write_xattrs(&out, &f.xattrs, &local));
            rustix::fs::futimens(&out, &times)
                .map_err(|e| fail(Error::io("give back the times of", &local, e.into())))?;
            lines.insert(
                0,
                format!(
                    "put back {} ({} bytes, SHA-256 {} verified), mode {:04o}, owner {}:{}, access and \
                     modification times as recorded",
                    show_local(&local),
                    f.size,
                    f.sha256,
                    f.mode & 0o7777,
                    f.uid,
                    f.gid
                ),
            );
            if let Some(bits) = f.inode_flags {
                let want = IFlags::from_bits_retain(bits);
                let have = rustix::fs::ioctl_getflags(&out).ok();
                if have != Some(want) {
                    match rustix::fs::ioctl_setflags(&out, want) {
                        Ok(()) if !f.flags_cleared.is_empty() => lines.push(format!(
                            "  its {} flag is set again",
                            f.flags_cleared.join(" and ")
                        )),
                        Ok(()) => {}
                        Err(e) => lines.push(format!("  its inode flags could not be set again: {e}")),
                    }
                }
            }
        }
        FileKind::Symlink => {
            let mut target = Vec::new();
            copy_verified(&f.stored, &mut target, &f.sha256)?;
            rustix::fs::symlinkat(target.as_slice(), &dir, name.as_c_str()).map_err(|e| {
                if e == Errno::EXIST {
                    Error::Refused(format!(
                        "{} exists again: it is not overwritten",
                        show_local(&local)
                    ))
                } else {
                    Error::io("create the symbolic link", &local, e.into())
                }
            })?;
            let fail = |e: Error| {
                let _ = rustix::fs::unlinkat(&dir, name.as_c_str(), AtFlags::empty());
                e
            };
            rustix::fs::chownat(
                &dir,
                name.as_c_str(),
                Some(rustix::fs::Uid::from_raw(f.uid)),
                Some(rustix::fs::Gid::from_raw(f.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|e| fail(Error::io("give back the owner of", &local, e.into())))?;
            rustix::fs::utimensat(&dir, name.as_c_str(), &times, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| fail(Error::io("give back the times of", &local, e.into())))?;
            lines.push(format!(
                "put back the symbolic link {} -> {}, owner {}:{}, times as recorded",
                show_local(&local),
                show(&target),
                f.uid,
                f.gid
            ));
        }
    }
    let _ = rustix::fs::fsync(&dir);
    lines.push(format!(
        "  {}: its ctime is the time of this undo and its inode number is new (neither can be restored)",
        show_local(&local)
    ));
    Ok(lines)
}

fn omit() -> Timespec {
    Timespec {
        tv_sec: 0,
        tv_nsec: rustix::fs::UTIME_OMIT,
    }
}

/// Copies the stored file into `out`, hashing while streaming; fails if the hash is not `want`.
fn copy_verified(stored: &Path, out: &mut impl Write, want: &str) -> Result<(), Error> {
    let mut src = std::fs::File::open(stored).map_err(|e| Error::io("open", stored, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", stored, e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        out.write_all(chunk)
            .map_err(|e| Error::io("write the copy of", stored, e))?;
    }
    let got = hex::encode(hasher.finalize());
    if got != want {
        return Err(Error::Unexpected(format!(
            "{} changed while it was being put back (SHA-256 {got}, recorded {want})",
            stored.display()
        )));
    }
    Ok(())
}
