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
//! the copy's SHA-256. What cannot come back is said, not hidden: the ctime (the kernel sets it), the
//! inode number and the birth time.
//!
//! [`account`](crate::account) moves `authorized_keys` aside with the same primitives. Paths of the
//! examined system may be any bytes, so records keep them as text plus a `_b64` companion when they
//! are not UTF-8 (FORMATS.md); paths the responder chose (the root, the store) are plain paths.

use std::ffi::{CString, OsStr};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cordon_core::escape_terminal;
use cordon_host::meta::{FileMeta, FileTime, statx_at, statx_fd};
use cordon_host::open::{file_type_name, open_in_root, open_regular_at, open_root};
use rustix::fs::{AtFlags, FileType, IFlags, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::store::{self, StoredFile};

/// The role of a quarantined file in the store.
pub const ROLE: &str = "quarantined file";

/// What the responder asked to quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRequest {
    /// Files or symbolic links, as the responder wrote them (relative paths are taken from the
    /// current directory).
    pub paths: Vec<PathBuf>,
}

/// A file or symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A symbolic link (moved as a link, never followed).
    Symlink,
}

/// A file found and checked by a plan, still in place.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// How the responder or the configuration named it.
    pub given: Vec<u8>,
    /// The root it is resolved in (`/` for quarantine, `--root` for an account's keys).
    pub root: PathBuf,
    /// Its path inside the root, as that system writes it (directories resolved).
    pub path: Vec<u8>,
    /// File or symbolic link.
    pub kind: FileKind,
    /// `statx` of the file (not followed).
    pub meta: FileMeta,
    /// Inode flags (`FS_IOC_GETFLAGS`) where the filesystem has them.
    pub inode_flags: Option<u32>,
    /// The target of a symbolic link.
    pub link_target: Option<Vec<u8>>,
}

impl PlannedFile {
    /// The path to open here (`root` joined with `path`).
    pub fn local(&self) -> PathBuf {
        local_path(&self.root, &self.path)
    }
}

/// What quarantining will do, to show before applying.
#[derive(Debug, Clone)]
pub struct QuarantinePlan {
    /// The files, in the order given.
    pub files: Vec<PlannedFile>,
    /// Plain-words consequences and warnings.
    pub notes: Vec<String>,
}

/// A point in time as the kernel keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since 1970-01-01 UTC.
    pub sec: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
}

impl From<FileTime> for Timestamp {
    fn from(t: FileTime) -> Self {
        Timestamp {
            sec: t.sec,
            nsec: t.nsec,
        }
    }
}

impl Timestamp {
    fn timespec(self) -> Timespec {
        Timespec {
            tv_sec: self.sec,
            tv_nsec: self.nsec.into(),
        }
    }
}

/// One extended attribute of a moved file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    /// Its name (`security.capability`, `user.x`).
    pub name: String,
    /// The name's bytes when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_b64: Option<String>,
    /// Its value, hex.
    pub value_hex: String,
}

/// A file taken off the host into the store, with everything needed to put it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedFile {
    /// The root its path is resolved in.
    pub root: PathBuf,
    /// Its path inside the root (lossy text).
    pub path: String,
    /// The path's bytes when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    /// File or symbolic link.
    pub kind: FileKind,
    /// The target of a symbolic link (lossy text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// The target's bytes when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target_b64: Option<String>,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hard links it had (other links keep the content on the host).
    pub nlink: u32,
    /// Inode number it had.
    pub ino: u64,
    /// Last access.
    pub atime: Option<Timestamp>,
    /// Last modification.
    pub mtime: Option<Timestamp>,
    /// Last status change (cannot be restored).
    pub ctime: Option<Timestamp>,
    /// Birth, where the filesystem keeps it (cannot be restored).
    pub btime: Option<Timestamp>,
    /// Inode flags as found, where the filesystem has them.
    pub inode_flags: Option<u32>,
    /// Flags cordon cleared to remove it ("immutable", "append-only").
    #[serde(default)]
    pub flags_cleared: Vec<String>,
    /// Extended attributes.
    #[serde(default)]
    pub xattrs: Vec<Xattr>,
    /// The copy in the store (for a symbolic link: a file holding its target).
    pub stored: PathBuf,
    /// SHA-256 of the stored copy, hex.
    pub sha256: String,
    /// Why it was moved (the store role).
    pub role: String,
}

impl MovedFile {
    /// Its path inside the root, as bytes.
    pub fn path_bytes(&self) -> Result<Vec<u8>, Error> {
        raw_bytes(&self.path, self.path_b64.as_deref(), "path")
    }

    /// The path it had here (`root` joined with the path).
    pub fn local(&self) -> PathBuf {
        match self.path_bytes() {
            Ok(p) => local_path(&self.root, &p),
            Err(_) => local_path(&self.root, self.path.as_bytes()),
        }
    }

    /// The store entry.
    pub fn stored_file(&self) -> StoredFile {
        StoredFile {
            original: self.local(),
            stored: self.stored.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
            role: self.role.clone(),
        }
    }
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
        notes.push(
            "each copy in the case is fsynced and its SHA-256 checked before the original is removed; the \
             copy is read-only and not executable"
                .into(),
        );
        notes.push(
            "a process already running from one of these files keeps running: freeze it (cordon contain \
             freeze) before or after"
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

/// Warnings about one planned file (hard links, flags, setuid, symbolic links).
pub(crate) fn file_warnings(f: &PlannedFile) -> Vec<String> {
    let mut out = Vec::new();
    if f.kind == FileKind::File && f.meta.nlink > 1 {
        out.push(format!(
            "WARNING: it has {} other hard link(s): the same content stays on the host under another \
             name (find / -xdev -inum {})",
            f.meta.nlink - 1,
            f.meta.ino
        ));
    }
    let names = protective_flags(f.inode_flags);
    if !names.is_empty() {
        out.push(format!(
            "it has the {} flag (chattr +{}): cordon clears it to remove the file, records that, and sets \
             it again on undo",
            names.join(" and "),
            if names.len() == 2 {
                "ia"
            } else if names.first() == Some(&"immutable") {
                "i"
            } else {
                "a"
            }
        ));
    }
    if f.kind == FileKind::File && f.meta.mode & 0o6000 != 0 {
        out.push("it is setuid or setgid".into());
    }
    if let Some(t) = &f.link_target {
        out.push(format!(
            "it is a symbolic link to {}: the link itself is moved; what it points to stays",
            show(t)
        ));
    }
    out
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

/// Undoes `done` after `e` stopped an apply half-way, and says what happened.
pub(crate) fn roll_back(e: Error, done: &[MovedFile]) -> Error {
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
    let (path, path_b64) = raw_text(&f.path);
    let (link_target, link_target_b64) = match link_target {
        Some(t) => {
            let (t, b) = raw_text(&t);
            (Some(t), b)
        }
        None => (None, None),
    };
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
    use std::os::unix::fs::PermissionsExt as _;
    if let Err(e) = std::fs::set_permissions(&saved.stored, std::fs::Permissions::from_mode(0o400)) {
        discard(saved);
        return Err(Error::io("make read-only", &saved.stored, e));
    }
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
    let (dir, name) = open_parent(&f.root, &path).map_err(|e| match e {
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
    let (dir, name) = open_parent(&f.root, &path).map_err(ParentError::into_error(&local))?;
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

/// Inode flags of an open file, `None` where the filesystem has none (tmpfs, many network ones).
pub(crate) fn flags_of(fd: impl AsFd) -> Option<u32> {
    rustix::fs::ioctl_getflags(fd).ok().map(|f| f.bits())
}

/// "immutable", "append-only" among `bits`.
fn protective_flags(bits: Option<u32>) -> Vec<&'static str> {
    let Some(bits) = bits else { return Vec::new() };
    let f = IFlags::from_bits_retain(bits);
    let mut out = Vec::new();
    if f.contains(IFlags::IMMUTABLE) {
        out.push("immutable");
    }
    if f.contains(IFlags::APPEND) {
        out.push("append-only");
    }
    out
}

/// Every extended attribute of an open file that can be read (unreadable ones are skipped).
pub(crate) fn read_xattrs(fd: impl AsFd) -> Vec<Xattr> {
    let fd = fd.as_fd();
    let Ok(len) = rustix::fs::flistxattr_query(fd) else {
        return Vec::new();
    };
    let mut names = vec![0u8; len];
    let Ok(n) = rustix::fs::flistxattr(fd, names.as_mut_slice()) else {
        return Vec::new();
    };
    names.truncate(n);
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else { continue };
        let Ok(size) = rustix::fs::fgetxattr_query(fd, cname.as_c_str()) else {
            continue;
        };
        let mut value = vec![0u8; size];
        let Ok(got) = rustix::fs::fgetxattr(fd, cname.as_c_str(), value.as_mut_slice()) else {
            continue;
        };
        value.truncate(got);
        let (name, name_b64) = raw_text(name);
        out.push(Xattr {
            name,
            name_b64,
            value_hex: hex::encode(value),
        });
    }
    out
}

/// Sets `xattrs` on an open file; returns a line for each one that could not be set.
pub(crate) fn write_xattrs(fd: impl AsFd, xattrs: &[Xattr], local: &Path) -> Vec<String> {
    let fd = fd.as_fd();
    let mut lines = Vec::new();
    for x in xattrs {
        let set = raw_bytes(&x.name, x.name_b64.as_deref(), "extended attribute name")
            .ok()
            .and_then(|n| CString::new(n).ok())
            .zip(hex::decode(&x.value_hex).ok())
            .ok_or(Errno::INVAL)
            .and_then(|(name, value)| {
                rustix::fs::fsetxattr(fd, name.as_c_str(), &value, rustix::fs::XattrFlags::empty())
            });
        if let Err(e) = set {
            lines.push(format!(
                "  extended attribute {} of {} could not be set again: {e}",
                escape_terminal(x.name.as_bytes()),
                show_local(local)
            ));
        }
    }
    lines
}

pub(crate) enum ParentError {
    /// The directory (or one on the way) does not exist.
    Missing,
    /// Anything else.
    Other(Error),
}

impl ParentError {
    fn into_error(local: &Path) -> impl Fn(ParentError) -> Error + '_ {
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
pub(crate) fn open_parent(root: &Path, path: &[u8]) -> Result<(OwnedFd, CString), ParentError> {
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

/// `root` joined with a path of the examined system.
pub(crate) fn local_path(root: &Path, path: &[u8]) -> PathBuf {
    let mut rel = path;
    while let Some(rest) = rel.strip_prefix(b"/") {
        rel = rest;
    }
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
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

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "file",
        FileKind::Symlink => "symbolic link",
    }
}

/// Bytes of the examined system, escaped for a terminal.
pub(crate) fn show(bytes: &[u8]) -> String {
    escape_terminal(bytes)
}

/// A local path, escaped for a terminal.
pub(crate) fn show_local(p: &Path) -> String {
    escape_terminal(p.as_os_str().as_bytes())
}

/// Lossy text, plus base64 when the bytes are not UTF-8 (the `_b64` companion of FORMATS.md).
pub(crate) fn raw_text(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

/// The bytes behind a [`raw_text`] pair.
pub(crate) fn raw_bytes(text: &str, b64: Option<&str>, what: &str) -> Result<Vec<u8>, Error> {
    match b64 {
        None => Ok(text.as_bytes().to_vec()),
        Some(b) => cordon_core::bytes_json::decode_b64(b)
            .map_err(|e| Error::Unexpected(format!("the record's {what} is not valid base64: {e}"))),
    }
}

/// A read error of `cordon_host` as this crate's error.
pub(crate) fn host_error(e: cordon_host::Error) -> Error {
    match e {
        cordon_host::Error::Io { what, path, source } => Error::Io { what, path, source },
        other @ cordon_host::Error::NotRegular { .. } => Error::Refused(other.to_string()),
        other => Error::Unexpected(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn splits_paths_and_names_store_entries_safely() {
        assert_eq!(split_path(b"/a/b/c"), Some((&b"/a/b"[..], &b"c"[..])));
        assert_eq!(split_path(b"/c"), Some((&b"/"[..], &b"c"[..])));
        assert_eq!(split_path(b"/a/"), None);
        assert_eq!(split_path(b"/a/.."), None);
        assert_eq!(store_name(0, b"/tmp/.x/p\xff y", FileKind::File), "001-p__y");
        assert_eq!(
            store_name(11, b"/tmp/...", FileKind::Symlink),
            "012-file.symlink-target"
        );
        assert_eq!(
            local_path(Path::new("/mnt/r"), b"//etc/x"),
            Path::new("/mnt/r/etc/x")
        );
    }

    #[test]
    fn raw_text_round_trips() {
        for b in [&b"plain"[..], b"\xff\xfe\x1b[2J"] {
            let (t, b64) = raw_text(b);
            assert_eq!(raw_bytes(&t, b64.as_deref(), "x").unwrap(), b);
        }
        assert!(raw_text(b"ok").1.is_none());
    }
}
