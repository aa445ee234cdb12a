//! utmp/wtmp/btmp/lastlog records written by the test itself, in both glibc layouts (384 bytes,
//! x86-64; 400 bytes, aarch64), with zeroed, truncated and garbage records.

use cordon_core::Severity;
use cordon_timeline::detect::Config;
use cordon_timeline::logins::{Anomaly, Layout, parse_lastlog, parse_utmp};

use crate::common::*;

/// One record. `wide`: the aarch64 layout.
#[allow(clippy::too_many_arguments)]
fn rec(
    wide: bool,
    kind: i16,
    pid: i32,
    line: &str,
    user: &str,
    host: &str,
    sec: i64,
    ip: [u8; 4],
) -> Vec<u8> {
    let size = if wide { 400 } else { 384 };
    let mut r = vec![0u8; size];
    r[0..2].copy_from_slice(&kind.to_le_bytes());
    r[4..8].copy_from_slice(&pid.to_le_bytes());
    r[8..8 + line.len()].copy_from_slice(line.as_bytes());
    r[44..44 + user.len()].copy_from_slice(user.as_bytes());
    r[76..76 + host.len()].copy_from_slice(host.as_bytes());
    if wide {
        r[344..352].copy_from_slice(&sec.to_le_bytes());
        r[360..364].copy_from_slice(&ip);
    } else {
        r[340..344].copy_from_slice(&(sec as i32).to_le_bytes());
        r[348..352].copy_from_slice(&ip);
    }
    r
}

const T0: i64 = 1_713_582_000; // 2024-04-20T03:00:00Z

fn wtmp(wide: bool) -> Vec<u8> {
    let mut w = Vec::new();
    w.extend(rec(wide, 2, 0, "~", "reboot", "6.1.0", T0, [0; 4]));
    w.extend(rec(
        wide,
        7,
        4242,
        "pts/0",
        "alice",
        "198.51.100.7",
        T0 + 60,
        [198, 51, 100, 7],
    ));
    w.extend(rec(wide, 8, 4242, "pts/0", "", "", T0 + 120, [0; 4]));
    w.extend(rec(
        wide,
        7,
        5000,
        "pts/1",
        "root",
        "203.0.113.66",
        T0 + 3600,
        [203, 0, 113, 66],
    ));
    w
}

#[test]
fn both_layouts_parse_to_the_same_records() {
    for wide in [false, true] {
        let f = parse_utmp(&wtmp(wide), true);
        assert_eq!(f.layout, if wide { Layout::Aarch64 } else { Layout::X86_64 });
        assert_eq!(f.records.len(), 4);
        assert!(f.anomalies.is_empty(), "{:?}", f.anomalies);
        assert_eq!(f.records[1].user, b"alice");
        assert_eq!(f.records[1].sec, T0 + 60);
        assert_eq!(f.records[3].addr.unwrap().to_string(), "203.0.113.66");
    }
    // 4800 bytes divide by both sizes: the layout comes from the content.
    let mut both = Vec::new();
    for i in 0..12 {
        both.extend(rec(
            true,
            7,
            i,
            "pts/0",
            "bob",
            "192.0.2.1",
            T0 + i64::from(i),
            [192, 0, 2, 1],
        ));
    }
    assert_eq!(both.len(), 4800);
    assert_eq!(parse_utmp(&both, true).layout, Layout::Aarch64);
    assert_eq!(parse_utmp(&both, true).records.len(), 12);
}

#[test]
fn zeroed_truncated_garbage_and_backwards_records_are_reported() {
    let mut w = wtmp(false);
    w.extend(vec![0u8; 384]); // wiped by a log cleaner
    let mut garbage = rec(false, 7, 1, "pts/9", "x", "y", T0 + 7200, [0; 4]);
    garbage[0..2].copy_from_slice(&0x4141i16.to_le_bytes());
    w.extend(garbage);
    w.extend(rec(
        false,
        7,
        6000,
        "pts/2",
        "bob",
        "192.0.2.5",
        T0 - 86_400,
        [192, 0, 2, 5],
    )); // a day back
    w.extend(b"\x07\x00\x00\x00trunc"); // cut tail
    let f = parse_utmp(&w, true);
    assert_eq!(f.records.len(), 5);
    assert!(f.anomalies.contains(&Anomaly::Zeroed { index: 4 }));
    assert!(f.anomalies.contains(&Anomaly::Garbage {
        index: 5,
        kind: 0x4141
    }));
    assert!(
        f.anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::Backwards { index: 6, .. }))
    );
    assert!(f.anomalies.contains(&Anomaly::Truncated { tail: 9 }));
    // utmp (current sessions) reuses slots: empty records there are normal.
    let mut u = wtmp(false);
    u.extend(vec![0u8; 384]);
    assert!(parse_utmp(&u, false).anomalies.is_empty());

    let root = Root::new();
    root.write("/var/log/wtmp", &w, MTIME);
    let run = run(&root, Config::new("web01"));
    for (check, sev) in [
        ("logins.wtmp_zeroed", Severity::High),
        ("logins.garbage", Severity::Medium),
        ("logins.truncated", Severity::Medium),
        ("logins.time_backwards", Severity::Medium),
    ] {
        let f = checks(&run.findings, check);
        assert_eq!(f.len(), 1, "{check}: {:#?}", run.findings);
        assert_eq!(f[0].severity, sev);
        assert_eq!(f[0].path.as_deref(), Some(&b"/var/log/wtmp"[..]));
    }
    // Every readable record is an event with the contract's fields.
    let logins: Vec<_> = run
        .events
        .iter()
        .filter(|e| e.timestamp_desc == "Login")
        .collect();
    assert_eq!(logins.len(), 3);
    assert!(run.events.iter().any(|e| e.timestamp_desc == "System Boot"));
    assert!(run.events.iter().any(|e| e.timestamp_desc == "Logout"));
}

#[test]
fn btmp_failures_then_a_wtmp_login_from_the_same_address_is_the_entry_vector() {
    let mut b = Vec::new();
    for i in 0..15 {
        b.extend(rec(
            false,
            6,
            100 + i,
            "ssh:notty",
            if i % 2 == 0 { "root" } else { "admin" },
            "203.0.113.66",
            T0 + 1000 + i64::from(i),
            [203, 0, 113, 66],
        ));
    }
    let root = Root::new();
    root.write("/var/log/btmp", &b, MTIME);
    root.write("/var/log/wtmp", &wtmp(true), MTIME);
    root.write(
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        MTIME,
    );
    let run = run(
        &root,
        Config {
            accounts: cordon_timeline::detect::Accounts::from_root(root.path()),
            ..Config::new("web01")
        },
    );
    let brute = checks(&run.findings, "logs.ssh_bruteforce");
    assert_eq!(brute.len(), 1);
    assert_eq!(brute[0].attrs["failures"], 15);
    let hit = checks(&run.findings, "logs.bruteforce_then_success");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].severity, Severity::Critical);
    assert_eq!(hit[0].user.as_deref(), Some(&b"root"[..]));
    // alice logged in from elsewhere, before the failures: no entry-vector finding for her.
    assert!(hit.iter().all(|f| f.user.as_deref() != Some(&b"alice"[..])));
    assert_eq!(checks(&run.findings, "logs.root_login").len(), 1);
    assert_eq!(
        run.events
            .iter()
            .filter(|e| e.timestamp_desc == "Failed Login")
            .count(),
        15
    );
}

#[test]
fn lastlog_is_indexed_by_uid_and_skips_never_logged_in() {
    let mut l = vec![0u8; 292 * 1001];
    let at = 292 * 1000;
    l[at..at + 4].copy_from_slice(&(T0 as i32).to_le_bytes());
    l[at + 4..at + 9].copy_from_slice(b"pts/3");
    l[at + 36..at + 47].copy_from_slice(b"192.0.2.200");
    let (entries, tail) = parse_lastlog(&l);
    assert_eq!(tail, 0);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].uid, 1000);
    assert_eq!(entries[0].host, b"192.0.2.200");
    let (_, tail) = parse_lastlog(&l[..l.len() - 10]);
    assert_eq!(tail, 282);
}
