//! What every check reads through: the examined system's files, its package database, its accounts,
//! and the notes that say what could not be read.

use cordon_host::accounts::{PasswdEntry, parse_passwd};
use cordon_host::dpkg::PackageDb;
use cordon_host::meta::FileMeta;

use crate::fs::{Content, RootFs};

/// Largest configuration file read by a check.
pub const CONFIG_CAP: u64 = 4 * 1024 * 1024;

/// The hunt's view of the examined system.
pub struct Ctx {
    /// Its files.
    pub fs: RootFs,
    /// Its package database (empty when it has none).
    pub pkgs: PackageDb,
    /// Its accounts (`/etc/passwd`).
    pub users: Vec<PasswdEntry>,
    /// Name used in findings' `target`.
    pub target_label: String,
    /// What could not be read or checked, for the report.
    pub notes: Vec<String>,
}

impl Ctx {
    /// Reads the package database and accounts of `fs`.
    pub fn new(fs: RootFs, target_label: String) -> Ctx {
        let pkgs = PackageDb::load(fs.root_fd());
        let mut notes: Vec<String> = pkgs.problems.iter().take(20).cloned().collect();
        if !pkgs.present {
            notes.push(
                "no dpkg database: package ownership is unknown, so every launch point counts as unowned"
                    .into(),
            );
        }
        let mut ctx = Ctx {
            fs,
            pkgs,
            users: Vec::new(),
            target_label,
            notes,
        };
        if let Some(c) = ctx.read(b"/etc/passwd") {
            ctx.users = parse_passwd(&c.bytes).0;
        }
        ctx
    }

    /// Reads a file (capped at [`CONFIG_CAP`]); a failure other than "does not exist" becomes a note.
    pub fn read(&mut self, path: &[u8]) -> Option<Content> {
        match self.fs.read(path, CONFIG_CAP) {
            Ok(Some(c)) => {
                if c.truncated {
                    self.note(
                        path,
                        &format!("larger than {CONFIG_CAP} bytes; only the start was checked"),
                    );
                }
                Some(c)
            }
            Ok(None) => None,
            Err(rustix::io::Errno::NOTSUP) => {
                self.note(path, "is not a regular file (FIFO, socket or device); not opened");
                None
            }
            Err(e) => {
                self.note(path, &format!("could not be read: {e}"));
                None
            }
        }
    }

    /// Lists a directory; failures become notes.
    pub fn list(&mut self, dir: &[u8]) -> Vec<(Vec<u8>, FileMeta)> {
        match self.fs.list(dir) {
            Ok(v) => v,
            Err(e) => {
                self.note(dir, &format!("could not be listed: {e}"));
                Vec::new()
            }
        }
    }

    /// Regular files and symlinks directly in `dir`, as full paths, sorted.
    pub fn files_in(&mut self, dir: &[u8]) -> Vec<Vec<u8>> {
        self.list(dir)
            .into_iter()
            .filter(|(_, m)| m.is_file() || m.file_type() == rustix::fs::FileType::Symlink)
            .map(|(name, _)| crate::fs::join(dir, &name))
            .collect()
    }

    /// The package that installed `path`.
    pub fn owner(&self, path: &[u8]) -> Option<String> {
        self.pkgs.owner(path).map(str::to_owned)
    }

    /// True when `dir` is a symlink (merged `/usr`: `/lib` → `/usr/lib`), to avoid reading it twice.
    pub fn is_symlink(&self, dir: &[u8]) -> bool {
        matches!(self.fs.meta(dir), Ok(Some(m)) if m.file_type() == rustix::fs::FileType::Symlink)
    }

    /// Records something that could not be read or checked.
    pub fn note(&mut self, path: &[u8], what: &str) {
        if self.notes.len() < 500 {
            self.notes
                .push(format!("{}: {what}", cordon_core::escape_terminal(path)));
        }
    }

    /// Home directories of accounts (deduplicated, existing ones only are read later).
    pub fn homes(&self) -> Vec<(Vec<u8>, u32, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, u32, Vec<u8>)> = Vec::new();
        for u in &self.users {
            if u.home.starts_with(b"/")
                && u.home != b"/"
                && u.home != b"/nonexistent"
                && !out.iter().any(|(_, _, h)| h == &u.home)
            {
                out.push((u.name.clone(), u.uid, u.home.clone()));
            }
        }
        out
    }
}
