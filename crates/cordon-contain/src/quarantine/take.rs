//! The move into the store. The copy is hashed while written, `fsync`ed, made read-only and read
//! back with the same hash; a protective inode flag is cleared only then, and the original is
//! unlinked only if its name still refers to the inode that was copied. Any failure before the
//! unlink leaves the original in place and no copy behind.

use std::path::Path;

use cordon_host::meta::{FileMeta, statx_at, statx_fd};
use cordon_host::open::open_regular_at;
use rustix::fs::{AtFlags, IFlags};
use rustix::io::Errno;

use super::file::{DirId, FileKind, MovedFile, PlannedFile};
use super::lookup::{ParentError, open_parent};
use super::meta::{Timestamp, flags_of, protective_flags, read_xattrs};
use crate::Error;
use crate::examined::{raw_text, raw_text_opt, show_local};
use crate::store::{self, StoredFile};

/// Copies `f` into `store/stored_name`, verifies the copy, clears a protective inode flag if set,
/// and unlinks the original, but only if the name still refers to the inode the plan saw.
pub(crate) fn move_aside(
    f: &PlannedFile,
    store: &Path,
    stored_name: &str,
    role: &str,
) -> Result<MovedFile, Error> {
    let local = f.local();
    let (dir, name) = open_parent(&f.root, &f.path).map_err(ParentError::into_error(&local))?;
    let meta = statx_at(&dir, name.as_c_str()).map_err(|e| Error::io("stat", &local, e.into()))?;
    if !same_file(&meta, &f.meta) {
        return Err(Error::Unexpected(format!(
            "{} is no longer the file the plan described (another inode is there now): nothing was moved; \
             plan again",
            show_local(&local)
        )));
    }
    let (saved, flags, xattrs, link_target, opened) = match f.kind {
        FileKind::File => {
            let opened =
                open_regular_at(&dir, name.as_c_str()).map_err(|e| Error::io("open", &local, e.into()))?;
            let mut file = opened.file;
            let before = statx_fd(&file).map_err(|e| Error::io("stat", &local, e.into()))?;
            if (before.dev, before.ino) != (meta.dev, meta.ino) {
                return Err(Error::Unexpected(format!(
                    "{} was replaced while being opened",
                    show_local(&local)
                )));
            }
            let flags = flags_of(&file);
            let xattrs = read_xattrs(&file);
            let saved = store::save(&mut file, store, stored_name, &local, role)?;
            let after = statx_fd(&file).map_err(|e| Error::io("stat", &local, e.into()))?;
            if after.size != before.size || after.mtime != before.mtime || saved.size != before.size {
                discard(&saved);
                return Err(Error::Unexpected(format!(
                    "{} changed while it was being copied (something is still writing it): it was left in \
                     place; freeze the writer and apply again",
                    show_local(&local)
                )));
            }
            (saved, flags, xattrs, None, Some(file))
        }
        FileKind::Symlink => {
            let target = rustix::fs::readlinkat(&dir, name.as_c_str(), Vec::new())
                .map_err(|e| Error::io("read the link", &local, e.into()))?
                .into_bytes();
            let saved = store::save(&mut target.as_slice(), store, stored_name, &local, role)?;
            (saved, None, Vec::new(), Some(target), None)
        }
    };
    finish_copy(&saved)?;
    let mut flags_cleared = Vec::new();
    let protective = IFlags::IMMUTABLE | IFlags::APPEND;
    if let (Some(bits), Some(file)) = (flags, &opened) {
        let found = IFlags::from_bits_retain(bits);
        if found.intersects(protective) {
            flags_cleared = protective_flags(Some(bits))
                .into_iter()
                .map(str::to_owned)
                .collect();
            if let Err(e) = rustix::fs::ioctl_setflags(file, found - protective) {
                discard(&saved);
                return Err(Error::Unexpected(format!(
                    "{} has the {} flag and it could not be cleared ({e}): that needs root \
                     (CAP_LINUX_IMMUTABLE); nothing was changed",
                    show_local(&local),
                    flags_cleared.join(" and ")
                )));
            }
        }
    }
    let restore_flags = || {
        if let (Some(bits), Some(file), false) = (flags, &opened, flags_cleared.is_empty()) {
            let _ = rustix::fs::ioctl_setflags(file, IFlags::from_bits_retain(bits));
        }
    };
    // The open descriptor keeps a regular file's inode from being reused; the birth time tells a
    // new symbolic link from the old one.
    let still = statx_at(&dir, name.as_c_str());
    if !matches!(&still, Ok(m) if (m.dev, m.ino, m.btime) == (meta.dev, meta.ino, meta.btime)) {
        restore_flags();
        discard(&saved);
        return Err(Error::Unexpected(format!(
            "{} was replaced while it was being copied: nothing was removed",
            show_local(&local)
        )));
    }
    if let Err(e) = rustix::fs::unlinkat(&dir, name.as_c_str(), AtFlags::empty()) {
        restore_flags();
        discard(&saved);
        let hint = if e == Errno::PERM || e == Errno::ACCESS {
            ": if its directory has the immutable or append-only flag (lsattr -d), clear that first \
             (cordon does not change directories)"
        } else {
            ""
        };
        return Err(Error::Unexpected(format!(
            "could not remove {} ({e}){hint}; it was left in place",
            show_local(&local)
        )));
    }
    // The unlink is done; a filesystem that cannot sync a directory does not undo it.
    let _ = rustix::fs::fsync(&dir);
    let dir_id = statx_fd(&dir).ok().map(|m| DirId::from(&m));
    let (path, path_b64) = raw_text(&f.path);
    let (link_target, link_target_b64) = raw_text_opt(link_target.as_deref());
    Ok(MovedFile {
        root: f.root.clone(),
        path,
        path_b64,
        kind: f.kind,
        link_target,
        link_target_b64,
        mode: meta.mode,
        uid: meta.uid,
        gid: meta.gid,
        size: meta.size,
        nlink: meta.nlink,
        ino: meta.ino,
        atime: meta.atime.map(Timestamp::from),
        mtime: meta.mtime.map(Timestamp::from),
        ctime: meta.ctime.map(Timestamp::from),
        btime: meta.btime.map(Timestamp::from),
        inode_flags: flags,
        flags_cleared,
        xattrs,
        dir_id,
        stored: saved.stored,
        sha256: saved.sha256,
        role: role.to_owned(),
    })
}

/// True when `a` and `b` describe the same file: device and inode, and — because a filesystem
/// reuses a freed inode number at once — the birth time, or the ctime where there is none.
fn same_file(a: &FileMeta, b: &FileMeta) -> bool {
    (a.dev, a.ino) == (b.dev, b.ino)
        && match (a.btime, b.btime) {
            (Some(x), Some(y)) => x == y,
            _ => a.ctime == b.ctime,
        }
}

/// Makes the stored copy read-only and not executable, and checks it reads back with its hash.
fn finish_copy(saved: &StoredFile) -> Result<(), Error> {
    make_read_only(saved).inspect_err(|_| discard(saved))?;
    let again = store::sha256_of(&saved.stored).inspect_err(|_| discard(saved))?;
    if again != saved.sha256 {
        discard(saved);
        return Err(Error::Unexpected(format!(
            "the copy {} does not read back with the SHA-256 it was written with: the original was left in \
             place; check the case disk",
            saved.stored.display()
        )));
    }
    Ok(())
}

fn discard(saved: &StoredFile) {
    let _ = std::fs::remove_file(&saved.stored);
}

/// Makes a copy in the store read-only for its owner, and so not executable: nothing runnable is
/// left in the case, and the `shadow` backup (password hashes) can be read by its owner only.
pub(crate) fn make_read_only(saved: &StoredFile) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&saved.stored, std::fs::Permissions::from_mode(0o400))
        .map_err(|e| Error::io("make read-only", &saved.stored, e))
}

/// A name for the store: `003-payload.bin`, only safe characters, short.
pub(crate) fn store_name(index: usize, path: &[u8], kind: FileKind) -> String {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
    let clean: String = base
        .iter()
        .take(64)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.');
    let suffix = if kind == FileKind::Symlink {
        ".symlink-target"
    } else {
        ""
    };
    format!(
        "{:03}-{}{suffix}",
        index + 1,
        if clean.is_empty() { "file" } else { clean }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_store_entries_safely() {
        assert_eq!(store_name(0, b"/tmp/.x/p\xff y", FileKind::File), "001-p__y");
        assert_eq!(
            store_name(11, b"/tmp/...", FileKind::Symlink),
            "012-file.symlink-target"
        );
    }
}
