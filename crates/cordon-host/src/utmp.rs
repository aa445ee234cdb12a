//! `utmp`/`wtmp`/`btmp` records (glibc x86-64 layout, 384 bytes), parsed from bytes.
//!
//! Fields stay raw: a forged record can hold any bytes in its user, line and host fields. Offsets
//! (see `utmp(5)`, `struct utmp` with the 32-bit time fields glibc uses for compatibility):
//! type 0, pid 4, line 8 (32), id 40 (4), user 44 (32), host 76 (256), exit 332, session 336,
//! tv_sec 340, tv_usec 344, addr_v6 348 (16), unused 364 (20).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Size of one record.
pub const RECORD_SIZE: usize = 384;

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtmpRecord {
    /// Byte offset in the file.
    pub offset: u64,
    /// `ut_type` (7 = USER_PROCESS, 8 = DEAD_PROCESS, 2 = BOOT_TIME, 1 = RUN_LVL …).
    pub kind: i16,
    /// Process id.
    pub pid: i32,
    /// Terminal line (`pts/0`).
    pub line: Vec<u8>,
    /// Terminal id.
    pub id: Vec<u8>,
    /// User name.
    pub user: Vec<u8>,
    /// Remote host.
    pub host: Vec<u8>,
    /// Session id.
    pub session: i32,
    /// Seconds since the epoch.
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
    /// Remote address (IPv4 in the first word, or IPv6), when not all zero.
    pub addr: Option<IpAddr>,
}

/// The name of a `ut_type`.
pub fn kind_name(kind: i16) -> &'static str {
    match kind {
        0 => "EMPTY",
        1 => "RUN_LVL",
        2 => "BOOT_TIME",
        3 => "NEW_TIME",
        4 => "OLD_TIME",
        5 => "INIT_PROCESS",
        6 => "LOGIN_PROCESS",
        7 => "USER_PROCESS",
        8 => "DEAD_PROCESS",
        9 => "ACCOUNTING",
        _ => "UNKNOWN",
    }
}

fn cstr(b: &[u8]) -> Vec<u8> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b.get(..end).unwrap_or_default().to_vec()
}

fn i32_at(r: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(r.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a whole file; returns the records and the number of trailing bytes that do not form a
/// full record (a truncated or tampered file).
pub fn parse(bytes: &[u8]) -> (Vec<UtmpRecord>, usize) {
    let mut out = Vec::new();
    let chunks = bytes.chunks_exact(RECORD_SIZE);
    let rest = chunks.remainder().len();
    for (i, r) in chunks.enumerate() {
        let Some(rec) = parse_record(r, (i * RECORD_SIZE) as u64) else {
            continue;
        };
        out.push(rec);
    }
    (out, rest)
}

fn parse_record(r: &[u8], offset: u64) -> Option<UtmpRecord> {
    let kind = i16::from_le_bytes(r.get(0..2)?.try_into().ok()?);
    let addr_bytes: [u8; 16] = r.get(348..364)?.try_into().ok()?;
    let addr = if addr_bytes.iter().all(|&b| b == 0) {
        None
    } else if addr_bytes.get(4..).is_some_and(|t| t.iter().all(|&b| b == 0)) {
        let v4: [u8; 4] = addr_bytes.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else {
        Some(IpAddr::V6(Ipv6Addr::from(addr_bytes)))
    };
    Some(UtmpRecord {
        offset,
        kind,
        pid: i32_at(r, 4)?,
        line: cstr(r.get(8..40)?),
        id: cstr(r.get(40..44)?),
        user: cstr(r.get(44..76)?),
        host: cstr(r.get(76..332)?),
        session: i32_at(r, 336)?,
        sec: i64::from(i32_at(r, 340)?),
        usec: i64::from(i32_at(r, 344)?),
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_user_record_and_counts_the_tail() {
        let mut r = vec![0u8; RECORD_SIZE];
        r[0..2].copy_from_slice(&7i16.to_le_bytes());
        r[4..8].copy_from_slice(&4242i32.to_le_bytes());
        r[8..13].copy_from_slice(b"pts/0");
        r[44..49].copy_from_slice(b"alice");
        r[76..87].copy_from_slice(b"203.0.113.5");
        r[340..344].copy_from_slice(&1_713_582_847i32.to_le_bytes());
        r[348..352].copy_from_slice(&[203, 0, 113, 5]);
        r.extend_from_slice(&[1, 2, 3]);
        let (recs, tail) = parse(&r);
        assert_eq!(tail, 3);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].user, b"alice");
        assert_eq!(kind_name(recs[0].kind), "USER_PROCESS");
        assert_eq!(recs[0].sec, 1_713_582_847);
        assert_eq!(recs[0].addr, Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5))));
    }
}
