//! Locking an account the attacker uses, so that they cannot log in as it again — reversibly.
//!
//! Three things keep an account usable to an attacker, and each is handled:
//! 1. **The password** — locked as `usermod -L` does (a `!` before the hash in `shadow`), and the
//!    account **expired** as `usermod --expiredate 1` does (field 8 = 1). The expiry matters more: PAM
//!    and sshd refuse an expired account even with a valid SSH key, which `!` alone does not stop.
//! 2. **SSH keys** — `~/.ssh/authorized_keys`, `authorized_keys2` and whatever a top-level
//!    `AuthorizedKeysFile` of `sshd_config` names are moved into the case (not deleted), with their
//!    metadata, through the same primitives as [`quarantine`](crate::quarantine).
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

use std::ffi::CStr;
use std::io::{Read as _, Write as _};
use std::ops::Range;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_host::accounts::{ACCOUNT_FILE_CAP, parse_passwd};
use cordon_host::meta::{FileMeta, statx_at, statx_fd};
use cordon_host::open::{open_in_root, open_regular_at, open_root};
use cordon_host::procfs;
use rustix::fs::{AtFlags, FlockOperation, IFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Signal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::freeze::{Outcome, ProcessSnapshot, Sent, own_lineage, signal_checked};
use crate::quarantine::{
    self, Found, MovedFile, PlannedFile, host_error, read_xattrs, show, show_local, write_xattrs,
};
use crate::store::{self, StoredFile};

/// Store role of the copy of `shadow` taken before editing it.
pub const ROLE_SHADOW: &str = "shadow backup";
/// Store role of a moved key file.
pub const ROLE_KEYS: &str = "authorized_keys moved aside";

/// How long to wait for another program holding `/etc/.pwd.lock` (as `lckpwdf` does).
const LOCK_WAIT: Duration = Duration::from_secs(15);
/// Largest `sshd_config` (or included file) read.
const CONFIG_CAP: u64 = 1024 * 1024;

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

impl AccountRequest {
    /// Reads `passwd`, `shadow`, `sshd_config`, the key files and (live, when asked) the running
    /// processes, and builds the plan. Refuses an unknown account, `root` and the responder's own
    /// account (unless `force`), and `kill_sessions` on an offline root. Nothing is changed.
    pub fn plan(&self) -> Result<AccountPlan, Error> {
        let user = self.user.as_bytes();
        if user.is_empty() || user.iter().any(|&b| b == b':' || b == b'\n' || b == 0) {
            return Err(Error::Refused(format!("{} is not a login name", show(user))));
        }
        let live = is_live_root(&self.root);
        if self.kill_sessions && !live {
            return Err(Error::Refused(format!(
                "ending sessions works only on the live host (root /): the processes of {} are not running \
                 here",
                self.root.display()
            )));
        }
        let etc = Etc::open(&self.root)?;
        let (passwd, _, _) = etc.read(c"passwd")?;
        let (entries, _) = parse_passwd(&passwd);
        let matching: Vec<_> = entries.iter().filter(|e| e.name == user).collect();
        let entry = match matching.as_slice() {
            [] => {
                return Err(Error::Refused(format!(
                    "no account named {} in {} (cordon reads that file itself, not NSS: an account that \
                     exists only in LDAP, SSSD or NIS cannot be locked here)",
                    show(user),
                    show_local(&etc.local.join("passwd"))
                )));
            }
            [one] => *one,
            many => {
                let lines: Vec<String> = many.iter().map(|e| e.line_no.to_string()).collect();
                return Err(Error::Refused(format!(
                    "{} has {} lines in passwd (lines {}): sort that out by hand first",
                    show(user),
                    many.len(),
                    lines.join(", ")
                )));
            }
        };
        let mut notes = Vec::new();
        if self.user == "root" && !self.force {
            return Err(Error::Refused(
                "locking root can lock you out of this host (a console or `sudo` login needs root's \
                 password or an unexpired account); use force if that is what you want"
                    .into(),
            ));
        }
        if entry.uid == 0 && self.user != "root" {
            notes.push(format!(
                "{} has uid 0: it is a second root account, a classic backdoor",
                show(user)
            ));
            if self.kill_sessions && !self.force {
                return Err(Error::Refused(
                    "sessions are found by login uid, and uid 0 is every root login, yours included: \
                     lock without ending sessions, or use force"
                        .into(),
                ));
            }
        }
        if live && !self.force && own_loginuid() == Some(entry.uid) {
            return Err(Error::Refused(format!(
                "you are logged in as {} (the login uid of this session): locking it would keep you from \
                 logging in again{}; use force if you mean it",
                show(user),
                if self.kill_sessions {
                    " and ending its sessions would end yours"
                } else {
                    ""
                }
            )));
        }
        if let Some(pw) = passwd_field(&passwd, entry.line_no)
            && pw != b"x"
        {
            notes.push(
                "WARNING: the passwd line holds a password of its own (field 2 is not 'x'); locking shadow \
                 does not cover it, but the expiry still blocks logins through PAM"
                    .into(),
            );
        }
        let (shadow, shadow_file, _) = etc.read(c"shadow")?;
        if quarantine::flags_of(&shadow_file)
            .is_some_and(|f| IFlags::from_bits_retain(f).intersects(IFlags::IMMUTABLE | IFlags::APPEND))
        {
            return Err(Error::Refused(format!(
                "{} has the immutable or append-only flag (lsattr shows it; attackers set it so that \
                 passwords cannot be changed): clear it with chattr -ia, then plan again",
                show_local(&etc.local.join("shadow"))
            )));
        }
        let (shadow_line_no, range) = one_line(&shadow, user, &etc.local)?;
        let shadow_line = shadow.get(range).unwrap_or_default().to_vec();
        let locked_line = lock_line(&shadow_line).map_err(|why| {
            Error::Refused(format!(
                "the shadow line of {} (line {shadow_line_no}) {why}: not edited",
                show(user)
            ))
        })?;
        let root_dir = open_root(&self.root).map_err(host_error)?;
        let keys = plan_keys(&root_dir.fd, &self.root, user, entry.uid, &entry.home, &mut notes)?;
        let (sessions, spared) = if self.kill_sessions {
            let proc_fd = crate::freeze::open_proc()?;
            login_processes(&proc_fd, entry.uid, &own_lineage(&proc_fd))
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(AccountPlan {
            request: self.clone(),
            uid: entry.uid,
            home: entry.home.clone(),
            shadow_line_no,
            shadow_line,
            locked_line,
            keys,
            sessions,
            spared,
            notes,
        })
    }
}

impl AccountPlan {
    /// What applying will do, in plain words (never the password hash).
    pub fn describe(&self) -> Vec<String> {
        let user = show(self.request.user.as_bytes());
        let shadow = show_local(&self.request.root.join("etc/shadow"));
        let mut out = Vec::new();
        if self.locked_line == self.shadow_line {
            out.push(format!(
                "{user} is already locked and expired: {shadow} is left as it is"
            ));
        } else {
            let was_locked = field(&self.shadow_line, 1).is_some_and(|p| p.starts_with(b"!"));
            if was_locked {
                out.push(format!(
                    "the password of {user} is already locked ('!') in {shadow}"
                ));
            } else {
                out.push(format!(
                    "lock the password of {user} (uid {}) in {shadow}, line {}: '!' before the hash, as \
                     `usermod -L` does",
                    self.uid, self.shadow_line_no
                ));
            }
            out.push(
                "expire the account (expiry date 1, i.e. 2 January 1970, as `usermod --expiredate 1`): PAM \
                 and sshd then refuse every login, with SSH keys too"
                    .into(),
            );
            out.push(
                "a full copy of shadow goes into the case first; shadow is then replaced atomically under \
                 /etc/.pwd.lock, with the same owner, mode and labels, every other line unchanged"
                    .into(),
            );
        }
        for k in &self.keys {
            out.push(format!(
                "move {} aside into the case ({} bytes, {}, owner {}:{}) — {}",
                show_local(&k.file.local()),
                k.file.meta.size,
                k.file.meta.mode_string(),
                k.file.meta.uid,
                k.file.meta.gid,
                k.source
            ));
            out.extend(
                quarantine::file_warnings(&k.file)
                    .into_iter()
                    .map(|w| format!("  {w}")),
            );
        }
        if self.keys.is_empty() {
            out.push(format!("no authorized_keys file of {user} was found"));
        }
        if self.request.kill_sessions {
            if self.sessions.is_empty() {
                out.push(format!("no running process belongs to a login of {user}"));
            } else {
                out.push(format!(
                    "end {} process(es) of {user}'s logins: all are stopped first, then killed (SIGKILL) — \
                     that cannot be undone; apply looks again for new ones:",
                    self.sessions.len()
                ));
                out.extend(self.sessions.iter().map(|s| format!("  {}", s.summary())));
            }
            for (s, why) in &self.spared {
                out.push(format!("spare {}: {why}", s.label()));
            }
            out.push(format!(
                "processes running as {user} without a login (a web shell's, a service's) have no login uid \
                 and are not ended: freeze them by pid"
            ));
        } else if is_live_root(&self.request.root) {
            out.push(format!(
                "running processes of {user} keep running (ending its sessions is a separate choice)"
            ));
        }
        out.extend(self.notes.iter().cloned());
        out
    }

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
        if self.locked_line != self.shadow_line {
            record.shadow = Some(self.lock_shadow(store)?);
        }
        for (i, k) in self.keys.iter().enumerate() {
            let name = format!("key-{}", quarantine::store_name(i, &k.file.path, k.file.kind));
            match quarantine::move_aside(&k.file, store, &name, ROLE_KEYS) {
                Ok(m) => record.keys.push(m),
                Err(e) => {
                    let undone = record.undo();
                    return Err(Error::Unexpected(match undone {
                        Ok(_) => format!("{e}; what was already done was undone, nothing is changed"),
                        Err(u) => format!("{e}; undoing what was already done failed too: {u}"),
                    }));
                }
            }
        }
        if self.request.kill_sessions {
            let proc_fd = crate::freeze::open_proc()?;
            let lineage = own_lineage(&proc_fd);
            let (ended, more) = end_sessions(&proc_fd, self.uid, &lineage);
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

    fn lock_shadow(&self, store: &Path) -> Result<ShadowChange, Error> {
        let etc = Etc::open(&self.request.root)?;
        let _lock = etc.lock()?;
        let (bytes, file, meta) = etc.read(c"shadow")?;
        let (line_no, range) = one_line(&bytes, self.request.user.as_bytes(), &etc.local)?;
        if bytes.get(range.clone()) != Some(self.shadow_line.as_slice()) {
            return Err(Error::Unexpected(format!(
                "the shadow line of {} changed since the plan: nothing was changed; plan again",
                show(self.request.user.as_bytes())
            )));
        }
        let shadow_local = etc.local.join("shadow");
        let backup = store::save(&mut bytes.as_slice(), store, "shadow", &shadow_local, ROLE_SHADOW)?;
        protect(&backup)?;
        let want = hex::encode(Sha256::digest(&bytes));
        if backup.sha256 != want || store::sha256_of(&backup.stored)? != want {
            return Err(Error::Unexpected(format!(
                "the copy of shadow in the case ({}) does not read back with the original's SHA-256: \
                 nothing was changed; check the case disk",
                backup.stored.display()
            )));
        }
        let new = splice(&bytes, range, &self.locked_line);
        etc.replace_shadow(&file, &meta, &new)?;
        Ok(ShadowChange {
            line_no,
            original_b64: STANDARD.encode(&self.shadow_line),
            new_b64: STANDARD.encode(&self.locked_line),
            backup,
        })
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
        for k in &self.keys {
            quarantine::check_put_back(k)?;
        }
        let user = show(self.user.as_bytes());
        let mut lines = Vec::new();
        if let Some(change) = &self.shadow {
            let original = decode(&change.original_b64)?;
            let written = decode(&change.new_b64)?;
            let etc = Etc::open(&self.root)?;
            let _lock = etc.lock()?;
            let (bytes, file, meta) = etc.read(c"shadow")?;
            let (_, range) = one_line(&bytes, self.user.as_bytes(), &etc.local)?;
            let current = bytes.get(range.clone()).unwrap_or_default();
            if current == original.as_slice() {
                lines.push(format!(
                    "the shadow line of {user} is already as it was before cordon"
                ));
            } else if current == written.as_slice() {
                let new = splice(&bytes, range, &original);
                etc.replace_shadow(&file, &meta, &new)?;
                lines.push(format!(
                    "put back the original shadow line of {user} (password lock and expiry date as they were)"
                ));
            } else {
                return Err(Error::Refused(format!(
                    "the shadow line of {user} was changed after cordon locked it (by passwd, usermod or by \
                     hand): it is not overwritten. The line before cordon is in the record and in the copy \
                     {}; restore by hand if that is still wanted",
                    change.backup.stored.display()
                )));
            }
        }
        for k in self.keys.iter().rev() {
            match quarantine::put_back(k) {
                Ok(mut l) => lines.append(&mut l),
                Err(e) => return Err(quarantine::partial(e, &lines)),
            }
        }
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

/// `ROOT/etc`, opened once (symbolic links resolved inside the root).
struct Etc {
    fd: OwnedFd,
    local: PathBuf,
}

impl Etc {
    fn open(root: &Path) -> Result<Etc, Error> {
        let local = root.join("etc");
        let root_dir = open_root(root).map_err(host_error)?;
        let (fd, _) =
            open_in_root(&root_dir.fd, b"/etc/.", true).map_err(|e| Error::io("open", &local, e.into()))?;
        Ok(Etc { fd, local })
    }

    /// Reads an account file (regular file only, capped), returning it open for its metadata.
    fn read(&self, name: &CStr) -> Result<(Vec<u8>, std::fs::File, FileMeta), Error> {
        let local = self.local.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        let opened = open_regular_at(&self.fd, name).map_err(|e| match e {
            Errno::NOTSUP => Error::Refused(format!("{} is not a regular file", show_local(&local))),
            e => Error::io("open", &local, e.into()),
        })?;
        let meta = statx_fd(&opened.file).map_err(|e| Error::io("stat", &local, e.into()))?;
        let mut bytes = Vec::new();
        (&opened.file)
            .take(ACCOUNT_FILE_CAP + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", &local, e))?;
        if bytes.len() as u64 > ACCOUNT_FILE_CAP {
            return Err(Error::Refused(format!(
                "{} is larger than {ACCOUNT_FILE_CAP} bytes: not an account file cordon edits",
                show_local(&local)
            )));
        }
        Ok((bytes, opened.file, meta))
    }

    /// Takes the `lckpwdf` lock: an exclusive `fcntl` lock on `/etc/.pwd.lock`, waiting up to 15 s.
    fn lock(&self) -> Result<OwnedFd, Error> {
        let local = self.local.join(".pwd.lock");
        let fd = rustix::fs::openat(
            &self.fd,
            c".pwd.lock",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io("open", &local, e.into()))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(fd),
                Err(Errno::AGAIN | Errno::ACCESS) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(Errno::AGAIN | Errno::ACCESS) => {
                    return Err(Error::Refused(format!(
                        "another program (passwd, usermod, vipw …) has held {} for 15 s: nothing was \
                         changed; try again when it is done",
                        show_local(&local)
                    )));
                }
                Err(e) => return Err(Error::io("lock", &local, e.into())),
            }
        }
    }

    /// Replaces `shadow` with `bytes` atomically: a temporary file in `etc` with the owner, mode and
    /// extended attributes of `original`, `fsync`, a check that `shadow` is still what was read,
    /// `rename`, `fsync` of the directory.
    fn replace_shadow(&self, original: &std::fs::File, read: &FileMeta, bytes: &[u8]) -> Result<(), Error> {
        let shadow = self.local.join("shadow");
        let tmp = format!(".shadow.cordon-{}", std::process::id());
        let tmp_local = self.local.join(&tmp);
        let fd = rustix::fs::openat(
            &self.fd,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == Errno::EXIST {
                Error::Unexpected(format!(
                    "{} exists (left by an interrupted run?): remove it, then try again",
                    show_local(&tmp_local)
                ))
            } else {
                Error::io("create", &tmp_local, e.into())
            }
        })?;
        let mut file = std::fs::File::from(fd);
        let result = (|| {
            file.write_all(bytes)
                .map_err(|e| Error::io("write", &tmp_local, e))?;
            rustix::fs::fchown(
                &file,
                Some(rustix::fs::Uid::from_raw(read.uid)),
                Some(rustix::fs::Gid::from_raw(read.gid)),
            )
            .map_err(|e| Error::io("set the owner of", &tmp_local, e.into()))?;
            rustix::fs::fchmod(&file, Mode::from_raw_mode(read.mode & 0o7777))
                .map_err(|e| Error::io("set the mode of", &tmp_local, e.into()))?;
            let failed = write_xattrs(&file, &read_xattrs(original), &tmp_local);
            if !failed.is_empty() {
                return Err(Error::Unexpected(format!(
                    "could not give the new shadow the extended attributes (SELinux label, ACL) of the old \
                     one: {}; nothing was changed",
                    failed.join("; ")
                )));
            }
            file.sync_all().map_err(|e| Error::io("fsync", &tmp_local, e))?;
            let now = statx_at(&self.fd, c"shadow").map_err(|e| Error::io("stat", &shadow, e.into()))?;
            if (now.ino, now.size, now.mtime, now.ctime) != (read.ino, read.size, read.mtime, read.ctime) {
                return Err(Error::Unexpected(format!(
                    "{} was changed by another program while cordon was editing it (it does not respect \
                     /etc/.pwd.lock): nothing was changed; plan again",
                    show_local(&shadow)
                )));
            }
            rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, c"shadow")
                .map_err(|e| Error::io("rename over", &shadow, e.into()))
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
        }
        result?;
        // The rename is done; a directory that cannot be synced does not make it undone.
        let _ = rustix::fs::fsync(&self.fd);
        Ok(())
    }
}

/// Makes a store copy read-only for its owner (the `shadow` backup holds password hashes).
fn protect(saved: &StoredFile) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&saved.stored, std::fs::Permissions::from_mode(0o400))
        .map_err(|e| Error::io("make read-only", &saved.stored, e))
}

fn decode(b64: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(b64)
        .map_err(|e| Error::Unexpected(format!("the record's shadow line is not valid base64: {e}")))
}

fn is_live_root(root: &Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|r| r == Path::new("/"))
}

fn own_loginuid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/loginuid")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&u| u != u32::MAX)
}

/// Field 2 of passwd line `line_no`.
fn passwd_field(passwd: &[u8], line_no: usize) -> Option<&[u8]> {
    let line = passwd.split(|&b| b == b'\n').nth(line_no.checked_sub(1)?)?;
    field(line, 1)
}

/// The `n`th (0-based) colon-separated field of a line.
fn field(line: &[u8], n: usize) -> Option<&[u8]> {
    line.split(|&b| b == b':').nth(n)
}

/// Line numbers (1-based) and byte ranges (without the newline) of the lines whose first field is
/// `user`.
fn find_lines(bytes: &[u8], user: &[u8]) -> Vec<(usize, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.contains(&b':') && field(line, 0) == Some(user) {
            out.push((i + 1, start..start + line.len()));
        }
        start += line.len() + 1;
    }
    out
}

/// The one `shadow` line of `user`; refuses none or several.
fn one_line(shadow: &[u8], user: &[u8], etc: &Path) -> Result<(usize, Range<usize>), Error> {
    let found = find_lines(shadow, user);
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Refused(format!(
            "{} has no line in {}: there is no password or expiry to lock",
            show(user),
            show_local(&etc.join("shadow"))
        ))),
        many => {
            let nums: Vec<String> = many.iter().map(|(n, _)| n.to_string()).collect();
            Err(Error::Refused(format!(
                "{} has {} lines in shadow (lines {}): sort that out by hand first",
                show(user),
                many.len(),
                nums.join(", ")
            )))
        }
    }
}

/// The line locked and expired: `!` before the hash unless there, expiry date (field 8) 1.
fn lock_line(line: &[u8]) -> Result<Vec<u8>, String> {
    let mut fields: Vec<Vec<u8>> = line.split(|&b| b == b':').map(<[u8]>::to_vec).collect();
    if fields.len() != 9 {
        return Err(format!("has {} fields instead of 9", fields.len()));
    }
    if let Some(pw) = fields.get_mut(1)
        && !pw.starts_with(b"!")
    {
        pw.insert(0, b'!');
    }
    if let Some(expire) = fields.get_mut(7) {
        *expire = b"1".to_vec();
    }
    Ok(fields.join(&b':'))
}

/// `bytes` with `range` replaced by `with`.
fn splice(bytes: &[u8], range: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + with.len());
    out.extend_from_slice(bytes.get(..range.start).unwrap_or_default());
    out.extend_from_slice(with);
    out.extend_from_slice(bytes.get(range.end..).unwrap_or_default());
    out
}

/// The key files of an account: the two default names under its home, and every file a
/// top-level `AuthorizedKeysFile` names.
fn plan_keys(
    root_fd: &OwnedFd,
    root: &Path,
    user: &[u8],
    uid: u32,
    home: &[u8],
    notes: &mut Vec<String>,
) -> Result<Vec<PlannedKey>, Error> {
    let mut candidates: Vec<(Vec<u8>, String)> = Vec::new();
    if home.starts_with(b"/") {
        for name in ["authorized_keys", "authorized_keys2"] {
            let mut p = home.to_vec();
            p.extend_from_slice(b"/.ssh/");
            p.extend_from_slice(name.as_bytes());
            candidates.push((normalize(&p), format!("~/.ssh/{name}")));
        }
    } else {
        notes.push(format!(
            "the home directory of {} ({}) is not an absolute path: no key files were looked for under it",
            show(user),
            show(home)
        ));
    }
    let config = sshd_keys(root_fd);
    notes.extend(config.notes);
    if let Some(cmd) = config
        .command
        .as_ref()
        .filter(|c| !c.eq_ignore_ascii_case(b"none"))
    {
        notes.push(format!(
            "sshd also asks a program for keys (AuthorizedKeysCommand {}): keys it returns are not moved, \
             but the expiry still refuses them",
            show(cmd)
        ));
    }
    for token in config.files.iter().flatten() {
        match expand(token, home, user, uid) {
            Some(p) => candidates.push((normalize(&p), format!("AuthorizedKeysFile {}", show(token)))),
            None => notes.push(format!(
                "AuthorizedKeysFile {} uses a token cordon does not expand: that file was not looked for",
                show(token)
            )),
        }
    }
    let mut keys: Vec<PlannedKey> = Vec::new();
    for (path, source) in candidates {
        if keys.iter().any(|k| k.file.path == path) {
            continue;
        }
        match quarantine::inspect(root, &path, &path)? {
            Found::Absent => {}
            Found::Other(kind) => notes.push(format!(
                "{} is a {kind}, not a key file: left in place",
                show_local(&quarantine::local_path(root, &path))
            )),
            Found::File(file) => {
                let file = *file;
                if !keys
                    .iter()
                    .any(|k| (k.file.meta.dev, k.file.meta.ino) == (file.meta.dev, file.meta.ino))
                {
                    keys.push(PlannedKey { file, source });
                }
            }
        }
    }
    Ok(keys)
}

/// `%%`, `%h`, `%u`, `%U` expanded as sshd does; relative results are under the home directory.
/// `None` for a token sshd knows and cordon does not.
fn expand(token: &[u8], home: &[u8], user: &[u8], uid: u32) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut it = token.iter();
    while let Some(&b) = it.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        match it.next()? {
            b'%' => out.push(b'%'),
            b'h' => out.extend_from_slice(home),
            b'u' => out.extend_from_slice(user),
            b'U' => out.extend_from_slice(uid.to_string().as_bytes()),
            _ => return None,
        }
    }
    if !out.starts_with(b"/") {
        let mut p = home.to_vec();
        p.push(b'/');
        p.extend_from_slice(&out);
        out = p;
    }
    Some(out)
}

/// `/a//b/./c` → `/a/b/c` (`..` is left for resolution inside the root).
fn normalize(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for part in path.split(|&b| b == b'/').filter(|p| !p.is_empty() && *p != b".") {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// What the top level of `sshd_config` says about keys.
#[derive(Debug, Default)]
struct SshdKeys {
    /// The first `AuthorizedKeysFile` values (`None` = not set).
    files: Option<Vec<Vec<u8>>>,
    /// The first `AuthorizedKeysCommand` (`none` kept: it wins like any first value).
    command: Option<Vec<u8>>,
    /// What could not be read.
    notes: Vec<String>,
}

fn sshd_keys(root_fd: &OwnedFd) -> SshdKeys {
    let mut out = SshdKeys::default();
    scan_config(root_fd, b"/etc/ssh/sshd_config", 0, &mut out);
    out
}

/// Reads one configuration file in order, following `Include`; stops at the first `Match` (what
/// follows is conditional). sshd keeps the first value of a keyword, and so does this.
fn scan_config(root_fd: &OwnedFd, path: &[u8], depth: u32, out: &mut SshdKeys) {
    if depth > 8 {
        return;
    }
    let bytes = match read_in_root(root_fd, path) {
        Ok(b) => b,
        Err(Errno::NOENT) if depth == 0 => return,
        Err(e) => {
            out.notes.push(format!(
                "{} could not be read ({e}): key files it may name were not looked for",
                show(path)
            ));
            return;
        }
    };
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let end = line
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'=')
            .unwrap_or(line.len());
        let keyword = line.get(..end).unwrap_or_default().to_ascii_lowercase();
        let rest = line.get(end..).unwrap_or_default().trim_ascii();
        let rest = rest.strip_prefix(b"=").unwrap_or(rest).trim_ascii();
        let args: Vec<Vec<u8>> = rest
            .split(|b| b.is_ascii_whitespace())
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.strip_prefix(b"\"")
                    .and_then(|a| a.strip_suffix(b"\""))
                    .unwrap_or(a)
                    .to_vec()
            })
            .collect();
        match keyword.as_slice() {
            b"match" => return,
            b"include" => {
                for pattern in &args {
                    for file in glob_in_root(root_fd, pattern, out) {
                        scan_config(root_fd, &file, depth + 1, out);
                    }
                }
            }
            b"authorizedkeysfile" if out.files.is_none() => {
                out.files = Some(if args.iter().any(|a| a.eq_ignore_ascii_case(b"none")) {
                    Vec::new()
                } else {
                    args
                });
            }
            b"authorizedkeyscommand" if out.command.is_none() => out.command = Some(rest.to_vec()),
            _ => {}
        }
    }
}

/// Files an `Include` pattern names (relative to `/etc/ssh`; `*` and `?` in the last component).
fn glob_in_root(root_fd: &OwnedFd, pattern: &[u8], out: &mut SshdKeys) -> Vec<Vec<u8>> {
    let full = if pattern.starts_with(b"/") {
        pattern.to_vec()
    } else {
        [&b"/etc/ssh/"[..], pattern].concat()
    };
    let slash = full.iter().rposition(|&b| b == b'/').unwrap_or(0);
    let (dir, name) = (
        full.get(..slash).unwrap_or_default(),
        full.get(slash + 1..).unwrap_or_default(),
    );
    if !name.contains(&b'*') && !name.contains(&b'?') {
        return vec![full];
    }
    if dir.contains(&b'*') || dir.contains(&b'?') {
        out.notes.push(format!(
            "Include {} has a wildcard in a directory name, which cordon does not expand",
            show(pattern)
        ));
        return Vec::new();
    }
    let mut dir_path = dir.to_vec();
    dir_path.extend_from_slice(b"/.");
    let Ok((fd, _)) = open_in_root(root_fd, &dir_path, true) else {
        return Vec::new();
    };
    let Ok(mut listing) = rustix::fs::Dir::new(fd) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Some(Ok(entry)) = listing.read() {
        let n = entry.file_name().to_bytes();
        if !n.starts_with(b".") && wildcard(name, n) {
            names.push([dir, b"/", n].concat());
        }
    }
    names.sort();
    names
}

/// `*` and `?` matching, as glob(3) does within one path component.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            wildcard(rest, name) || name.split_first().is_some_and(|(_, n)| wildcard(pattern, n))
        }
        (Some((b'?', rest)), Some((_, n))) => wildcard(rest, n),
        (Some((p, rest)), Some((c, n))) if p == c => wildcard(rest, n),
        _ => false,
    }
}

fn read_in_root(root_fd: &OwnedFd, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let (fd, _) = open_in_root(root_fd, path, false)?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(CONFIG_CAP)
        .read_to_end(&mut bytes)
        .map_err(|e| e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error))?;
    Ok(bytes)
}

/// `/proc/<pid>/loginuid` of one process.
fn loginuid_of(proc_fd: &OwnedFd, pid: i32) -> Option<u32> {
    let name = std::ffi::CString::new(format!("{pid}/loginuid")).ok()?;
    let opened = open_regular_at(proc_fd, &name).ok()?;
    let mut text = String::new();
    opened.file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Processes whose login uid is `uid`: those to end, and those spared (cordon and its ancestors).
fn login_processes(
    proc_fd: &OwnedFd,
    uid: u32,
    lineage: &[i32],
) -> (Vec<ProcessSnapshot>, Vec<(ProcessSnapshot, String)>) {
    let mut end = Vec::new();
    let mut spare = Vec::new();
    let pids = procfs::list_pids(Path::new("/proc")).unwrap_or_default();
    for pid in pids {
        if loginuid_of(proc_fd, pid) != Some(uid) {
            continue;
        }
        let Some(snap) = ProcessSnapshot::read(proc_fd, pid) else {
            continue;
        };
        if lineage.contains(&pid) {
            spare.push((
                snap,
                "it is cordon or one of its ancestors (your own session)".to_string(),
            ));
        } else if snap.state != 'Z' {
            end.push(snap);
        }
    }
    (end, spare)
}

/// Ends every process of `uid`'s logins except cordon and its ancestors. Each pass records the
/// processes found, stops them all (so none can start a replacement while others are killed), then
/// kills them; up to three passes catch what was started in between. Returns the record and whether
/// new processes were still appearing.
pub(crate) fn end_sessions(proc_fd: &OwnedFd, uid: u32, lineage: &[i32]) -> (Vec<EndedSession>, bool) {
    let mut out: Vec<EndedSession> = Vec::new();
    let seen = |out: &[EndedSession], s: &ProcessSnapshot| {
        out.iter()
            .any(|o| o.process.pid == s.pid && o.process.starttime == s.starttime)
    };
    for _ in 0..3 {
        let (found, spared) = login_processes(proc_fd, uid, lineage);
        for (s, why) in spared {
            if !seen(&out, &s) {
                out.push(EndedSession {
                    process: s,
                    outcome: Outcome::Skipped(why),
                });
            }
        }
        let new: Vec<ProcessSnapshot> = found.into_iter().filter(|s| !seen(&out, s)).collect();
        if new.is_empty() {
            return (out, false);
        }
        for s in &new {
            let _ = signal_checked(proc_fd, s.pid, s.starttime, Signal::STOP);
        }
        for s in new {
            let outcome = match signal_checked(proc_fd, s.pid, s.starttime, Signal::KILL) {
                Ok(Sent::Yes) => Outcome::Killed,
                Ok(Sent::Exited) => Outcome::Exited,
                Ok(Sent::Reused) => Outcome::PidReused,
                Err(e) => Outcome::Failed(e.to_string()),
            };
            out.push(EndedSession { process: s, outcome });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (left, _) = login_processes(proc_fd, uid, lineage);
    let more = left.iter().any(|s| !seen(&out, s));
    (out, more)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::print_stderr)]
    use super::*;

    #[test]
    fn locks_like_usermod_and_keeps_odd_fields() {
        assert_eq!(
            lock_line(b"alice:$y$j9T$abc:19700:0:99999:7:::").unwrap(),
            b"alice:!$y$j9T$abc:19700:0:99999:7::1:"
        );
        assert_eq!(
            lock_line(b"svc:*:19700:0:99999:7:::").unwrap(),
            b"svc:!*:19700:0:99999:7::1:"
        );
        assert_eq!(
            lock_line(b"bob:!x:1:2:3:4:5:6:\r").unwrap(),
            b"bob:!x:1:2:3:4:5:1:\r"
        );
        assert!(lock_line(b"short:x:1").is_err());
    }

    #[test]
    fn finds_lines_by_first_field_only() {
        let s = b"root:x:1::::::\nalice:h:1::::::\n#alice:h:1::::::\nalicex:h::::::\nalice";
        let found = find_lines(s, b"alice");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
        assert_eq!(&s[found[0].1.clone()], b"alice:h:1::::::");
        assert_eq!(splice(b"a\nbb\nc", 2..4, b"XYZ"), b"a\nXYZ\nc");
    }

    #[test]
    fn expands_sshd_tokens() {
        assert_eq!(
            expand(b"/var/lib/keys/%u", b"/home/a", b"a", 1001).unwrap(),
            b"/var/lib/keys/a"
        );
        assert_eq!(expand(b".ssh/k", b"/home/a", b"a", 1).unwrap(), b"/home/a/.ssh/k");
        assert_eq!(expand(b"%h/%U/%%", b"/h", b"a", 7).unwrap(), b"/h/7/%");
        assert!(expand(b"/x/%Z", b"/h", b"a", 7).is_none());
        assert_eq!(normalize(b"/home//a/./.ssh/"), b"/home/a/.ssh");
        assert!(wildcard(b"*.conf", b"50-cloud.conf"));
        assert!(!wildcard(b"*.conf", b"x.conf.bak"));
        assert!(wildcard(b"a?c", b"abc"));
    }

    #[test]
    fn reads_top_level_settings_and_includes_until_match() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("etc/ssh");
        std::fs::create_dir_all(ssh.join("sshd_config.d")).unwrap();
        std::fs::write(
            ssh.join("sshd_config"),
            "Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysFile .ssh/ignored\n\
             Match User bob\n  AuthorizedKeysFile /nope\n",
        )
        .unwrap();
        std::fs::write(
            ssh.join("sshd_config.d/10-keys.conf"),
            "# comment\nauthorizedkeysfile=\"/var/lib/.keys/%u\" .ssh/authorized_keys\n\
             AuthorizedKeysCommand /usr/bin/getkeys %u\n",
        )
        .unwrap();
        let root = open_root(dir.path()).unwrap();
        let k = sshd_keys(&root.fd);
        assert_eq!(
            k.files.unwrap(),
            vec![b"/var/lib/.keys/%u".to_vec(), b".ssh/authorized_keys".to_vec()]
        );
        assert_eq!(k.command.unwrap(), b"/usr/bin/getkeys %u");
    }

    /// A child with its own login uid stands in for an attacker's session; needs root (setting
    /// `/proc/self/loginuid` takes CAP_AUDIT_CONTROL) and a kernel with audit.
    #[test]
    fn ends_the_processes_of_a_login_uid_only() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: setting a login uid needs root");
            return;
        }
        let uid = 1_900_000_000 + std::process::id() % 1000;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("echo {uid} > /proc/self/loginuid && exec sleep 60"))
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let proc_fd = procfs::open_proc(Path::new("/proc")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while loginuid_of(&proc_fd, pid) != Some(uid) {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                eprintln!("skipped: this kernel does not let the test set a login uid");
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let lineage = own_lineage(&proc_fd);
        let (ended, more) = end_sessions(&proc_fd, uid, &lineage);
        assert!(!more);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].process.pid, pid);
        assert_eq!(ended[0].outcome, Outcome::Killed);
        assert_eq!(ended[0].process.loginuid, Some(uid));
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(child.wait().unwrap().signal(), Some(9));
    }
}
