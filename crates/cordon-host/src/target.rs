//! The system being examined: the live host (`/` and its `/proc`), or a tree mounted elsewhere.
//!
//! Every reader takes a [`Target`]. Paths of the examined system are written as that system sees them
//! (`/etc/passwd`); [`Target::path`] turns them into the path to open here (`/mnt/web01/etc/passwd`).
//! Live-only sources (processes, sockets, kernel state) check [`Target::is_live`] and are skipped, with
//! a note, on an offline tree.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// A system to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    root: PathBuf,
    live: bool,
}

impl Target {
    /// The running host: root `/`, live sources (`/proc`, `/sys`) available.
    pub fn live() -> Self {
        Target {
            root: PathBuf::from("/"),
            live: true,
        }
    }

    /// A tree mounted at `root` (a disk image, a backup): only file sources are read.
    pub fn offline(root: impl Into<PathBuf>) -> Self {
        Target {
            root: root.into(),
            live: false,
        }
    }

    /// The directory that is `/` of the examined system.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True for the running host, whose `/proc` and `/sys` describe it.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The local path of `path`, a path as the examined system writes it (leading `/` optional).
    pub fn path(&self, path: impl AsRef<[u8]>) -> PathBuf {
        let rel = trim_leading_slashes(path.as_ref());
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(OsStr::from_bytes(rel))
        }
    }

    /// The path as the examined system writes it, for a local path under [`Target::root`].
    pub fn inner_path(&self, local: &Path) -> Vec<u8> {
        match local.strip_prefix(&self.root) {
            Ok(rel) => {
                let mut out = b"/".to_vec();
                out.extend_from_slice(rel.as_os_str().as_bytes());
                out
            }
            Err(_) => local.as_os_str().as_bytes().to_vec(),
        }
    }

    /// A short label for reports: `live` or the root directory.
    pub fn label(&self) -> String {
        if self.live {
            "live".to_owned()
        } else {
            self.root.display().to_string()
        }
    }
}

fn trim_leading_slashes(mut p: &[u8]) -> &[u8] {
    while let Some(rest) = p.strip_prefix(b"/") {
        p = rest;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_inner_paths_under_the_root_and_back() {
        let t = Target::offline("/mnt/img");
        assert_eq!(t.path("/etc/passwd"), Path::new("/mnt/img/etc/passwd"));
        assert_eq!(t.path("//etc"), Path::new("/mnt/img/etc"));
        assert_eq!(t.path("/"), Path::new("/mnt/img"));
        assert_eq!(t.inner_path(Path::new("/mnt/img/var/log")), b"/var/log");
        let live = Target::live();
        assert_eq!(live.path("/proc/1/stat"), Path::new("/proc/1/stat"));
        assert_eq!(live.inner_path(Path::new("/etc")), b"/etc");
        assert!(live.is_live() && !t.is_live());
    }
}
