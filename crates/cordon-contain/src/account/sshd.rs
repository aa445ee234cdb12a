//! What `sshd_config` says about key files, read the way sshd reads it: `Include`s followed in
//! order, the first value of a keyword kept, nothing after the first `Match` (it is conditional).
//! An attacker who points `AuthorizedKeysFile` somewhere else keeps a way in unless those files
//! are moved too; what cannot be read or expanded is said in the plan, not skipped quietly.

use std::io::Read as _;
use std::os::fd::OwnedFd;

use cordon_host::open::open_in_root;
use rustix::io::Errno;

use crate::examined::show;

/// Largest `sshd_config` (or included file) read.
const CONFIG_CAP: u64 = 1024 * 1024;

/// What the top level of `sshd_config` says about keys.
#[derive(Debug, Default)]
pub(super) struct SshdKeys {
    /// The first `AuthorizedKeysFile` values (`None` = not set).
    pub(super) files: Option<Vec<Vec<u8>>>,
    /// The first `AuthorizedKeysCommand` (`none` kept: it wins like any first value).
    pub(super) command: Option<Vec<u8>>,
    /// What could not be read.
    pub(super) notes: Vec<String>,
}

/// The top level of `ROOT/etc/ssh/sshd_config` and what it includes.
pub(super) fn sshd_keys(root_fd: &OwnedFd) -> SshdKeys {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use cordon_host::open::open_root;

    use super::*;

    #[test]
    fn matches_include_wildcards() {
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
}
