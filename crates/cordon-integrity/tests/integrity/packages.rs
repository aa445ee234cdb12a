//! Verification against the dpkg database, compared with debsums on the same roots.

use std::collections::BTreeSet;
use std::process::Command;

use cordon_integrity::packages::{Status, VerifyOptions, parse_md5sums, to_finding, verify_against_db};

use crate::common::*;

#[test]
fn clean_debian_root_verifies_clean_like_debsums() {
    let root = debian();
    let report = verify_against_db(&root, &VerifyOptions::default()).unwrap();
    assert!(report.packages > 100, "{} packages", report.packages);
    assert!(report.files_checked > 5000, "{} files", report.files_checked);
    assert!(
        report.items.is_empty(),
        "{:#?}",
        &report.items[..report.items.len().min(10)]
    );
}

/// Tampers a copy of the real root in every way debsums notices, then compares the two lists.
#[test]
fn same_results_as_debsums_on_a_tampered_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = linked_copy(dir.path());
    replace(&root, "usr/bin/ls", b"#!/bin/sh\necho trojan\n");
    remove(&root, "usr/bin/who");
    remove(&root, "usr/bin/id");
    std::os::unix::fs::symlink("/tmp/nowhere", root.join("usr/bin/id")).unwrap();
    replace(&root, "etc/adduser.conf", b"# edited by admin\n");
    remove(&root, "etc/issue");
    remove(&root, "usr/share/doc/bash/copyright");
    // A diverted file: dash diverts /bin/sh; tampering the diverted copy must be seen there.
    replace(&root, "usr/bin/dash", b"not dash");

    let ours = verify_against_db(&root, &VerifyOptions::default()).unwrap();
    let our_paths: BTreeSet<String> = ours
        .items
        .iter()
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect();

    let out = Command::new("debsums")
        .arg("-s")
        .arg("-a")
        .arg(format!("--root={}", root.display()))
        .output()
        .expect("debsums is installed (scripts/test.sh)");
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let prefix = root.display().to_string();
    let theirs: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("debsums: changed file ")
                .or_else(|| l.strip_prefix("debsums: missing file "))?;
            let path = rest.split(" (from ").next()?;
            Some(path.strip_prefix(&prefix).unwrap_or(path).to_owned())
        })
        .collect();
    assert_eq!(our_paths, theirs, "debsums said:\n{text}");
    assert!(theirs.len() >= 7, "{theirs:?}");

    let status = |p: &str| ours.items.iter().find(|i| i.path == p.as_bytes()).unwrap().status;
    assert_eq!(status("/bin/ls"), Status::Changed);
    assert_eq!(status("/usr/bin/who"), Status::Missing);
    assert_eq!(status("/usr/bin/id"), Status::ReplacedBySymlink);
    assert_eq!(status("/etc/issue"), Status::Missing);
    let conf = ours
        .items
        .iter()
        .find(|i| i.path == b"/etc/adduser.conf")
        .unwrap();
    assert!(conf.conffile && conf.status == Status::Changed);
    let ls = ours.items.iter().find(|i| i.path == b"/bin/ls").unwrap();
    assert_eq!(ls.package, "coreutils");
    assert!(!ls.version.is_empty());
    assert_eq!(
        ls.actual.as_deref(),
        Some(md5_hex(b"#!/bin/sh\necho trojan\n").as_str())
    );
    let f = to_finding(ls, "t");
    assert_eq!(f.severity, cordon_core::Severity::High);
    assert_eq!(f.attrs["status"], "changed");
    assert_eq!(f.attrs["package"], "coreutils");
    // The conffile change is only low: admins edit those.
    assert_eq!(to_finding(conf, "t").severity, cordon_core::Severity::Low);
}

/// The attacker rewrote the md5sums line along with the binary: the database check is blind.
#[test]
fn rewritten_md5sums_line_fools_the_database_check() {
    let dir = tempfile::tempdir().unwrap();
    let root = linked_copy(dir.path());
    let evil = b"\x7fELF trojaned sshd-like binary";
    replace(&root, "usr/bin/ls", evil);
    rewrite_md5sums_line(&root, "coreutils", "bin/ls", &md5_hex(evil));
    let report = verify_against_db(&root, &VerifyOptions::default()).unwrap();
    assert!(report.items.is_empty(), "{:?}", report.items);
    // debsums is fooled the same way.
    let out = Command::new("debsums")
        .args(["-s", "-a"])
        .arg(format!("--root={}", root.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn malformed_md5sums_and_status_lines_are_reported_and_the_rest_verified() {
    let dir = tempfile::tempdir().unwrap();
    let root = linked_copy(dir.path());
    let info = "var/lib/dpkg/info/coreutils.md5sums";
    let mut text = std::fs::read(root.join(info)).unwrap();
    text.extend_from_slice(b"garbage line\n\xff\xfe\x00\nd41d8cd98f00b204e9800998ecf8427e  \n");
    text.extend_from_slice(b"00000000000000000000000000000000  usr/bin/never-installed\n");
    replace(&root, info, &text);
    replace(&root, "usr/bin/cat", b"tampered");
    let mut status = std::fs::read(root.join("var/lib/dpkg/status")).unwrap();
    status.extend_from_slice(
        b"\n\nPackage: \xff\nStatus: install ok installed\nConffiles:\n /etc/x nothex\n \n\ngarbage\n",
    );
    replace(&root, "var/lib/dpkg/status", &status);
    let report = verify_against_db(&root, &VerifyOptions::default()).unwrap();
    assert_eq!(
        report
            .problems
            .iter()
            .filter(|p| p.contains("coreutils.md5sums"))
            .count(),
        3,
        "{:?}",
        report.problems
    );
    let paths: Vec<&[u8]> = report.items.iter().map(|i| i.path.as_slice()).collect();
    assert!(paths.contains(&&b"/bin/cat"[..]), "{paths:?}");
    assert!(paths.contains(&&b"/usr/bin/never-installed"[..]));
}

#[test]
fn file_changing_while_hashed_is_not_trusted() {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("growing");
    std::fs::write(&p, vec![7u8; 64 << 20]).unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let p2 = p.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
        while !stop2.load(Ordering::Relaxed) {
            f.write_all(&[1u8; 4096]).unwrap();
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut f = std::fs::File::open(&p).unwrap();
    let mut buf = Vec::new();
    let d =
        cordon_integrity::hash::hash_file(&mut f, &[cordon_integrity::hash::Algo::Sha256], &mut buf).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        d.unstable,
        "a file appended to during hashing must be marked unstable"
    );
    let mut f = std::fs::File::open(&p).unwrap();
    let d =
        cordon_integrity::hash::hash_file(&mut f, &[cordon_integrity::hash::Algo::Sha256], &mut buf).unwrap();
    assert!(!d.unstable);
}

#[test]
fn md5sums_parser_never_panics_on_random_bytes() {
    let mut seed = 0x1234_5678_u64;
    for _ in 0..2000 {
        let len = (seed % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if seed.is_multiple_of(5) {
                    b'\n'
                } else {
                    (seed >> 8) as u8
                }
            })
            .collect();
        let _ = parse_md5sums(&bytes);
    }
}
