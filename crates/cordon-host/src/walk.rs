//! Walking a directory tree of the examined system without changing or trusting it.
//!
//! Every directory is opened relative to its parent's descriptor with `O_NOFOLLOW|O_NOATIME`
//! (listing a directory would otherwise update its atime), every entry is `statx`ed relative to that
//! descriptor without following symlinks. So symlink loops cannot exist for the walker, paths longer
//! than `PATH_MAX` are walked like any other, and a directory swapped for a symlink between `statx`
//! and `open` is refused by the kernel. Mount points are not crossed unless asked, and directories
//! the caller excludes (cordon's own output) are never entered.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::io::Errno;

use crate::meta::{FileMeta, statx_at, statx_fd};
use crate::open::{OpenedDir, open_dir_at, open_in_root};

/// How far and where a walk goes.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Descend into other mounted filesystems (except those in `skip_mounts`).
    pub cross_mounts: bool,
    /// Mount ids never entered, even with `cross_mounts` (pseudo and network filesystems).
    pub skip_mounts: HashSet<u64>,
    /// Directories (`dev` major, minor, inode) never entered nor reported: cordon's own output.
    pub exclude: HashSet<(u32, u32, u64)>,
    /// Deepest level descended to below the start (0 = only the start's own entries); `None` = 4096.
    pub max_depth: Option<usize>,
}

/// One file met by the walk.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Its path as the examined system writes it (raw bytes).
    pub path: &'a [u8],
    /// Its name in its directory.
    pub name: &'a CStr,
    /// Its directory, open: use it with `*_at` calls to reach the entry without resolving a path.
    pub dir: BorrowedFd<'a>,
    /// `statx` of the entry (not followed).
    pub meta: &'a FileMeta,
    /// Levels below the start (the start's own entries are at 0).
    pub depth: usize,
}

/// Why part of the tree was not walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A mount point the walk does not cross.
    MountPoint,
    /// A pseudo or network filesystem.
    SkippedFilesystem,
    /// A directory that is its own ancestor (bind mount loop).
    Loop,
    /// Deeper than `max_depth`.
    TooDeep,
    /// Swapped for something else between `statx` and `open`.
    Changed,
}

impl Skip {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::MountPoint => "mount point not crossed",
            Skip::SkippedFilesystem => "pseudo or network filesystem not walked",
            Skip::Loop => "directory loop (bind mount) not followed",
            Skip::TooDeep => "deeper than the walk's depth limit",
            Skip::Changed => "directory replaced during the walk",
        }
    }
}

/// What the walk reports.
#[derive(Debug)]
pub enum Event<'a> {
    /// A file, directory, symlink or special file.
    Entry(Entry<'a>),
    /// A directory not descended into.
    Skipped {
        /// Its path.
        path: &'a [u8],
        /// Why.
        why: Skip,
    },
    /// A system call failed (the walk continues).
    Error {
        /// The path concerned.
        path: &'a [u8],
        /// What was being done (`open`, `list`, `stat`).
        what: &'static str,
        /// The error.
        errno: Errno,
    },
}

/// What the visitor wants done with a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Go on (descend into a directory).
    Continue,
    /// Do not descend into this directory.
    SkipDir,
    /// End the walk now.
    Stop,
}

/// Summary of a finished walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Entries reported.
    pub entries: u64,
    /// Errors reported.
    pub errors: u64,
    /// Directories listed without `O_NOATIME` (their atime may have changed).
    pub atime_touched_dirs: u64,
}

/// Walks the tree at `start` (a path of the examined system) below `root` (the target's root
/// descriptor). The start itself is not reported, only what is below it.
pub fn walk<Fd: AsFd>(
    root: Fd,
    start: &[u8],
    opts: &WalkOptions,
    visit: &mut dyn FnMut(Event<'_>) -> Visit,
) -> Result<WalkStats, Errno> {
    let (fd, noatime) = open_in_root(root, start, true)?;
    let meta = statx_fd(&fd)?;
    let mut path = start.to_vec();
    while path.len() > 1 && path.ends_with(b"/") {
        path.pop();
    }
    let mut walker = Walker {
        opts,
        visit,
        stats: WalkStats::default(),
        ancestors: vec![(meta.dev, meta.ino)],
        max_depth: opts.max_depth.unwrap_or(4096),
        stopped: false,
    };
    if !noatime {
        walker.stats.atime_touched_dirs += 1;
    }
    if opts.exclude.contains(&(meta.dev.0, meta.dev.1, meta.ino)) {
        return Ok(walker.stats);
    }
    walker.dir(OpenedDir { fd, noatime }, &meta, &mut path, 0);
    Ok(walker.stats)
}

struct Walker<'o, 'v> {
    opts: &'o WalkOptions,
    visit: &'v mut dyn FnMut(Event<'_>) -> Visit,
    stats: WalkStats,
    ancestors: Vec<((u32, u32), u64)>,
    max_depth: usize,
    stopped: bool,
}

impl Walker<'_, '_> {
    fn error(&mut self, path: &[u8], what: &'static str, errno: Errno) {
        self.stats.errors += 1;
        (self.visit)(Event::Error { path, what, errno });
    }

    fn dir(&mut self, dir: OpenedDir, meta: &FileMeta, path: &mut Vec<u8>, depth: usize) {
        let names = match list(&dir) {
            Ok(names) => names,
            Err(e) => {
                self.error(path, "list", e);
                return;
            }
        };
        let base_len = path.len();
        for name in names {
            if self.stopped {
                break;
            }
            path.truncate(base_len);
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(name.to_bytes());
            let child = match statx_at(&dir.fd, name.as_c_str()) {
                Ok(m) => m,
                Err(e) => {
                    // Vanished between listing and stat: normal on a live system, recorded.
                    self.error(path, "stat", e);
                    continue;
                }
            };
            if child.is_dir() && self.opts.exclude.contains(&(child.dev.0, child.dev.1, child.ino)) {
                continue;
            }
            self.stats.entries += 1;
            let verdict = (self.visit)(Event::Entry(Entry {
                path,
                name: &name,
                dir: dir.fd.as_fd(),
                meta: &child,
                depth,
            }));
            if verdict == Visit::Stop {
                self.stopped = true;
                break;
            }
            if !child.is_dir() || verdict == Visit::SkipDir {
                continue;
            }
            if let Some(why) = self.refuse(meta, &child, depth) {
                (self.visit)(Event::Skipped { path, why });
                continue;
            }
            let sub = match open_dir_at(&dir.fd, name.as_c_str()) {
                Ok(d) => d,
                Err(e) => {
                    self.error(path, "open", e);
                    continue;
                }
            };
            match statx_fd(&sub.fd) {
                Ok(now) if now.dev == child.dev && now.ino == child.ino => {}
                Ok(_) => {
                    (self.visit)(Event::Skipped {
                        path,
                        why: Skip::Changed,
                    });
                    continue;
                }
                Err(e) => {
                    self.error(path, "stat", e);
                    continue;
                }
            }
            if !sub.noatime {
                self.stats.atime_touched_dirs += 1;
            }
            self.ancestors.push((child.dev, child.ino));
            self.dir(sub, &child, path, depth + 1);
            self.ancestors.pop();
        }
        path.truncate(base_len);
    }

    fn refuse(&self, parent: &FileMeta, child: &FileMeta, depth: usize) -> Option<Skip> {
        let other_mount = match (parent.mnt_id, child.mnt_id) {
            (Some(a), Some(b)) => a != b,
            _ => parent.dev != child.dev,
        };
        if other_mount {
            if !self.opts.cross_mounts {
                return Some(Skip::MountPoint);
            }
            if child.mnt_id.is_some_and(|id| self.opts.skip_mounts.contains(&id)) {
                return Some(Skip::SkippedFilesystem);
            }
        }
        if self.ancestors.contains(&(child.dev, child.ino)) {
            return Some(Skip::Loop);
        }
        if depth + 1 > self.max_depth {
            return Some(Skip::TooDeep);
        }
        None
    }
}

/// The names in a directory (without `.` and `..`), sorted bytewise.
fn list(dir: &OpenedDir) -> Result<Vec<CString>, Errno> {
    let dup = rustix::io::dup(&dir.fd)?;
    // `dup` shares the open file description, so O_NOATIME carries over.
    let mut reader = rustix::fs::Dir::new(dup)?;
    let mut names = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        names.push(name.to_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::open_root;

    #[test]
    fn walks_without_following_links_and_reports_deep_paths() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::write(base.join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("..", base.join("a/b/loop")).unwrap();
        std::os::unix::fs::symlink("/", base.join("a/root")).unwrap();
        let mut deep = base.join("d");
        for _ in 0..20 {
            deep.push("x".repeat(250));
        }
        // create_dir_all would hit ENAMETOOLONG past PATH_MAX; go one level at a time.
        let mut cur =
            rustix::fs::open(base, rustix::fs::OFlags::DIRECTORY, rustix::fs::Mode::empty()).unwrap();
        for name in std::iter::once("d".to_owned()).chain((0..20).map(|_| "x".repeat(250))) {
            rustix::fs::mkdirat(&cur, name.as_str(), rustix::fs::Mode::from_raw_mode(0o755)).unwrap();
            cur = rustix::fs::openat(
                &cur,
                name.as_str(),
                rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
        }
        let root = open_root(base).unwrap();
        let mut seen = Vec::new();
        let stats = walk(&root.fd, b"/", &WalkOptions::default(), &mut |ev| {
            if let Event::Entry(e) = ev {
                seen.push(e.path.to_vec());
            }
            Visit::Continue
        })
        .unwrap();
        assert_eq!(stats.errors, 0);
        assert!(seen.contains(&b"/a/b/f".to_vec()));
        assert!(seen.contains(&b"/a/b/loop".to_vec()));
        let longest = seen.iter().map(Vec::len).max().unwrap();
        assert!(longest > 5000, "{longest}");
        // 4 entries under a (b, f, loop, root) + d + 20 levels.
        assert_eq!(seen.len(), 1 + 4 + 1 + 20);
    }
}
