//! One file as containment handles it: found and checked by a plan ([`PlannedFile`]), then taken
//! into the store ([`MovedFile`]). A `MovedFile` is what case journals keep and what undo reads back,
//! so its shape does not change: paths of the examined system as text with a `_b64` companion,
//! times to the nanosecond, inode flags and extended attributes as found.

use std::path::PathBuf;

use cordon_host::meta::FileMeta;
use serde::{Deserialize, Serialize};

use super::meta::{Timestamp, Xattr, protective_flags};
use crate::Error;
use crate::examined::{local_path, raw_bytes, show};
use crate::store::StoredFile;

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
    /// Device (major, minor) and inode of the directory it was taken from: undo puts it back only
    /// into that directory, or through a path without symbolic links (absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir_id: Option<DirId>,
    /// The copy in the store (for a symbolic link: a file holding its target).
    pub stored: PathBuf,
    /// SHA-256 of the stored copy, hex.
    pub sha256: String,
    /// Why it was moved (the store role).
    pub role: String,
}

/// Which directory a file was taken from: device (major, minor) and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirId {
    /// Device of its filesystem (major, minor).
    pub dev: (u32, u32),
    /// Its inode number.
    pub ino: u64,
}

impl From<&FileMeta> for DirId {
    fn from(m: &FileMeta) -> Self {
        DirId {
            dev: m.dev,
            ino: m.ino,
        }
    }
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

pub(super) fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "file",
        FileKind::Symlink => "symbolic link",
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
