//! Quarantine: move a file an attacker left behind into the case, and put it back byte-identical.
//!
//! Deleting a dropper destroys evidence; leaving it lets it run again. Moving it into the case keeps
//! both the bytes (hashed while copied, `fsync`ed and hashed again before the original goes) and the
//! metadata a timeline needs: mode, owner, access and modification times to the nanosecond, inode
//! flags and extended attributes (file capabilities, ACLs, SELinux labels). The copy in the case is
//! read-only and not executable, so nothing runnable is left behind.
//!
//! Files are reached through descriptors, never by re-walking a path: the directory is opened once
//! (symbolic links resolved inside the root with `RESOLVE_IN_ROOT`), the file with `O_NOFOLLOW`, and
//! the name is unlinked only if it still names the inode that was copied. A symbolic link is moved as
//! a link (what is stored is its target), never followed. Attackers set the immutable or append-only
//! flag (`chattr +i`) so that root's `rm` fails; cordon clears it, records that, and sets it again on
//! undo.
//!
//! Undo recreates each file with `O_EXCL`, never over something that appeared since, after checking
//! the copy's SHA-256, and only in the directory it was taken from: a directory swapped for a
//! symbolic link since (which would let the attacker choose where root writes their file) is refused. What cannot come back is said, not hidden: the ctime (the kernel sets it), the
//! inode number and the birth time.
//!
//! [`account`](crate::account) moves `authorized_keys` aside with the same primitives. Paths of the
//! examined system may be any bytes, so records keep them as text plus a `_b64` companion when they
//! are not UTF-8 (FORMATS.md); paths the responder chose (the root, the store) are plain paths.
//!
//! The parts: `file` (a planned and a moved file, the shape journals keep), `meta` (times, inode
//! flags and extended attributes), `lookup` (reaching a path through descriptors), `take` (the move
//! into the store) and `restore` (the put-back, and the roll-back of a half-done apply).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::examined::show;
use crate::store::StoredFile;

mod file;
mod lookup;
mod meta;
mod restore;
mod take;

use self::file::kind_name;
use self::restore::roll_back;

pub(crate) use self::file::file_warnings;
pub use self::file::{DirId, FileKind, MovedFile, PlannedFile};
pub(crate) use self::lookup::{Found, inspect, linked_dir};
pub use self::meta::{Timestamp, Xattr};
pub(crate) use self::meta::{flags_of, read_xattrs, write_xattrs};
pub(crate) use self::restore::{check_put_back, partial, put_back};
pub(crate) use self::take::{make_read_only, move_aside, store_name};

/// The role of a quarantined file in the store.
pub const ROLE: &str = "quarantined file";

/// What the responder asked to quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRequest {
    /// Files or symbolic links, as the responder wrote them (relative paths are taken from the
    /// current directory).
    pub paths: Vec<PathBuf>,
}

/// What quarantining will do, to show before applying.
#[derive(Debug, Clone)]
pub struct QuarantinePlan {
    /// The files, in the order given.
    pub files: Vec<PlannedFile>,
    /// Plain-words consequences and warnings.
    pub notes: Vec<String>,
}

/// What quarantining did; enough to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The files moved, in order.
    pub files: Vec<MovedFile>,
}

impl QuarantineRequest {
    /// Checks every path and builds the plan: each must exist and be a regular file or a symbolic
    /// link (directories, devices, FIFOs and sockets are refused). Nothing is changed.
    pub fn plan(&self) -> Result<QuarantinePlan, Error> {
        if self.paths.is_empty() {
            return Err(Error::Refused("no file to quarantine was given".into()));
        }
        let mut files: Vec<PlannedFile> = Vec::new();
        let mut notes = Vec::new();
        for given in &self.paths {
            let planned = plan_one(given)?;
            let same = files
                .iter()
                .find(|f| (f.meta.dev, f.meta.ino) == (planned.meta.dev, planned.meta.ino));
            if let Some(first) = same {
                notes.push(format!(
                    "{} is the same file as {}: moved once",
                    show(given.as_os_str().as_bytes()),
                    show(&first.given)
                ));
                continue;
            }
            files.push(planned);
        }
        // A file the package manager installed is part of the system: moving a trojaned `sshd` or
        // libc away without reinstalling its package can break the host (or the responder's login).
        let root = files
            .first()
            .map(|f| f.root.clone())
            .unwrap_or_else(|| PathBuf::from("/"));
        if let Ok(dir) = cordon_host::open::open_root(&root) {
            let db = cordon_host::dpkg::PackageDb::load(&dir.fd);
            for f in &files {
                if let Some(pkg) = db.owner(&f.path) {
                    notes.push(format!(
                        "WARNING: {} belongs to the installed package {}: the system may need it. If the \
                         attacker replaced it, reinstall the package from a trusted source (check with \
                         `cordon verify packages`) rather than leave it missing",
                        show(&f.path),
                        show(pkg.as_bytes())
                    ));
                }
            }
        }
        notes.push(
            "each copy in the case is fsynced and its SHA-256 checked before the original is removed; the \
             copy is read-only and not executable"
                .into(),
        );
        notes.push(
            "a process already running from one of these files keeps running: freeze it (cordon contain \
             process PID) before or after"
                .into(),
        );
        notes.push("the modification time of each containing directory changes".into());
        notes.push(
            "undo puts each file back byte-identical with its mode, owner, access and modification times, \
             flags and extended attributes; its ctime and inode number will be new"
                .into(),
        );
        Ok(QuarantinePlan { files, notes })
    }
}

fn plan_one(given: &Path) -> Result<PlannedFile, Error> {
    let shown = show(given.as_os_str().as_bytes());
    let Some(name) = given.file_name() else {
        return Err(Error::Refused(format!("{shown} does not name a file")));
    };
    let parent = match given.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(parent).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Refused(format!("{shown}: no such file or directory"))
        } else {
            Error::io("resolve the directory of", given, e)
        }
    })?;
    let mut inner = dir.as_os_str().as_bytes().to_vec();
    if inner != b"/" {
        inner.push(b'/');
    }
    inner.extend_from_slice(name.as_bytes());
    for pseudo in [&b"/proc/"[..], b"/sys/"] {
        if inner.starts_with(pseudo) {
            return Err(Error::Refused(format!(
                "{shown} is in a kernel file system ({}), not a file on disk",
                String::from_utf8_lossy(pseudo.get(..pseudo.len() - 1).unwrap_or(pseudo))
            )));
        }
    }
    match inspect(Path::new("/"), &inner, given.as_os_str().as_bytes())? {
        Found::Absent => Err(Error::Refused(format!("{shown}: no such file"))),
        Found::Other(kind) => {
            let hint = if kind == "directory" {
                ": cordon never moves a whole directory; name the files inside it"
            } else {
                ": only regular files and symbolic links can be quarantined"
            };
            Err(Error::Refused(format!("{shown} is a {kind}{hint}")))
        }
        Found::File(p) => Ok(*p),
    }
}

impl QuarantinePlan {
    /// What applying will do, in plain words (file names escaped for a terminal).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.files {
            out.push(format!(
                "move {} into the case ({}, {} bytes, {}, owner {}:{})",
                show(&f.path),
                kind_name(f.kind),
                f.meta.size,
                f.meta.mode_string(),
                f.meta.uid,
                f.meta.gid
            ));
            if f.given != f.path && !f.given.is_empty() {
                out.push(format!(
                    "  (given as {}: a directory on the way is a symbolic link or the path was relative)",
                    show(&f.given)
                ));
            }
            out.extend(file_warnings(f).into_iter().map(|w| format!("  {w}")));
        }
        out.extend(self.notes.iter().cloned());
        out
    }

    /// Moves every file into `store` (this action's store directory). If one fails, those already
    /// moved are put back and the error says so: either all are quarantined or none.
    pub fn apply(&self, store: &Path) -> Result<QuarantineRecord, Error> {
        let mut record = QuarantineRecord { files: Vec::new() };
        for (i, f) in self.files.iter().enumerate() {
            let name = store_name(i, &f.path, f.kind);
            match move_aside(f, store, &name, ROLE) {
                Ok(moved) => record.files.push(moved),
                Err(e) => return Err(roll_back(e, &record.files)),
            }
        }
        Ok(record)
    }
}

impl QuarantineRecord {
    /// The files saved in the store.
    pub fn files(&self) -> Vec<StoredFile> {
        self.files.iter().map(MovedFile::stored_file).collect()
    }

    /// Puts every file back where it was, byte-identical, with its metadata. Checks all of them
    /// first (copy intact, nothing at the original path now) and refuses before changing anything if
    /// one fails. Returns what was done, in plain words.
    pub fn undo(&self) -> Result<Vec<String>, Error> {
        for f in &self.files {
            check_put_back(f)?;
        }
        let mut lines = Vec::new();
        for f in self.files.iter().rev() {
            match put_back(f) {
                Ok(mut l) => lines.append(&mut l),
                Err(e) => return Err(partial(e, &lines)),
            }
        }
        Ok(lines)
    }
}
