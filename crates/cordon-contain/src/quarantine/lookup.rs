//! Reaching a file of the examined system without being led elsewhere. The directory is opened
//! once, symbolic links on the way resolved inside the root (`RESOLVE_IN_ROOT`); the file itself is
//! never followed and nothing is changed by looking (`O_NOATIME`). Plans use this to look, and apply
//! and undo to act on the very directory they checked.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use cordon_host::meta::{statx_at, statx_fd};
use cordon_host::open::{file_type_name, open_in_root, open_regular_at, open_root};
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::file::{DirId, FileKind, PlannedFile};
use super::meta::flags_of;
use crate::Error;
use crate::examined::{host_error, local_path, show, show_local};

/// What is at a path.
pub(crate) enum Found {
    /// Nothing (or its directory does not exist).
    Absent,
    /// Something that is neither a regular file nor a symbolic link (its type name).
    Other(&'static str),
    /// A file or symbolic link.
    File(Box<PlannedFile>),
}

/// Looks at `path` inside `root` without following a final symbolic link and without changing
/// anything (`O_NOATIME` opens).
pub(crate) fn inspect(root: &Path, path: &[u8], given: &[u8]) -> Result<Found, Error> {
    let local = local_path(root, path);
    let (dir, name) = match open_parent(root, path) {
        Ok(x) => x,
        Err(ParentError::Missing) => return Ok(Found::Absent),
        Err(ParentError::Other(e)) => return Err(e),
    };
    let meta = match statx_at(&dir, name.as_c_str()) {
        Ok(m) => m,
        Err(Errno::NOENT) => return Ok(Found::Absent),
        Err(e) => return Err(Error::io("stat", &local, e.into())),
    };
    let (kind, inode_flags, link_target) = match meta.file_type() {
        FileType::RegularFile => {
            let opened =
                open_regular_at(&dir, name.as_c_str()).map_err(|e| Error::io("open", &local, e.into()))?;
            let now = statx_fd(&opened.file).map_err(|e| Error::io("stat", &local, e.into()))?;
            if (now.dev, now.ino) != (meta.dev, meta.ino) {
                return Err(Error::Unexpected(format!(
                    "{} changed while being looked at",
                    show_local(&local)
                )));
            }
            (FileKind::File, flags_of(&opened.file), None)
        }
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(&dir, name.as_c_str(), Vec::new())
                .map_err(|e| Error::io("read the link", &local, e.into()))?;
            (FileKind::Symlink, None, Some(target.into_bytes()))
        }
        other => return Ok(Found::Other(file_type_name(other))),
    };
    Ok(Found::File(Box::new(PlannedFile {
        given: given.to_vec(),
        root: root.to_path_buf(),
        path: path.to_vec(),
        kind,
        meta,
        inode_flags,
        link_target,
    })))
}

/// Why the directory of a path could not be opened.
pub(super) enum ParentError {
    /// The directory (or one on the way) does not exist.
    Missing,
    /// Anything else.
    Other(Error),
}

impl ParentError {
    pub(super) fn into_error(local: &Path) -> impl Fn(ParentError) -> Error + '_ {
        move |e| match e {
            ParentError::Missing => {
                Error::Unexpected(format!("the directory of {} no longer exists", show_local(local)))
            }
            ParentError::Other(e) => e,
        }
    }
}

/// Opens the directory holding `path` (a path inside `root`), resolving symbolic links on the way
/// inside the root, and returns it with the last component.
pub(super) fn open_parent(root: &Path, path: &[u8]) -> Result<(OwnedFd, CString), ParentError> {
    let local = local_path(root, path);
    let (parent, name) = split_path(path)
        .ok_or_else(|| ParentError::Other(Error::Refused(format!("{} does not name a file", show(path)))))?;
    let name = CString::new(name)
        .map_err(|_| ParentError::Other(Error::Refused(format!("{} holds a NUL byte", show(path)))))?;
    let root_dir = open_root(root).map_err(|e| ParentError::Other(host_error(e)))?;
    // "/." makes the last directory a link may name resolve too (inside the root).
    let mut dir_path = parent.to_vec();
    dir_path.extend_from_slice(b"/.");
    match open_in_root(&root_dir.fd, &dir_path, true) {
        Ok((fd, _)) => Ok((fd, name)),
        Err(Errno::NOENT | Errno::NOTDIR) => Err(ParentError::Missing),
        Err(e) => Err(ParentError::Other(Error::io(
            "open the directory of",
            local,
            e.into(),
        ))),
    }
}

/// Opens the directory a file is to be put back into. Undo runs as root and the directory may be the
/// attacker's: swapped for a symbolic link, it would have cordon recreate their file wherever the
/// link points (`/etc`). So the directory is taken only when the path reaches it without any symbolic
/// link (a directory recreated in the same place included), or when it is the very directory the
/// file was taken from (`recorded`), for a path that went through a link already then.
pub(super) fn open_parent_to_restore(
    root: &Path,
    path: &[u8],
    recorded: Option<DirId>,
) -> Result<(OwnedFd, CString), ParentError> {
    let local = local_path(root, path);
    let (dir, name) = open_parent(root, path)?;
    let here = statx_fd(&dir)
        .map_err(|e| ParentError::Other(Error::io("stat the directory of", &local, e.into())))?;
    if recorded == Some(DirId::from(&here)) {
        return Ok((dir, name));
    }
    let plain = open_parent_without_links(root, path).and_then(|fd| statx_fd(&fd).ok());
    if plain.is_some_and(|p| (p.dev, p.ino) == (here.dev, here.ino)) {
        return Ok((dir, name));
    }
    Err(ParentError::Other(Error::Refused(format!(
        "the way to {} now leads through a symbolic link to another directory than the one it was taken \
         from (replaced since?): nothing was put back there; put the directory back, then undo again",
        show_local(&local)
    ))))
}

/// Where the directory holding `path` really is, when that is not where the path says: a symbolic
/// link on the way leads elsewhere (`None` when it does not, or when that cannot be read).
pub(crate) fn linked_dir(root: &Path, path: &[u8]) -> Option<PathBuf> {
    let (parent, _) = split_path(path)?;
    let (dir, _) = open_parent(root, path).ok()?;
    let real = rustix::fs::readlink(format!("/proc/self/fd/{}", dir.as_raw_fd()), Vec::new()).ok()?;
    let real = PathBuf::from(OsStr::from_bytes(real.as_bytes()));
    (real != local_path(root, parent)).then_some(real)
}

/// The directory holding `path`, reached without following any symbolic link (`None` when one is
/// on the way, or the kernel has no `openat2`).
fn open_parent_without_links(root: &Path, path: &[u8]) -> Option<OwnedFd> {
    let (parent, _) = split_path(path)?;
    let root_dir = open_root(root).ok()?;
    let mut rel = parent;
    while let Some(rest) = rel.strip_prefix(b"/") {
        rel = rest;
    }
    let mut dir_path = if rel.is_empty() {
        b".".to_vec()
    } else {
        rel.to_vec()
    };
    dir_path.extend_from_slice(b"/.");
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    rustix::fs::openat2(
        &root_dir.fd,
        dir_path.as_slice(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
        resolve,
    )
    .ok()
}

/// `/a/b/c` → (`/a/b`, `c`); `/c` → (`/`, `c`). `None` when there is no usable last component.
fn split_path(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let slash = path.iter().rposition(|&b| b == b'/')?;
    let parent = path.get(..slash)?;
    let name = path.get(slash + 1..)?;
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    Some((if parent.is_empty() { b"/" } else { parent }, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        assert_eq!(split_path(b"/a/b/c"), Some((&b"/a/b"[..], &b"c"[..])));
        assert_eq!(split_path(b"/c"), Some((&b"/"[..], &b"c"[..])));
        assert_eq!(split_path(b"/a/"), None);
        assert_eq!(split_path(b"/a/.."), None);
    }
}
