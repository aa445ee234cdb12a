//! Looking at one path of the examined system by its own name, resolved inside its root.
//!
//! `cordon_host::open::open_in_root` resolves every component inside the target's root
//! (`RESOLVE_IN_ROOT`), so `/bin/ls` on a merged-`/usr` image reaches `usr/bin/ls` of the image and an
//! absolute symlink never leaves it. The final component is never followed: what it is (a replaced
//! symlink, a FIFO, a directory) is learned with `statx` on its parent directory.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use cordon_host::meta::{FileMeta, statx_at};
use cordon_host::open::open_in_root;
use rustix::io::Errno;

/// What a path of the examined system turned out to be.
#[derive(Debug)]
pub enum Lookup {
    /// A regular file, open for reading.
    File {
        /// The open file.
        file: File,
        /// False when `O_NOATIME` was refused.
        noatime: bool,
    },
    /// Not there.
    Missing,
    /// Something other than a regular file (`meta` says what): a symlink, directory, FIFO …
    Other {
        /// `statx` of the entry, not followed.
        meta: FileMeta,
        /// The link target, for a symlink.
        link: Option<Vec<u8>>,
    },
    /// Could not be looked at (permission, I/O error).
    Error(Errno),
}

/// Splits `/a/b/c` into (`/a/b`, `c`).
pub fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", path.get(1..).unwrap_or_default()),
        Some(i) => (
            path.get(..i).unwrap_or_default(),
            path.get(i + 1..).unwrap_or_default(),
        ),
        None => (b"/", path),
    }
}

/// Opens `path` (a path of the examined system) for reading if it is a regular file, or says what
/// it is instead.
pub fn lookup(root: BorrowedFd<'_>, path: &[u8]) -> Lookup {
    match open_in_root(root, path, false) {
        Ok((fd, noatime)) => Lookup::File {
            file: File::from(fd),
            noatime,
        },
        Err(Errno::NOENT) => Lookup::Missing,
        Err(Errno::NOTSUP | Errno::LOOP | Errno::ISDIR | Errno::NXIO | Errno::NOTDIR) => describe(root, path),
        Err(e) => Lookup::Error(e),
    }
}

/// `statx` (and `readlink` for a symlink) of `path` without following its last component.
pub fn describe(root: BorrowedFd<'_>, path: &[u8]) -> Lookup {
    let (parent, name) = split_parent(path);
    let Ok(cname) = CString::new(name) else {
        return Lookup::Error(Errno::INVAL);
    };
    // `parent/.`: the parent itself may be a symlink (`/bin` → `usr/bin`), resolved inside the root.
    let mut parent_dot = parent.to_vec();
    parent_dot.extend_from_slice(b"/.");
    let dir: OwnedFd = match open_in_root(root, &parent_dot, true) {
        Ok((fd, _)) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return Lookup::Missing,
        Err(e) => return Lookup::Error(e),
    };
    match statx_at(&dir, cname.as_c_str()) {
        Ok(meta) => {
            let link = if meta.file_type() == rustix::fs::FileType::Symlink {
                rustix::fs::readlinkat(&dir, cname.as_c_str(), Vec::new())
                    .ok()
                    .map(CString::into_bytes)
            } else {
                None
            };
            Lookup::Other { meta, link }
        }
        Err(Errno::NOENT) => Lookup::Missing,
        Err(e) => Lookup::Error(e),
    }
}

/// `statx` of `path` without following its last component.
pub fn lstat(root: impl AsFd, path: &[u8]) -> Result<FileMeta, Errno> {
    let (parent, name) = split_parent(path);
    let cname = CString::new(name).map_err(|_| Errno::INVAL)?;
    let mut parent_dot = parent.to_vec();
    parent_dot.extend_from_slice(b"/.");
    let (dir, _) = open_in_root(root, &parent_dot, true)?;
    statx_at(&dir, cname.as_c_str())
}

/// `/bin/x` ↔ `/usr/bin/x` (and sbin, lib, lib32, lib64, libx32): the other spelling of a path on a
/// merged-`/usr` system.
pub fn usrmerge_alias(path: &[u8]) -> Option<Vec<u8>> {
    const DIRS: [&[u8]; 6] = [b"/bin/", b"/sbin/", b"/lib/", b"/lib32/", b"/lib64/", b"/libx32/"];
    if let Some(rest) = path.strip_prefix(b"/usr") {
        if DIRS.iter().any(|d| rest.starts_with(d)) {
            return Some(rest.to_vec());
        }
    } else if DIRS.iter().any(|d| path.starts_with(d)) {
        let mut out = b"/usr".to_vec();
        out.extend_from_slice(path);
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parent_and_name() {
        assert_eq!(split_parent(b"/usr/bin/ls"), (&b"/usr/bin"[..], &b"ls"[..]));
        assert_eq!(split_parent(b"/etc"), (&b"/"[..], &b"etc"[..]));
        assert_eq!(usrmerge_alias(b"/bin/ls").as_deref(), Some(&b"/usr/bin/ls"[..]));
        assert_eq!(usrmerge_alias(b"/usr/share/x"), None);
    }
}
