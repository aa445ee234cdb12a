//! Locking an account the attacker uses, so that they cannot log in as it again — reversibly.
//!
//! Three things keep an account usable to an attacker, and each is handled:
//! 1. **The password** — locked as `usermod -L` does (a `!` before the hash in `shadow`), and the
//!    account **expired** as `usermod --expiredate 1` does (field 8 = 1). The expiry matters more: PAM
//!    and sshd refuse an expired account even with a valid SSH key, which `!` alone does not stop.
//! 2. **SSH keys** — `~/.ssh/authorized_keys`, `authorized_keys2` and whatever a top-level
//!    `AuthorizedKeysFile` of `sshd_config` names are moved into the case (not deleted), with their
//!    metadata, through the same primitives as [`quarantine`](crate::quarantine). A key file that is
//!    also another account's (a shared home, `%U` of a second uid 0, a name without a token) stays:
//!    moving it would lock that account out too, and the expiry already covers this one.
//! 3. **Running sessions** — on the live host only, and only when asked: every process whose audit
//!    login uid is the account's is recorded, stopped, then killed. cordon itself and its ancestors are
//!    never touched (the responder may have `su`'d to that user).
//!
//! `shadow` is edited the way `shadow-utils` does it: under the `lckpwdf` lock (`/etc/.pwd.lock`), a
//! full copy into the case first, then a temporary file in the same directory with the same owner,
//! mode and extended attributes (the SELinux label), `fsync`, `rename` over the original, `fsync` of
//! the directory. Only the account's line changes; every other byte stays as it was, hostile or not.
//! cordon reads `passwd` and `shadow` itself and never asks NSS (whose modules an attacker may own).
//!
//! Undo puts back exactly the original line — and refuses if the line is no longer the one cordon
//! wrote, rather than overwrite a later change — and each key file byte-identical with its mode,
//! owner and times. Killed processes cannot be revived, and undo says so.
//!
//! The record holds the original `shadow` line, password hash included, because undo needs it; the
//! case (like the backup it also holds) must be protected accordingly. Plans never show the hash.
//!
//! The parts: `plan` (the refusals and the plan in plain words), `lines` (the account's line in
//! `passwd` and `shadow`), `shadow` (the locked, atomic edit and its undo), `sshd` (what
//! `sshd_config` names), `keys` (the key files moved aside and back) and `sessions` (login uids,
//! and ending them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::examined::show;
use crate::freeze::{Outcome, ProcessSnapshot, own_lineage};
use crate::quarantine::{MovedFile, PlannedFile};
use crate::store::StoredFile;

mod keys;
mod lines;
mod plan;
mod sessions;
mod shadow;
mod sshd;

/// Store role of the copy of `shadow` taken before editing it.
pub const ROLE_SHADOW: &str = "shadow backup";
/// Store role of a moved key file.
pub const ROLE_KEYS: &str = "authorized_keys moved aside";

/// What the responder asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// `/` for the live host, or the root of an offline copy (a mounted image).
    pub root: PathBuf,
    /// Login name.
    pub user: String,
    /// Also end the account's running login sessions (live host only).
    pub kill_sessions: bool,
    /// Allow what is otherwise refused because it can lock the responder out: locking `root`,
    /// the responder's own login account, or ending the sessions of a uid-0 account.
    pub force: bool,
}

/// A key file the plan will move aside.
#[derive(Debug, Clone)]
pub struct PlannedKey {
    /// The file.
    pub file: PlannedFile,
    /// Why it is looked at (`~/.ssh/authorized_keys`, `AuthorizedKeysFile in /etc/ssh/sshd_config`).
    pub source: String,
}

/// The plan. It holds the `shadow` line (with its hash) to check nothing changed before applying;
/// [`describe`](AccountPlan::describe) and `Debug` never show it.
#[derive(Clone)]
pub struct AccountPlan {
    /// The request.
    pub request: AccountRequest,
    /// The account's uid (from `passwd`).
    pub uid: u32,
    /// Its home directory (from `passwd`).
    pub home: Vec<u8>,
    /// 1-based line number of its `shadow` line.
    pub shadow_line_no: usize,
    /// The `shadow` line as it is.
    pub shadow_line: Vec<u8>,
    /// The line as it will be (equal to `shadow_line` when already locked and expired).
    pub locked_line: Vec<u8>,
    /// Key files to move aside.
    pub keys: Vec<PlannedKey>,
    /// Processes of the account's logins that will be killed (as read now; apply reads again).
    pub sessions: Vec<ProcessSnapshot>,
    /// Processes of its logins that will be spared, and why.
    pub spared: Vec<(ProcessSnapshot, String)>,
    /// Plain-words consequences and warnings.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for AccountPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountPlan")
            .field("request", &self.request)
            .field("uid", &self.uid)
            .field("shadow_line_no", &self.shadow_line_no)
            .field("keys", &self.keys)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

/// The `shadow` edit, with what undo needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowChange {
    /// 1-based line number when edited.
    pub line_no: usize,
    /// The original line, base64 (it holds the password hash).
    pub original_b64: String,
    /// The line cordon wrote, base64.
    pub new_b64: String,
    /// The full copy of `shadow` taken before.
    pub backup: StoredFile,
}

/// A process of the account's logins, as recorded before it was signalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedSession {
    /// What was read before anything was sent to it.
    #[serde(flatten)]
    pub process: ProcessSnapshot,
    /// What happened to it.
    pub outcome: Outcome,
}

/// What locking did; enough to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The root it was done in.
    pub root: PathBuf,
    /// Login name.
    pub user: String,
    /// Its uid.
    pub uid: u32,
    /// The `shadow` edit (`None` when the account was already locked and expired).
    pub shadow: Option<ShadowChange>,
    /// Key files moved into the store.
    pub keys: Vec<MovedFile>,
    /// Processes of its logins, killed or spared.
    pub sessions: Vec<EndedSession>,
    /// What else was noticed while applying.
    pub notes: Vec<String>,
}

impl AccountPlan {
    /// Locks and expires the account, moves its keys into `store` (this action's store directory),
    /// then (when asked) ends its sessions. A failure before the sessions undoes what was done and
    /// says so; ending sessions comes last because it cannot be undone.
    pub fn apply(&self, store: &Path) -> Result<AccountRecord, Error> {
        let mut record = AccountRecord {
            root: self.request.root.clone(),
            user: self.request.user.clone(),
            uid: self.uid,
            shadow: None,
            keys: Vec::new(),
            sessions: Vec::new(),
            notes: self.notes.clone(),
        };
        // Opened before anything changes: failing later would leave the account locked with no
        // record to undo it.
        let proc_fd = self
            .request
            .kill_sessions
            .then(crate::freeze::open_proc)
            .transpose()?;
        if self.locked_line != self.shadow_line {
            record.shadow = Some(self.lock_shadow(store)?);
        }
        keys::move_aside(&self.keys, store, &mut record)?;
        if let Some(proc_fd) = &proc_fd {
            let lineage = own_lineage(proc_fd);
            let (ended, more) = sessions::end_sessions(proc_fd, self.uid, &lineage);
            record.sessions = ended;
            if more {
                record.notes.push(format!(
                    "new processes of {}'s logins kept appearing: look again (something is starting them)",
                    show(self.request.user.as_bytes())
                ));
            }
        }
        Ok(record)
    }
}

impl AccountRecord {
    /// The files saved in the store: the `shadow` backup and the moved key files.
    pub fn files(&self) -> Vec<StoredFile> {
        let mut out: Vec<StoredFile> = self.shadow.iter().map(|s| s.backup.clone()).collect();
        out.extend(self.keys.iter().map(MovedFile::stored_file));
        out
    }

    /// Puts the original `shadow` line back (only that line, only if it is still the one cordon
    /// wrote) and every key file (only where nothing exists now, after checking the copy's SHA-256).
    /// Everything is checked before anything is changed. Returns what was done.
    pub fn undo(&self) -> Result<Vec<String>, Error> {
        keys::check_put_back(&self.keys)?;
        let user = show(self.user.as_bytes());
        let mut lines = Vec::new();
        if let Some(change) = &self.shadow {
            lines.push(shadow::restore_line(change, &self.root, &self.user)?);
        }
        keys::put_back(&self.keys, &mut lines)?;
        let killed: Vec<String> = self
            .sessions
            .iter()
            .filter(|s| s.outcome == Outcome::Killed)
            .map(|s| s.process.label())
            .collect();
        if !killed.is_empty() {
            lines.push(format!(
                "the {} killed process(es) of {user}'s logins cannot be revived: {}",
                killed.len(),
                killed.join(", ")
            ));
        }
        Ok(lines)
    }
}
