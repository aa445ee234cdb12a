//! The key files that let someone in as the account without its password:
//! `~/.ssh/authorized_keys`, `authorized_keys2` and every file a top-level `AuthorizedKeysFile`
//! names (tokens expanded as sshd does). Each is moved into the case with the quarantine
//! primitives rather than deleted, so it stays evidence, and is put back byte-identical on undo.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use cordon_host::accounts::PasswdEntry;

use super::sshd::sshd_keys;
use super::{AccountRecord, PlannedKey, ROLE_KEYS};
use crate::Error;
use crate::examined::{local_path, show, show_local};
use crate::quarantine::{self, Found};

/// The key files of an account: the two default names under its home, and every file a
/// top-level `AuthorizedKeysFile` names. A file that is also another account's (`everyone` is
/// `passwd`) is left in place and said: moving it would lock that account out too, and the expiry
/// already refuses this account's logins with the keys in it.
pub(super) fn plan_keys(
    root_fd: &OwnedFd,
    root: &Path,
    account: &PasswdEntry,
    everyone: &[PasswdEntry],
    notes: &mut Vec<String>,
) -> Result<Vec<PlannedKey>, Error> {
    let (user, uid, home) = (account.name.as_slice(), account.uid, account.home.as_slice());
    // (path, why it is looked at, the AuthorizedKeysFile token it comes from)
    let mut candidates: Vec<(Vec<u8>, String, Vec<u8>)> = Vec::new();
    if home.starts_with(b"/") {
        for name in ["authorized_keys", "authorized_keys2"] {
            let token = format!(".ssh/{name}").into_bytes();
            if let Some(p) = expand(&token, home, user, uid) {
                candidates.push((normalize(&p), format!("~/.ssh/{name}"), token));
            }
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
            Some(p) => candidates.push((
                normalize(&p),
                format!("AuthorizedKeysFile {}", show(token)),
                token.clone(),
            )),
            None => notes.push(format!(
                "AuthorizedKeysFile {} uses a token cordon does not expand: that file was not looked for",
                show(token)
            )),
        }
    }
    let mut keys: Vec<PlannedKey> = Vec::new();
    for (path, source, token) in candidates {
        if keys.iter().any(|k| k.file.path == path) {
            continue;
        }
        let found = quarantine::inspect(root, &path, &path)?;
        let sharers = also_for(&path, &token, account, everyone);
        if !sharers.is_empty() && !matches!(found, Found::Absent) {
            notes.push(format!(
                "{} ({source}) is also the key file of {}: left in place, since moving it would lock them \
                 out too; the expiry already refuses {}'s logins with the keys in it (remove its lines by \
                 hand if wanted)",
                show_local(&local_path(root, &path)),
                sharers.join(", "),
                show(user)
            ));
            continue;
        }
        match found {
            Found::Absent => {}
            Found::Other(kind) => notes.push(format!(
                "{} is a {kind}, not a key file: left in place",
                show_local(&local_path(root, &path))
            )),
            Found::File(file) => {
                let file = *file;
                if !keys
                    .iter()
                    .any(|k| (k.file.meta.dev, k.file.meta.ino) == (file.meta.dev, file.meta.ino))
                {
                    // An attacker in the account can point ~/.ssh at another account's directory.
                    if let Some(real) = quarantine::linked_dir(root, &path) {
                        notes.push(format!(
                            "WARNING: a symbolic link on the way to {} leads elsewhere: the file moved is \
                             really {} (owner {}:{}); if that is another account's, moving it can lock that \
                             account out",
                            show_local(&local_path(root, &path)),
                            show_local(&real.join(OsStr::from_bytes(file_name(&path)))),
                            file.meta.uid,
                            file.meta.gid
                        ));
                    }
                    keys.push(PlannedKey { file, source });
                }
            }
        }
    }
    Ok(keys)
}

/// The other accounts for which `token` names the same file as `path` (a shared home, `%U` of a
/// second uid 0, a name without any token), escaped for a terminal; at most a few are named.
fn also_for(path: &[u8], token: &[u8], account: &PasswdEntry, everyone: &[PasswdEntry]) -> Vec<String> {
    let same: Vec<&PasswdEntry> = everyone
        .iter()
        .filter(|e| e.name != account.name)
        .filter(|e| {
            expand(token, &e.home, &e.name, e.uid)
                .filter(|p| p.starts_with(b"/"))
                .is_some_and(|p| normalize(&p) == path)
        })
        .collect();
    let mut names: Vec<String> = same.iter().take(5).map(|e| show(&e.name)).collect();
    if same.len() > names.len() {
        names.push(format!("and {} more", same.len() - names.len()));
    }
    names
}

/// The last component of a path.
fn file_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
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

/// Moves every key file into `store`, recording each in `record`. If one fails, what `record`
/// holds so far is undone and the error says how that went.
pub(super) fn move_aside(keys: &[PlannedKey], store: &Path, record: &mut AccountRecord) -> Result<(), Error> {
    for (i, k) in keys.iter().enumerate() {
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
    Ok(())
}

/// Checks, before anything is changed, that every moved key file can be put back.
pub(super) fn check_put_back(keys: &[quarantine::MovedFile]) -> Result<(), Error> {
    for k in keys {
        quarantine::check_put_back(k)?;
    }
    Ok(())
}

/// Puts every moved key file back, last first, adding what was done to `lines`.
pub(super) fn put_back(keys: &[quarantine::MovedFile], lines: &mut Vec<String>) -> Result<(), Error> {
    for k in keys.iter().rev() {
        match quarantine::put_back(k) {
            Ok(mut l) => lines.append(&mut l),
            Err(e) => return Err(quarantine::partial(e, lines)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
    }
}
