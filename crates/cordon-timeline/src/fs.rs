//! The filesystem timeline: `statx` of every file below a start directory of the target (mtime, atime,
//! ctime and, where the filesystem keeps it, birth time), through the host crate's no-atime,
//! no-follow walker. Entries are kept compact ([`FsEntry`]) and become up to four events only when
//! written; the bodyfile writer streams them without keeping anything.

use std::io::Write;

use cordon_core::Event;
use cordon_host::Target;
use cordon_host::meta::{FileMeta, FileTime, mode_string};
use cordon_host::walk::{Event as WalkEvent, Visit, WalkOptions, walk};
use jiff::Timestamp;
use serde_json::{Map, json};

use crate::Error;

/// One file's metadata, as much as the timeline needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// Path as the examined system writes it.
    pub path: Vec<u8>,
    /// Inode.
    pub ino: u64,
    /// `st_mode`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size.
    pub size: u64,
    /// atime, mtime, ctime, btime (in that order, as mactime's columns).
    pub times: [Option<FileTime>; 4],
}

/// The four kinds of file time, in [`FsEntry::times`] order.
pub const TIME_KINDS: [(&str, &str); 4] = [
    ("atime", "Last Access Time"),
    ("mtime", "Content Modification Time"),
    ("ctime", "Metadata Modification Time"),
    ("btime", "Creation Time"),
];

impl FsEntry {
    /// From a walk entry.
    pub fn new(path: &[u8], m: &FileMeta) -> FsEntry {
        FsEntry {
            path: path.to_vec(),
            ino: m.ino,
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
            size: m.size,
            times: [m.atime, m.mtime, m.ctime, m.btime],
        }
    }

    /// The event for time `which` (index into [`TIME_KINDS`]), if the file has that time.
    pub fn event(&self, which: usize, host: &str) -> Option<Event> {
        let ft = (*self.times.get(which)?)?;
        let (short, desc) = *TIME_KINDS.get(which)?;
        let time = Timestamp::new(ft.sec, i32::try_from(ft.nsec).ok()?).ok()?;
        let mut attrs = Map::new();
        attrs.insert("inode".into(), json!(self.ino));
        attrs.insert("mode".into(), json!(mode_string(self.mode)));
        attrs.insert("uid".into(), json!(self.uid));
        attrs.insert("gid".into(), json!(self.gid));
        attrs.insert("size".into(), json!(self.size));
        attrs.insert("time_kind".into(), json!(short));
        cordon_core::bytes_json::insert_bytes(&mut attrs, "path", &self.path);
        Some(Event {
            time,
            timestamp_desc: desc.to_owned(),
            message: self.path.clone(),
            source: b"statx".to_vec(),
            line: None,
            host: host.to_owned(),
            data_type: "fs:stat".to_owned(),
            attrs,
        })
    }
}

/// What a walk met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Entries seen.
    pub entries: u64,
    /// Entries kept (inside the time filter).
    pub kept: u64,
    /// Errors (vanished files, permission denied), counted, never fatal.
    pub errors: u64,
    /// Directories not entered (mount points, loops …).
    pub skipped: u64,
    /// Directories whose atime may have changed (listed without `O_NOATIME`).
    pub atime_touched_dirs: u64,
}

/// Walks `start` (a path of the examined system) and calls `f` with every entry. `keep` filters.
pub fn walk_entries(
    target: &Target,
    start: &[u8],
    opts: &WalkOptions,
    f: &mut dyn FnMut(&[u8], &FileMeta),
) -> Result<FsStats, Error> {
    let root = cordon_host::open::open_root(target.root())?;
    let mut stats = FsStats::default();
    let res = walk(&root.fd, start, opts, &mut |ev| {
        match ev {
            WalkEvent::Entry(e) => {
                stats.entries += 1;
                f(e.path, e.meta);
            }
            WalkEvent::Skipped { .. } => stats.skipped += 1,
            WalkEvent::Error { .. } => stats.errors += 1,
        }
        Visit::Continue
    })
    .map_err(|e| Error::Walk {
        path: String::from_utf8_lossy(start).into_owned(),
        source: e.into(),
    })?;
    stats.atime_touched_dirs = res.atime_touched_dirs;
    Ok(stats)
}

/// True when any of the entry's times lies in `[from, to]` (either bound optional).
pub fn in_range(times: &[Option<FileTime>; 4], from: Option<Timestamp>, to: Option<Timestamp>) -> bool {
    if from.is_none() && to.is_none() {
        return true;
    }
    times.iter().flatten().any(|t| {
        let Ok(ts) = Timestamp::new(t.sec, i32::try_from(t.nsec).unwrap_or(0)) else {
            return false;
        };
        from.is_none_or(|f| ts >= f) && to.is_none_or(|u| ts <= u)
    })
}

/// Escapes a name for a bodyfile: mactime URL-decodes `%XX` in every field, so `%`, `|`, control
/// characters, non-ASCII bytes that are not UTF-8 and DEL become `%XX` — lossless and one line.
pub fn bodyfile_name(name: &[u8], out: &mut Vec<u8>) {
    for chunk in name.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            if b == b'%' || b == b'|' || b < 0x20 || b == 0x7f {
                let _ = write!(out, "%{b:02X}");
            } else {
                out.push(b);
            }
        }
        for &b in chunk.invalid() {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn secs(t: Option<FileTime>) -> i64 {
    t.map_or(0, |t| t.sec)
}

/// TSK's mode field: `r/rrw-r--r--`, `d/drwxr-xr-x`, `l/lrwxrwxrwx`.
pub fn bodyfile_mode(mode: u32) -> String {
    let s = mode_string(mode);
    let mut chars = s.chars();
    let kind = match chars.next() {
        Some('-') | None => 'r',
        Some(c) => c,
    };
    format!("{kind}/{kind}{}", chars.as_str())
}

/// One bodyfile (TSK 3) line: `MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime`.
#[allow(clippy::too_many_arguments)]
pub fn bodyfile_line(
    path: &[u8],
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    times: &[Option<FileTime>; 4],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"0|");
    bodyfile_name(path, out);
    let [a, m, c, b] = *times;
    let _ = writeln!(
        out,
        "|{ino}|{}|{uid}|{gid}|{size}|{}|{}|{}|{}",
        bodyfile_mode(mode),
        secs(a),
        secs(m),
        secs(c),
        secs(b)
    );
}

/// Streams the bodyfile of everything below `start` to `w`, keeping entries with a time in range.
pub fn write_bodyfile(
    target: &Target,
    start: &[u8],
    opts: &WalkOptions,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    w: &mut dyn Write,
) -> Result<FsStats, Error> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut kept = 0u64;
    let mut werr: Option<std::io::Error> = None;
    let mut stats = walk_entries(target, start, opts, &mut |path, m| {
        let times = [m.atime, m.mtime, m.ctime, m.btime];
        if werr.is_some() || !in_range(&times, from, to) {
            return;
        }
        kept += 1;
        bodyfile_line(path, m.ino, m.mode, m.uid, m.gid, m.size, &times, &mut buf);
        if buf.len() >= 1 << 16 {
            if let Err(e) = w.write_all(&buf) {
                werr = Some(e);
            }
            buf.clear();
        }
    })?;
    if let Some(e) = werr {
        return Err(Error::Write {
            what: "bodyfile",
            source: e,
        });
    }
    w.write_all(&buf).map_err(|source| Error::Write {
        what: "bodyfile",
        source,
    })?;
    stats.kept = kept;
    Ok(stats)
}

/// Mode bits from a bodyfile mode field (`r/rrw-r--r--`, `d/drwxr-xr-x`, `-/-rwsr-xr-x`).
pub fn mode_from_bodyfile(s: &str) -> u32 {
    let perms = s.rsplit('/').next().unwrap_or(s);
    let mut chars = perms.chars();
    let kind = match chars.next() {
        Some('d') => 0o040_000,
        Some('l') => 0o120_000,
        Some('c') => 0o020_000,
        Some('b') => 0o060_000,
        Some('p') => 0o010_000,
        Some('s') => 0o140_000,
        _ => 0o100_000,
    };
    let bits: Vec<char> = chars.collect();
    let mut mode = kind;
    for (i, (c, bit)) in bits
        .iter()
        .zip([0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001])
        .enumerate()
    {
        match (i, c) {
            (_, 'r' | 'w' | 'x') => mode |= bit,
            (2, 's') => mode |= bit | 0o4000,
            (2, 'S') => mode |= 0o4000,
            (5, 's') => mode |= bit | 0o2000,
            (5, 'S') => mode |= 0o2000,
            (8, 't') => mode |= bit | 0o1000,
            (8, 'T') => mode |= 0o1000,
            _ => {}
        }
    }
    mode
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%'
            && let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn body_time(s: &[u8]) -> Option<FileTime> {
    let text = std::str::from_utf8(s).ok()?;
    let (sec, frac) = text.split_once('.').unwrap_or((text, ""));
    let sec: i64 = sec.parse().ok()?;
    if sec == 0 {
        return None;
    }
    let mut nsec = 0u32;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nsec += u32::from(d.checked_sub(b'0')?) * 10u32.pow(8 - u32::try_from(i).ok()?);
    }
    Some(FileTime { sec, nsec })
}

/// Parses one TSK 3 bodyfile line (as `cordon collect` writes `bodyfile.txt`); `None` for comments
/// and lines mactime would skip.
pub fn parse_bodyfile_line(line: &[u8]) -> Option<FsEntry> {
    if line.starts_with(b"#") {
        return None;
    }
    let f: Vec<&[u8]> = line.split(|&c| c == b'|').collect();
    if f.len() != 11 {
        return None;
    }
    let num = |i: usize| -> Option<u64> { std::str::from_utf8(f.get(i)?).ok()?.parse().ok() };
    Some(FsEntry {
        path: percent_decode(f.get(1)?),
        ino: num(2).unwrap_or(0),
        mode: mode_from_bodyfile(std::str::from_utf8(f.get(3)?).ok()?),
        uid: u32::try_from(num(4)?).ok()?,
        gid: u32::try_from(num(5)?).ok()?,
        size: num(6)?,
        times: [
            body_time(f.get(7)?),
            body_time(f.get(8)?),
            body_time(f.get(9)?),
            body_time(f.get(10)?),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodyfile_names_are_escaped_losslessly() {
        let mut out = Vec::new();
        bodyfile_name(b"/tmp/a|b%c\nd\xffe\x1b[2J caf\xc3\xa9", &mut out);
        assert_eq!(out, b"/tmp/a%7Cb%25c%0Ad%FFe%1B[2J caf\xc3\xa9");
        assert_eq!(bodyfile_mode(0o100644), "r/rrw-r--r--");
        assert_eq!(bodyfile_mode(0o040755), "d/drwxr-xr-x");
    }

    #[test]
    fn bodyfile_lines_read_back() {
        let mut line = Vec::new();
        let times = [
            None,
            Some(FileTime {
                sec: 1_700_000_000,
                nsec: 0,
            }),
            Some(FileTime {
                sec: 1_700_000_001,
                nsec: 0,
            }),
            None,
        ];
        bodyfile_line(b"/tmp/x|y", 42, 0o104755, 0, 0, 9, &times, &mut line);
        let e = parse_bodyfile_line(line.strip_suffix(b"\n").unwrap()).unwrap();
        assert_eq!(
            (e.path.as_slice(), e.ino, e.mode, e.size),
            (&b"/tmp/x|y"[..], 42, 0o104755, 9)
        );
        assert_eq!(e.times, times);
    }
}
