//! Reading the examined system by its own paths, safely.
//!
//! Every path is resolved inside the examined root (`openat2` with `RESOLVE_IN_ROOT` via
//! `cordon_host::open::open_in_root`), so an absolute symlink in a mounted image points into the image,
//! never at the responder's own `/etc`. A symlink as the last component is followed by reading it and
//! resolving its target inside the root, at most [`MAX_HOPS`] times. Files are read capped.

use std::ffi::CString;
use std::io::Read as _;
use std::os::fd::OwnedFd;

use cordon_host::Target;
use cordon_host::meta::{FileMeta, statx_at};
use cordon_host::open::{open_in_root, open_root};
use rustix::io::Errno;

use crate::Error;

/// Symlinks followed, at most, to reach a file.
pub const MAX_HOPS: usize = 8;

/// A file's content, capped.
#[derive(Debug, Clone)]
pub struct Content {
    /// Up to the cap.
    pub bytes: Vec<u8>,
    /// True when the file was longer.
    pub truncated: bool,
    /// The path finally read (after symlinks).
    pub path: Vec<u8>,
}

/// The examined system's files.
#[derive(Debug)]
pub struct RootFs {
    root: OwnedFd,
    /// Which system.
    pub target: Target,
}

impl RootFs {
    /// Opens the target's root.
    pub fn open(target: &Target) -> Result<RootFs, Error> {
        let dir = open_root(target.root()).map_err(|source| Error::Root {
            path: target.root().to_owned(),
            source,
        })?;
        Ok(RootFs {
            root: dir.fd,
            target: target.clone(),
        })
    }

    /// The root descriptor (for `cordon_host::walk` and the package database).
    pub fn root_fd(&self) -> &OwnedFd {
        &self.root
    }

    /// Reads a regular file at most `cap` bytes, following symlinks inside the root.
    /// `Ok(None)` when it does not exist.
    pub fn read(&self, path: &[u8], cap: u64) -> Result<Option<Content>, Errno> {
        let mut path = path.to_vec();
        for _ in 0..=MAX_HOPS {
            match open_in_root(&self.root, &path, false) {
                Ok((fd, _)) => {
                    let mut bytes = Vec::new();
                    std::fs::File::from(fd)
                        .take(cap.saturating_add(1))
                        .read_to_end(&mut bytes)
                        .map_err(|e| e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error))?;
                    let truncated = bytes.len() as u64 > cap;
                    bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
                    return Ok(Some(Content {
                        bytes,
                        truncated,
                        path,
                    }));
                }
                Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
                Err(Errno::LOOP) => match self.readlink(&path)? {
                    Some(next) => path = next,
                    None => return Err(Errno::LOOP),
                },
                Err(e) => return Err(e),
            }
        }
        Err(Errno::LOOP)
    }

    /// Where the symlink at `path` points, as an absolute path of the examined system.
    pub fn readlink(&self, path: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
        let (parent, name) = split_parent(path);
        let (dir, _) = match open_in_root(&self.root, parent, true) {
            Ok(d) => d,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let name = CString::new(name).map_err(|_| Errno::INVAL)?;
        let target = match rustix::fs::readlinkat(&dir, name.as_c_str(), Vec::new()) {
            Ok(t) => t.into_bytes(),
            Err(Errno::INVAL) | Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(if target.starts_with(b"/") {
            target
        } else {
            join(parent, &target)
        }))
    }

    /// `statx` of `path` without following a final symlink; `Ok(None)` when it does not exist.
    pub fn meta(&self, path: &[u8]) -> Result<Option<FileMeta>, Errno> {
        let (parent, name) = split_parent(path);
        if name.is_empty() {
            let (dir, _) = open_in_root(&self.root, b"/", true)?;
            return cordon_host::meta::statx_fd(&dir).map(Some);
        }
        let (dir, _) = match open_in_root(&self.root, parent, true) {
            Ok(d) => d,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(e),
        };
        let name = CString::new(name).map_err(|_| Errno::INVAL)?;
        match statx_at(&dir, name.as_c_str()) {
            Ok(m) => Ok(Some(m)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The entries of a directory (not `.`/`..`), sorted by name, with their `statx` (not followed).
    /// `Ok(empty)` when the directory does not exist.
    pub fn list(&self, dir: &[u8]) -> Result<Vec<(Vec<u8>, FileMeta)>, Errno> {
        let fd = match open_in_root(&self.root, dir, true) {
            Ok((fd, _)) => fd,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut reader = rustix::fs::Dir::read_from(&fd)?;
        while let Some(entry) = reader.read() {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            if let Ok(meta) = statx_at(&fd, name) {
                out.push((name.to_bytes().to_vec(), meta));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// `dir` + `/` + `name`.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = dir.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", trimmed.get(1..).unwrap_or_default()),
        Some(i) => (
            trimmed.get(..i).unwrap_or_default(),
            trimmed.get(i + 1..).unwrap_or_default(),
        ),
        None => (b"/", trimmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_symlinks_resolve_inside_the_root_not_on_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/real"), b"inside").unwrap();
        // Points at the host's /etc/passwd if resolved naively.
        std::os::unix::fs::symlink("/etc/passwd", root.join("etc/escape")).unwrap();
        std::os::unix::fs::symlink("/etc/real", root.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("etc/loop")).unwrap();
        let fs = RootFs::open(&Target::offline(root)).unwrap();
        assert_eq!(fs.read(b"/etc/link", 100).unwrap().unwrap().bytes, b"inside");
        assert!(
            fs.read(b"/etc/escape", 100).unwrap().is_none(),
            "must not read the host's /etc/passwd"
        );
        assert_eq!(fs.read(b"/etc/loop", 100).unwrap_err(), Errno::LOOP);
        assert!(fs.read(b"/nope/x", 100).unwrap().is_none());
        let c = fs.read(b"/etc/real", 3).unwrap().unwrap();
        assert_eq!((c.bytes.as_slice(), c.truncated), (&b"ins"[..], true));
        let names: Vec<_> = fs.list(b"/etc").unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                b"escape".to_vec(),
                b"link".to_vec(),
                b"loop".to_vec(),
                b"real".to_vec()
            ]
        );
        assert_eq!(split_parent(b"/etc/cron.d/x"), (&b"/etc/cron.d"[..], &b"x"[..]));
        assert_eq!(split_parent(b"/x"), (&b"/"[..], &b"x"[..]));
    }
}
