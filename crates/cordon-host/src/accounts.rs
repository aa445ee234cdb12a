//! `/etc/passwd` and `/etc/group`, parsed here rather than looked up.
//!
//! A static glibc binary that calls `getpwuid` would load the examined host's `libnss_*.so` — code
//! the attacker may control — and a mounted image's accounts are not the running system's anyway.
//! The formats are `passwd(5)` and `group(5)`: colon-separated, one record a line. No crate parses
//! these from bytes without going through libc, so the few lines below do it; fields stay raw bytes
//! (a hostile user name may hold anything but `:` and `\n`).

use std::path::Path;

use crate::Error;
use crate::open::read_capped;

/// Largest account file read (a real one is a few KiB; a hostile one must not exhaust memory).
pub const ACCOUNT_FILE_CAP: u64 = 16 * 1024 * 1024;

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// 1-based line number in the file.
    pub line_no: usize,
    /// Login name (raw bytes).
    pub name: Vec<u8>,
    /// Numeric user id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// GECOS / comment field.
    pub gecos: Vec<u8>,
    /// Home directory.
    pub home: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// 1-based line number in the file.
    pub line_no: usize,
    /// Group name.
    pub name: Vec<u8>,
    /// Numeric group id.
    pub gid: u32,
    /// Member login names.
    pub members: Vec<Vec<u8>>,
}

/// A line that is not a valid record (kept: a malformed line in an account file is itself a clue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line_no: usize,
    /// The raw line.
    pub line: Vec<u8>,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Parses the bytes of a `passwd(5)` file.
pub fn parse_passwd(bytes: &[u8]) -> (Vec<PasswdEntry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (line_no, line) in records(bytes) {
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let [name, _pw, uid, gid, gecos, home, shell] = fields.as_slice() else {
            bad.push(BadLine {
                line_no,
                line: line.to_vec(),
                why: "not 7 colon-separated fields",
            });
            continue;
        };
        let (Some(uid), Some(gid)) = (parse_id(uid), parse_id(gid)) else {
            bad.push(BadLine {
                line_no,
                line: line.to_vec(),
                why: "uid or gid is not a number",
            });
            continue;
        };
        entries.push(PasswdEntry {
            line_no,
            name: name.to_vec(),
            uid,
            gid,
            gecos: gecos.to_vec(),
            home: home.to_vec(),
            shell: shell.to_vec(),
        });
    }
    (entries, bad)
}

/// Parses the bytes of a `group(5)` file.
pub fn parse_group(bytes: &[u8]) -> (Vec<GroupEntry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (line_no, line) in records(bytes) {
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let [name, _pw, gid, members] = fields.as_slice() else {
            bad.push(BadLine {
                line_no,
                line: line.to_vec(),
                why: "not 4 colon-separated fields",
            });
            continue;
        };
        let Some(gid) = parse_id(gid) else {
            bad.push(BadLine {
                line_no,
                line: line.to_vec(),
                why: "gid is not a number",
            });
            continue;
        };
        let members = members
            .split(|&b| b == b',')
            .filter(|m| !m.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        entries.push(GroupEntry {
            line_no,
            name: name.to_vec(),
            gid,
            members,
        });
    }
    (entries, bad)
}

/// Reads and parses `<root>/etc/passwd`.
pub fn read_passwd(root: &Path) -> Result<(Vec<PasswdEntry>, Vec<BadLine>), Error> {
    let file = read_capped(&root.join("etc/passwd"), ACCOUNT_FILE_CAP)?;
    Ok(parse_passwd(&file.bytes))
}

/// Reads and parses `<root>/etc/group`.
pub fn read_group(root: &Path) -> Result<(Vec<GroupEntry>, Vec<BadLine>), Error> {
    let file = read_capped(&root.join("etc/group"), ACCOUNT_FILE_CAP)?;
    Ok(parse_group(&file.bytes))
}

/// The login name of `uid` in `<root>/etc/passwd`, if there is exactly such a line.
pub fn user_name(root: &Path, uid: u32) -> Option<Vec<u8>> {
    let (entries, _) = read_passwd(root).ok()?;
    entries.into_iter().find(|e| e.uid == uid).map(|e| e.name)
}

/// Non-empty, non-comment lines with their 1-based numbers.
fn records(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with(b"#"))
}

fn parse_id(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_lines_and_keeps_malformed_ones() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\n\
            www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n\
            evil\x1b[2J:x:0:0::/root:/bin/sh\n\
            broken:x:abc:0::/:/bin/sh\n\
            short:x:1\n";
        let (entries, bad) = parse_passwd(passwd);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].name, b"www-data");
        assert_eq!(entries[1].uid, 33);
        assert_eq!(entries[2].name, b"evil\x1b[2J");
        assert_eq!(entries[2].uid, 0);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].line_no, 4);
        assert_eq!(bad[1].why, "not 7 colon-separated fields");
    }

    #[test]
    fn parses_groups_with_members() {
        let (groups, bad) = parse_group(b"sudo:x:27:alice,bob\nadm:x:4:\n");
        assert!(bad.is_empty());
        assert_eq!(groups[0].members, vec![b"alice".to_vec(), b"bob".to_vec()]);
        assert!(groups[1].members.is_empty());
    }
}
