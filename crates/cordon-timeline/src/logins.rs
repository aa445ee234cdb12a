//! Login records: `utmp`/`wtmp`/`btmp` and `lastlog`.
//!
//! glibc's `struct utmp` is 384 bytes on x86-64 (32-bit `ut_tv`, read with
//! [`cordon_host::utmp`]) and 400 bytes on aarch64 and other 64-bit ABIs without the 32-bit time
//! compatibility (`ut_session` 8 bytes at 336, `ut_tv` 16 bytes at 344, `ut_addr_v6` at 360). A file
//! from either kind of machine may be examined on the other, so the layout is detected from the data
//! (as Plaso does): the size that divides the file, else the one whose first records look sane.
//!
//! wtmp is append-only history, so an all-zero record inside it, a record of an unknown type, a tail
//! that is not a whole record, or a time earlier than the record before are signs of tampering (log
//! cleaners zero or cut records); each is reported as an [`Anomaly`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cordon_host::utmp::{RECORD_SIZE as X86_64_SIZE, UtmpRecord, kind_name};

/// Size of a record on aarch64 (64-bit `ut_tv`).
pub const AARCH64_SIZE: usize = 400;

/// The record layout of a utmp-family file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 384 bytes, 32-bit times (x86-64, i386).
    X86_64,
    /// 400 bytes, 64-bit times (aarch64, ppc64le, s390x …).
    Aarch64,
}

impl Layout {
    /// Bytes per record.
    pub fn size(self) -> usize {
        match self {
            Layout::X86_64 => X86_64_SIZE,
            Layout::Aarch64 => AARCH64_SIZE,
        }
    }
}

/// Something wrong with a login-record file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// An all-zero record (in wtmp/btmp: wiped).
    Zeroed {
        /// Record index (0-based).
        index: u64,
    },
    /// A record whose type or time is impossible.
    Garbage {
        /// Record index.
        index: u64,
        /// Its raw `ut_type`.
        kind: i16,
    },
    /// A tail shorter than one record.
    Truncated {
        /// Bytes left over.
        tail: usize,
    },
    /// A record earlier than the one before it (by more than a minute).
    Backwards {
        /// Record index.
        index: u64,
        /// Its time.
        sec: i64,
        /// The previous record's time.
        prev_sec: i64,
    },
}

/// The parsed file.
#[derive(Debug, Clone)]
pub struct UtmpFile {
    /// Detected layout.
    pub layout: Layout,
    /// Records that are neither all-zero nor garbage.
    pub records: Vec<UtmpRecord>,
    /// Everything odd about the file.
    pub anomalies: Vec<Anomaly>,
    /// Number of whole records in the file.
    pub total: u64,
}

fn cstr(b: &[u8]) -> Vec<u8> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b.get(..end).unwrap_or_default().to_vec()
}

fn i32_at(r: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(r.get(at..at + 4)?.try_into().ok()?))
}

fn i64_at(r: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_le_bytes(r.get(at..at + 8)?.try_into().ok()?))
}

fn addr_at(r: &[u8], at: usize) -> Option<Option<IpAddr>> {
    let b: [u8; 16] = r.get(at..at + 16)?.try_into().ok()?;
    Some(if b.iter().all(|&x| x == 0) {
        None
    } else if b.get(4..).is_some_and(|t| t.iter().all(|&x| x == 0)) {
        let v4: [u8; 4] = b.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else {
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    })
}

/// Decodes one aarch64 (400-byte) record.
fn parse_aarch64(r: &[u8], offset: u64) -> Option<UtmpRecord> {
    Some(UtmpRecord {
        offset,
        kind: i16::from_le_bytes(r.get(0..2)?.try_into().ok()?),
        pid: i32_at(r, 4)?,
        line: cstr(r.get(8..40)?),
        id: cstr(r.get(40..44)?),
        user: cstr(r.get(44..76)?),
        host: cstr(r.get(76..332)?),
        session: i32::try_from(i64_at(r, 336)?).unwrap_or(-1),
        sec: i64_at(r, 344)?,
        usec: i64_at(r, 352)?,
        addr: addr_at(r, 360)?,
    })
}

fn parse_record(layout: Layout, r: &[u8], offset: u64) -> Option<UtmpRecord> {
    match layout {
        Layout::X86_64 => cordon_host::utmp::parse(r).0.into_iter().next().map(|mut rec| {
            rec.offset = offset;
            rec
        }),
        Layout::Aarch64 => parse_aarch64(r, offset),
    }
}

/// 1990-01-01 and 2100-01-01: the plausible range of a login record's time.
const PLAUSIBLE: std::ops::Range<i64> = 631_152_000..4_102_444_800;

fn printable(b: &[u8]) -> bool {
    b.iter().all(|&c| (0x20..0x7f).contains(&c) || c >= 0x80)
}

/// True when a record looks like one glibc could have written.
fn sane(rec: &UtmpRecord) -> bool {
    (0..=9).contains(&rec.kind)
        && (rec.kind == 0 || PLAUSIBLE.contains(&rec.sec))
        && (0..1_000_000).contains(&rec.usec)
        && printable(&rec.line)
        && printable(&rec.user)
}

/// Picks the layout: the record size that divides the file; when both or neither do, the one whose
/// first 16 non-empty records are most often sane (ties: x86-64).
pub fn detect_layout(bytes: &[u8]) -> Layout {
    let fits = |size: usize| !bytes.is_empty() && bytes.len().is_multiple_of(size);
    match (fits(X86_64_SIZE), fits(AARCH64_SIZE)) {
        (true, false) => return Layout::X86_64,
        (false, true) => return Layout::Aarch64,
        _ => {}
    }
    let score = |layout: Layout| {
        bytes
            .chunks_exact(layout.size())
            .take(64)
            .filter(|r| r.iter().any(|&b| b != 0))
            .take(16)
            .filter(|r| parse_record(layout, r, 0).is_some_and(|rec| rec.kind != 0 && sane(&rec)))
            .count()
    };
    if score(Layout::Aarch64) > score(Layout::X86_64) {
        Layout::Aarch64
    } else {
        Layout::X86_64
    }
}

/// Parses a utmp/wtmp/btmp file. `append_only` (wtmp, btmp) turns all-zero records and time going
/// backwards into anomalies; in utmp (current sessions, slots reused) they are normal.
pub fn parse_utmp(bytes: &[u8], append_only: bool) -> UtmpFile {
    let layout = detect_layout(bytes);
    let size = layout.size();
    let chunks = bytes.chunks_exact(size);
    let tail = chunks.remainder().len();
    let mut out = UtmpFile {
        layout,
        records: Vec::new(),
        anomalies: Vec::new(),
        total: 0,
    };
    let mut prev_sec: Option<i64> = None;
    for (i, r) in chunks.enumerate() {
        let index = i as u64;
        out.total += 1;
        if r.iter().all(|&b| b == 0) {
            if append_only {
                out.anomalies.push(Anomaly::Zeroed { index });
            }
            continue;
        }
        let Some(rec) = parse_record(layout, r, index * size as u64) else {
            continue;
        };
        if !sane(&rec) {
            out.anomalies.push(Anomaly::Garbage {
                index,
                kind: rec.kind,
            });
            continue;
        }
        if rec.kind == 0 {
            continue;
        }
        if append_only {
            if let Some(p) = prev_sec
                && rec.sec + 60 < p
            {
                out.anomalies.push(Anomaly::Backwards {
                    index,
                    sec: rec.sec,
                    prev_sec: p,
                });
            }
            prev_sec = Some(prev_sec.map_or(rec.sec, |p| p.max(rec.sec)));
        }
        out.records.push(rec);
    }
    if tail > 0 {
        out.anomalies.push(Anomaly::Truncated { tail });
    }
    out
}

/// What a utmp record means, for the timeline's `timestamp_desc`.
pub fn describe(kind: i16, user: &[u8], failed: bool) -> &'static str {
    if failed {
        return "Failed Login";
    }
    match kind {
        1 if user == b"shutdown" => "System Shutdown",
        1 => "Run Level Change",
        2 => "System Boot",
        3 | 4 => "Clock Change",
        5 => "Init Process",
        6 => "Login Prompt",
        7 => "Login",
        8 => "Logout",
        _ => kind_name(kind),
    }
}

/// One `lastlog` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLog {
    /// The uid (the record's index).
    pub uid: u32,
    /// Seconds since the epoch.
    pub sec: i64,
    /// Terminal.
    pub line: Vec<u8>,
    /// Remote host.
    pub host: Vec<u8>,
}

/// Parses `/var/log/lastlog`: a sparse array indexed by uid of `{int32 time; char line[32]; char
/// host[256]}` (292 bytes; 296 with a 64-bit time on aarch64). All-zero entries (never logged in)
/// are skipped. Returns the entries and the length of a partial tail.
pub fn parse_lastlog(bytes: &[u8]) -> (Vec<LastLog>, usize) {
    let wide = !bytes.len().is_multiple_of(292) && bytes.len().is_multiple_of(296);
    let (size, time_len) = if wide { (296, 8) } else { (292, 4) };
    let chunks = bytes.chunks_exact(size);
    let tail = chunks.remainder().len();
    let mut out = Vec::new();
    for (uid, r) in chunks.enumerate() {
        if r.iter().all(|&b| b == 0) {
            continue;
        }
        let sec = if wide {
            i64_at(r, 0)
        } else {
            i32_at(r, 0).map(i64::from)
        };
        let (Some(sec), Some(line), Some(host)) = (
            sec,
            r.get(time_len..time_len + 32),
            r.get(time_len + 32..time_len + 288),
        ) else {
            continue;
        };
        out.push(LastLog {
            uid: u32::try_from(uid).unwrap_or(u32::MAX),
            sec,
            line: cstr(line),
            host: cstr(host),
        });
    }
    (out, tail)
}
