//! Planning an account lock. `passwd` and `shadow` are read by cordon itself (never through NSS),
//! and everything that could lock the responder out is refused unless forced: `root`, the account
//! of their own login uid, ending the sessions of a uid-0 account. The plan is then said in plain
//! words, and never shows the password hash.

use std::path::Path;

use cordon_host::accounts::parse_passwd;
use cordon_host::open::open_root;
use rustix::fs::IFlags;

use super::keys::plan_keys;
use super::lines::{field, lock_line, one_line, passwd_field};
use super::sessions::{login_processes, own_loginuid};
use super::shadow::Etc;
use super::{AccountPlan, AccountRequest};
use crate::Error;
use crate::examined::{host_error, show, show_local};
use crate::freeze::own_lineage;
use crate::quarantine;

impl AccountRequest {
    /// Reads `passwd`, `shadow`, `sshd_config`, the key files and (live, when asked) the running
    /// processes, and builds the plan. Refuses an unknown account, `root` and the responder's own
    /// account (unless `force`), and `kill_sessions` on an offline root. Nothing is changed. The root
    /// is resolved to an absolute path first: the record names it for an undo that may run from
    /// another directory.
    pub fn plan(&self) -> Result<AccountPlan, Error> {
        let root = std::fs::canonicalize(&self.root).map_err(|e| Error::io("resolve", &self.root, e))?;
        AccountRequest { root, ..self.clone() }.plan_resolved()
    }

    fn plan_resolved(&self) -> Result<AccountPlan, Error> {
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
        let keys = plan_keys(&root_dir.fd, &self.root, entry, &entries, &mut notes)?;
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
}

fn is_live_root(root: &Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|r| r == Path::new("/"))
}
