//! Baselines: an AIDE-style record of a tree, and what changed since.
//!
//! # Format (version 1)
//!
//! A zstd-compressed [JSON Lines](https://jsonlines.org) file. The first line is a header:
//! `{"format":"cordon-baseline","version":1,"hash":"blake3"|"sha256","created":"<RFC 3339 UTC>",
//! "starts":["/usr", …],"entries":<count>}`. Every further line is one filesystem object, sorted by
//! path:
//!
//! | field | meaning |
//! |---|---|
//! | `path` (`path_b64` when not UTF-8) | path on the examined system |
//! | `type` | `file`, `dir`, `symlink`, `fifo`, `socket`, `char`, `block` |
//! | `mode` | permission bits in octal, setuid/setgid/sticky included (`"4755"`) |
//! | `uid`, `gid`, `size`, `ino`, `nlink` | numbers from `statx` |
//! | `mtime`, `ctime` | `"<seconds>.<nanoseconds>"` since the epoch |
//! | `hash` | hex digest of a regular file's content (algorithm in the header); absent when unreadable |
//! | `unstable` | `true` when the file changed while it was hashed (the hash is not trusted) |
//! | `link` (`link_b64`) | a symlink's target |
//! | `caps` | hex of the `security.capability` extended attribute (file capabilities) |
//! | `flags` | inode flags that matter: `immutable`, `append` |
//!
//! Diffing walks the tree again with the same starts and algorithm and reports added, removed and
//! changed entries with the names of the fields that changed.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::fd::{AsFd as _, BorrowedFd};
use std::path::Path;

use cordon_core::{Clock, Confidence, Finding, Severity, format_utc};
use cordon_host::meta::FileMeta;
use cordon_host::open::{open_in_root, open_root};
use cordon_host::walk::{Event, Visit, WalkOptions, walk};
use rayon::prelude::*;
use rustix::fs::FileType;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::hash::{Algo, hash_file};
use crate::rootfs::{Lookup, describe};

/// Largest line accepted when reading a baseline (a path is at most a few KiB).
const LINE_CAP: u64 = 1024 * 1024;

/// One recorded object: the JSON fields of the format above.
pub type Entry = Map<String, Value>;

/// A snapshot of a tree.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The header line.
    pub header: Map<String, Value>,
    /// Entries by path (raw bytes).
    pub entries: BTreeMap<Vec<u8>, Entry>,
    /// Walk and read errors (the run went on).
    pub problems: Vec<String>,
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "file",
        FileType::Directory => "dir",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "char",
        FileType::BlockDevice => "block",
        FileType::Unknown => "unknown",
    }
}

fn time(t: Option<cordon_host::meta::FileTime>) -> Value {
    t.map_or(Value::Null, |t| json!(format!("{}.{:09}", t.sec, t.nsec)))
}

fn base_entry(path: &[u8], m: &FileMeta) -> Entry {
    let mut e = Map::new();
    cordon_core::bytes_json::insert_bytes(&mut e, "path", path);
    e.insert("type".into(), json!(type_name(m.file_type())));
    e.insert("mode".into(), json!(format!("{:04o}", m.mode & 0o7777)));
    e.insert("uid".into(), json!(m.uid));
    e.insert("gid".into(), json!(m.gid));
    e.insert("size".into(), json!(m.size));
    e.insert("ino".into(), json!(m.ino));
    e.insert("nlink".into(), json!(m.nlink));
    e.insert("mtime".into(), time(m.mtime));
    e.insert("ctime".into(), time(m.ctime));
    e
}

fn file_extras(
    root: BorrowedFd<'_>,
    path: &[u8],
    m: &FileMeta,
    algo: Algo,
    buf: &mut Vec<u8>,
    e: &mut Entry,
) -> Option<String> {
    match m.file_type() {
        FileType::RegularFile => {
            let (fd, _) = match open_in_root(root, path, false) {
                Ok(x) => x,
                Err(err) => return Some(format!("open {}: {err}", String::from_utf8_lossy(path))),
            };
            let mut file = std::fs::File::from(fd);
            let mut cap = vec![0u8; 128];
            if let Ok(n) = rustix::fs::fgetxattr(&file, "security.capability", &mut cap[..]) {
                cap.truncate(n);
                e.insert("caps".into(), json!(hex::encode(&cap)));
            }
            if let Ok(flags) = rustix::fs::ioctl_getflags(&file) {
                let mut names = Vec::new();
                if flags.contains(rustix::fs::IFlags::IMMUTABLE) {
                    names.push("immutable");
                }
                if flags.contains(rustix::fs::IFlags::APPEND) {
                    names.push("append");
                }
                if !names.is_empty() {
                    e.insert("flags".into(), json!(names));
                }
            }
            match hash_file(&mut file, &[algo], buf) {
                Ok(d) => {
                    if let Some(h) = d.digests.get(algo) {
                        e.insert("hash".into(), json!(h));
                    }
                    if d.unstable {
                        e.insert("unstable".into(), json!(true));
                    }
                    None
                }
                Err(err) => Some(format!("read {}: {err}", String::from_utf8_lossy(path))),
            }
        }
        FileType::Symlink => {
            if let Lookup::Other { link: Some(l), .. } = describe(root, path) {
                cordon_core::bytes_json::insert_bytes(e, "link", &l);
            }
            None
        }
        _ => None,
    }
}

/// Records the trees at `starts` (paths of the examined system) below `root`.
pub fn snapshot(root: &Path, starts: &[Vec<u8>], algo: Algo, clock: &dyn Clock) -> Result<Snapshot, Error> {
    let root_dir = open_root(root)?;
    let rfd = root_dir.fd.as_fd();
    let mut wopts = WalkOptions::default();
    if let Ok(mounts) = cordon_host::mounts::read_own_mountinfo() {
        wopts.skip_mounts = mounts
            .iter()
            .filter(|m| cordon_host::mounts::is_pseudo_or_network(&m.fs_type))
            .map(|m| m.id)
            .collect();
    }
    let mut found: Vec<(Vec<u8>, FileMeta)> = Vec::new();
    let mut problems = Vec::new();
    for start in starts {
        let res = walk(rfd, start, &wopts, &mut |ev| {
            match ev {
                Event::Entry(e) => found.push((e.path.to_vec(), e.meta.clone())),
                Event::Error { path, what, errno } => {
                    problems.push(format!("{what} {}: {errno}", String::from_utf8_lossy(path)));
                }
                Event::Skipped { .. } => {}
            }
            Visit::Continue
        });
        if let Err(e) = res {
            problems.push(format!("{}: {e}", String::from_utf8_lossy(start)));
        }
    }
    let done: Vec<(Vec<u8>, Entry, Option<String>)> = found
        .par_iter()
        .map_init(Vec::new, |buf, (path, meta)| {
            let mut e = base_entry(path, meta);
            let p = file_extras(rfd, path, meta, algo, buf, &mut e);
            (path.clone(), e, p)
        })
        .collect();
    let mut snap = Snapshot::default();
    for (path, e, p) in done {
        problems.extend(p);
        snap.entries.insert(path, e);
    }
    snap.problems = problems;
    let mut h = Map::new();
    h.insert("format".into(), json!("cordon-baseline"));
    h.insert("version".into(), json!(1));
    h.insert("hash".into(), json!(algo.as_str()));
    h.insert("created".into(), json!(format_utc(clock.now())));
    h.insert(
        "starts".into(),
        json!(
            starts
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>()
        ),
    );
    h.insert("entries".into(), json!(snap.entries.len()));
    snap.header = h;
    Ok(snap)
}

/// Writes a snapshot to `out` (a new file: an existing one is never overwritten).
pub fn write(snap: &Snapshot, out: &Path) -> Result<(), Error> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| Error::io("create", out, e))?;
    let mut z = zstd::Encoder::new(f, 3).map_err(|e| Error::io("compress", out, e))?;
    let io = |e| Error::io("write", out, e);
    writeln!(z, "{}", Value::Object(snap.header.clone())).map_err(io)?;
    for e in snap.entries.values() {
        writeln!(z, "{}", Value::Object(e.clone())).map_err(io)?;
    }
    z.finish().map_err(io)?.sync_all().map_err(io)?;
    Ok(())
}

fn entry_path(e: &Entry) -> Option<Vec<u8>> {
    match e.get("path_b64").and_then(Value::as_str) {
        Some(b) => cordon_core::bytes_json::decode_b64(b).ok(),
        None => e
            .get("path")
            .and_then(Value::as_str)
            .map(|s| s.as_bytes().to_vec()),
    }
}

/// Reads a baseline file. Malformed entry lines are reported (with their number) and skipped.
pub fn read(path: &Path) -> Result<Snapshot, Error> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let z = zstd::Decoder::new(f).map_err(|e| Error::io("decompress", path, e))?;
    let mut r = BufReader::new(z);
    let mut snap = Snapshot::default();
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let got = (&mut r)
            .take(LINE_CAP)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::Malformed {
                path: path.to_owned(),
                what: format!("line {}: {e}", n + 1),
            })?;
        if got == 0 {
            break;
        }
        n += 1;
        let v: Result<Map<String, Value>, _> = serde_json::from_slice(&line);
        if n == 1 {
            match v {
                Ok(h) if h.get("format").and_then(Value::as_str) == Some("cordon-baseline") => {
                    snap.header = h
                }
                _ => {
                    return Err(Error::Malformed {
                        path: path.to_owned(),
                        what: "not a cordon baseline (no header line)".into(),
                    });
                }
            }
            continue;
        }
        match v.ok().and_then(|e| entry_path(&e).map(|p| (p, e))) {
            Some((p, e)) => {
                snap.entries.insert(p, e);
            }
            None => snap
                .problems
                .push(format!("{}:{n}: malformed entry; skipped", path.display())),
        }
    }
    if snap.header.is_empty() {
        return Err(Error::Malformed {
            path: path.to_owned(),
            what: "empty".into(),
        });
    }
    Ok(snap)
}

/// How an entry differs.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New since the baseline.
    Added(Entry),
    /// Gone since the baseline.
    Removed(Entry),
    /// Present in both; the fields that differ, old and new entries.
    Changed {
        /// Names of the differing fields.
        fields: Vec<String>,
        /// Recorded.
        old: Entry,
        /// Now.
        new: Entry,
    },
}

const COMPARED: [&str; 13] = [
    "type", "mode", "uid", "gid", "size", "mtime", "ctime", "ino", "hash", "link", "link_b64", "caps",
    "flags",
];

/// Differences between a baseline and a snapshot taken now, by path.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<(Vec<u8>, Change)> {
    let mut out = Vec::new();
    for (p, o) in &old.entries {
        match new.entries.get(p) {
            None => out.push((p.clone(), Change::Removed(o.clone()))),
            Some(n) => {
                let fields: Vec<String> = COMPARED
                    .iter()
                    .filter(|f| o.get(**f) != n.get(**f))
                    .map(|f| (*f).to_owned())
                    .collect();
                if !fields.is_empty() {
                    out.push((
                        p.clone(),
                        Change::Changed {
                            fields,
                            old: o.clone(),
                            new: n.clone(),
                        },
                    ));
                }
            }
        }
    }
    for (p, n) in &new.entries {
        if !old.entries.contains_key(p) {
            out.push((p.clone(), Change::Added(n.clone())));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn exec_or_special(e: &Entry) -> bool {
    let mode = e
        .get("mode")
        .and_then(Value::as_str)
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .unwrap_or(0);
    mode & 0o6111 != 0 || e.contains_key("caps")
}

/// The finding for one difference.
pub fn to_finding(path: &[u8], c: &Change, target: &str) -> Finding {
    let p = String::from_utf8_lossy(path);
    let (check, sev, summary, attrs) = match c {
        Change::Added(n) => (
            "baseline.added",
            if exec_or_special(n) {
                Severity::Medium
            } else {
                Severity::Low
            },
            format!("{p} is new since the baseline"),
            json!({"status": "added", "new": n}),
        ),
        Change::Removed(o) => (
            "baseline.removed",
            Severity::Low,
            format!("{p} was removed since the baseline"),
            json!({"status": "removed", "old": o}),
        ),
        Change::Changed { fields, old, new } => {
            let serious = ["hash", "type", "link", "link_b64", "caps", "flags"]
                .iter()
                .any(|f| fields.iter().any(|x| x == f));
            let setid_added = {
                let m = |e: &Entry| {
                    e.get("mode")
                        .and_then(Value::as_str)
                        .and_then(|m| u32::from_str_radix(m, 8).ok())
                        .unwrap_or(0)
                };
                m(new) & !m(old) & 0o6000 != 0
            };
            let sev = if setid_added || (serious && exec_or_special(new)) {
                Severity::High
            } else if serious || fields.iter().any(|f| f == "mode" || f == "uid" || f == "gid") {
                Severity::Medium
            } else {
                Severity::Low
            };
            (
                "baseline.changed",
                sev,
                format!("{p} changed since the baseline: {}", fields.join(", ")),
                json!({"status": "changed", "fields": fields, "old": old, "new": new,
                       "expected": old.get("hash"), "actual": new.get("hash")}),
            )
        }
    };
    let mut f = Finding::new(
        check,
        sev,
        Confidence::Medium,
        summary.clone(),
        "check who changed it and when (ctime), against the change log of the system",
        target,
    )
    .path(path.to_vec())
    .evidence(summary.into_bytes());
    if let Value::Object(m) = attrs {
        for (k, v) in m {
            f = f.attr(&k, v);
        }
    }
    f
}

/// Paths the baseline was taken over, as raw bytes.
pub fn starts_of(snap: &Snapshot) -> Vec<Vec<u8>> {
    snap.header
        .get("starts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.as_bytes().to_vec())
                .collect()
        })
        .unwrap_or_else(|| vec![b"/".to_vec()])
}

/// The hash algorithm a baseline used.
pub fn algo_of(snap: &Snapshot) -> Algo {
    snap.header
        .get("hash")
        .and_then(Value::as_str)
        .and_then(Algo::parse)
        .unwrap_or(Algo::Blake3)
}
