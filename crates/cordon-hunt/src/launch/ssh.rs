//! sshd configuration and every account's `authorized_keys`.
//!
//! Keys are launch points only when they carry a `command=` option; the key inventory itself is the
//! structural check in `accounts.rs`. `sshd_config(5)` keywords are case-insensitive; `authorized_keys`
//! options are a comma-separated list before the key type, with double-quoted values.

use super::{LaunchPoint, logical_lines};
use crate::context::Ctx;
use crate::fs::join;

pub(super) fn read(ctx: &mut Ctx, out: &mut Vec<LaunchPoint>) {
    let mut files = vec![b"/etc/ssh/sshd_config".to_vec()];
    files.extend(ctx.files_in(b"/etc/ssh/sshd_config.d"));
    for path in files {
        let Some(c) = ctx.read(&path) else { continue };
        let owner = ctx.owner(&path);
        for (n, line) in logical_lines(&c.bytes) {
            let (key, value) = split_keyword(&line);
            if key.eq_ignore_ascii_case(b"ForceCommand") || key.eq_ignore_ascii_case(b"AuthorizedKeysCommand")
            {
                out.push(LaunchPoint {
                    kind: "sshd",
                    path: path.clone(),
                    line: Some(n),
                    command: value.to_vec(),
                    run_as: None,
                    trigger: "every SSH login".into(),
                    owner: owner.clone(),
                    evidence: line.clone(),
                });
            }
        }
    }
    for (user, _, home) in ctx.homes() {
        for name in [&b".ssh/authorized_keys"[..], b".ssh/authorized_keys2"] {
            let path = join(&home, name);
            let Some(c) = ctx.read(&path) else { continue };
            for (n, line) in logical_lines(&c.bytes) {
                let Some(key) = parse_key_line(&line) else {
                    continue;
                };
                if let Some(cmd) = key.option(b"command") {
                    out.push(LaunchPoint {
                        kind: "authorized_keys",
                        path: path.clone(),
                        line: Some(n),
                        command: cmd,
                        run_as: Some(user.clone()),
                        trigger: format!("SSH login with key {}", key.fingerprint()),
                        owner: None,
                        evidence: line.clone(),
                    });
                }
            }
        }
    }
}

/// `Keyword value` or `Keyword=value`.
pub fn split_keyword(line: &[u8]) -> (&[u8], &[u8]) {
    let end = line
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'=')
        .unwrap_or(line.len());
    let (k, rest) = line.split_at(end);
    let rest = rest.trim_ascii_start();
    let rest = rest.strip_prefix(b"=").unwrap_or(rest).trim_ascii();
    (k, rest)
}

/// One `authorized_keys` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    /// Options before the key (`command="…"`, `from="…"`, `no-pty`).
    pub options: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Key type (`ssh-ed25519`).
    pub key_type: Vec<u8>,
    /// Base64 key blob.
    pub blob: Vec<u8>,
    /// Comment.
    pub comment: Vec<u8>,
}

const KEY_TYPES: [&[u8]; 9] = [
    b"ssh-rsa",
    b"ssh-ed25519",
    b"ssh-dss",
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
    b"sk-ssh-ed25519@openssh.com",
    b"sk-ecdsa-sha2-nistp256@openssh.com",
    b"ssh-ed448",
];

impl KeyLine {
    /// The value of an option.
    pub fn option(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.clone())
    }

    /// `SHA256:…` as `ssh-keygen -l` prints it (unpadded base64 of the SHA-256 of the decoded blob).
    pub fn fingerprint(&self) -> String {
        use base64::Engine as _;
        use sha2::Digest as _;
        match base64::engine::general_purpose::STANDARD.decode(&self.blob) {
            Ok(raw) => format!(
                "SHA256:{}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(raw))
            ),
            Err(_) => "SHA256:(undecodable key)".into(),
        }
    }
}

/// Parses an `authorized_keys` line (`sshd(8)` AUTHORIZED_KEYS FILE FORMAT).
pub fn parse_key_line(line: &[u8]) -> Option<KeyLine> {
    let mut options = Vec::new();
    let mut rest = line.trim_ascii();
    if !KEY_TYPES.iter().any(|t| rest.starts_with(t)) {
        // Options: name[="value"] separated by commas, values may hold escaped quotes and spaces.
        let mut i = 0;
        let mut name = Vec::new();
        let mut value: Option<Vec<u8>> = None;
        let mut in_quotes = false;
        loop {
            let &b = rest.get(i)?;
            i += 1;
            match (b, in_quotes) {
                (b'"', _) => {
                    in_quotes = !in_quotes;
                    value.get_or_insert_with(Vec::new);
                }
                (b'\\', true) if rest.get(i) == Some(&b'"') => {
                    value.get_or_insert_with(Vec::new).push(b'"');
                    i += 1;
                }
                (b'=', false) if value.is_none() => value = Some(Vec::new()),
                (b',', false) => options.push((std::mem::take(&mut name), value.take())),
                (b' ' | b'\t', false) => {
                    options.push((std::mem::take(&mut name), value.take()));
                    break;
                }
                (_, _) => match value.as_mut() {
                    Some(v) => v.push(b),
                    None => name.push(b),
                },
            }
        }
        rest = rest.get(i..)?.trim_ascii_start();
    }
    let mut words = rest.splitn(3, |b| b.is_ascii_whitespace());
    let key_type = words.next()?.to_vec();
    if !KEY_TYPES.contains(&key_type.as_slice()) {
        return None;
    }
    let blob = words.next()?.to_vec();
    let comment = words.next().unwrap_or_default().trim_ascii().to_vec();
    Some(KeyLine {
        options,
        key_type,
        blob,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_with_quoted_options() {
        let k = parse_key_line(
            br#"from="10.0.0.0/8",command="/usr/bin/rsync --server -e.LsfxC . /backup",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl backup@ops"#,
        )
        .unwrap();
        assert_eq!(
            k.option(b"command").unwrap(),
            b"/usr/bin/rsync --server -e.LsfxC . /backup"
        );
        assert_eq!(k.option(b"from").unwrap(), b"10.0.0.0/8");
        assert_eq!(k.key_type, b"ssh-ed25519");
        assert_eq!(k.comment, b"backup@ops");
        assert!(k.fingerprint().starts_with("SHA256:"));
        let plain = parse_key_line(b"ssh-rsa AAAAB3Nza user@host").unwrap();
        assert!(plain.options.is_empty());
        assert!(parse_key_line(b"not a key").is_none());
        assert!(parse_key_line(b"command=\"unterminated").is_none());
    }

    #[test]
    fn keywords_split_on_space_or_equals() {
        assert_eq!(
            split_keyword(b"PermitRootLogin yes"),
            (&b"PermitRootLogin"[..], &b"yes"[..])
        );
        assert_eq!(
            split_keyword(b"ForceCommand=/bin/x -y"),
            (&b"ForceCommand"[..], &b"/bin/x -y"[..])
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_key_line(&line);
            let _ = split_keyword(&line);
        }
    }
}
