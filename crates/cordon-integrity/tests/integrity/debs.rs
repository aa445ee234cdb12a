//! Verification against original .deb files, and hostile archives.

use std::io::Write as _;
use std::path::Path;

use cordon_integrity::deb::{index_debs, read_deb, verify_against_debs};
use cordon_integrity::packages::{Status, VerifyOptions, verify_against_db};

use crate::common::*;

fn archives() -> std::path::PathBuf {
    debian().join("var/cache/apt/archives")
}

#[test]
fn clean_root_matches_its_original_debs() {
    let root = debian();
    let report = verify_against_debs(&root, &archives(), &[]).unwrap();
    assert!(report.packages > 100);
    assert!(report.files_checked > 5000, "{}", report.files_checked);
    assert!(
        report.unverified_packages.is_empty(),
        "{:?}",
        report.unverified_packages
    );
    let shown: Vec<String> = report
        .items
        .iter()
        .map(|i| {
            format!(
                "{} {} {:?} {:?} {:?}",
                String::from_utf8_lossy(&i.path),
                i.status.as_str(),
                i.expected,
                i.actual,
                i.detail
            )
        })
        .collect();
    // Maintainer scripts set a few modes (openssh-client makes ssh-agent setgid): reported, low.
    let serious: Vec<&String> = report
        .items
        .iter()
        .zip(&shown)
        .filter(|(i, _)| cordon_integrity::packages::to_finding(i, "t").severity > cordon_core::Severity::Low)
        .map(|(_, s)| s)
        .collect();
    assert!(serious.is_empty(), "{shown:#?}");
    assert!(report.items.len() <= 2, "{shown:#?}");
}

/// The attacker replaced `ls` and rewrote its md5sums line: only the .deb comparison sees it. A
/// setuid bit added to `find` is invisible to md5sums too.
#[test]
fn debs_catch_a_binary_whose_md5sums_line_was_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let root = linked_copy(dir.path());
    let evil = b"\x7fELF replaced by the attacker";
    replace(&root, "usr/bin/ls", evil);
    rewrite_md5sums_line(&root, "coreutils", "bin/ls", &md5_hex(evil));
    chmod_copy(&root, "usr/bin/find", 0o4755);
    remove(&root, "usr/bin/du");
    std::os::unix::fs::symlink("busybox", root.join("usr/bin/du")).unwrap();

    let db = verify_against_db(&root, &VerifyOptions::default()).unwrap();
    assert!(
        !db.items.iter().any(|i| i.path == b"/bin/ls"),
        "database check is fooled"
    );
    assert!(
        !db.items.iter().any(|i| i.path.ends_with(b"/find")),
        "md5sums carry no modes"
    );

    let only = ["coreutils".to_owned(), "findutils".to_owned()];
    let report = verify_against_debs(&root, &archives(), &only).unwrap();
    let ls = report
        .items
        .iter()
        .find(|i| i.path == b"/bin/ls")
        .expect("ls flagged");
    assert_eq!(ls.status, Status::Changed);
    assert_eq!(ls.package, "coreutils");
    assert_eq!(ls.algorithm, Some(cordon_integrity::hash::Algo::Sha256));
    assert!(ls.reference.starts_with("coreutils_") && ls.reference.ends_with(".deb"));
    let find = report
        .items
        .iter()
        .find(|i| i.path.ends_with(b"bin/find"))
        .expect("find flagged");
    assert_eq!(find.status, Status::ModeChanged);
    assert_eq!(find.expected.as_deref(), Some("0755"));
    assert_eq!(find.actual.as_deref(), Some("4755"));
    assert_eq!(
        cordon_integrity::packages::to_finding(find, "t").severity,
        cordon_core::Severity::High
    );
    let du = report
        .items
        .iter()
        .find(|i| i.path.ends_with(b"bin/du"))
        .expect("du flagged");
    assert_eq!(du.status, Status::ReplacedBySymlink);
    assert_eq!(
        report
            .items
            .iter()
            .filter(|i| !i.path.ends_with(b"ssh-agent"))
            .count(),
        3,
        "{:#?}",
        report.items
    );
}

fn ar_member(out: &mut Vec<u8>, name: &str, declared: usize, data: &[u8]) {
    writeln!(
        out,
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`",
        name, 0, 0, 0, "100644", declared
    )
    .unwrap();
    out.extend_from_slice(data);
    if declared % 2 == 1 {
        out.push(b'\n');
    }
}

fn tar_with(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Raw name bytes: tar::Builder refuses `..`, an attacker's tool does not.
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn deb(control: &[u8], data_tar: &[u8]) -> Vec<u8> {
    let ctl = tar_with(&[(b"./control", control)]);
    let mut out = b"!<arch>\n".to_vec();
    ar_member(&mut out, "debian-binary", 4, b"2.0\n");
    ar_member(&mut out, "control.tar", ctl.len(), &ctl);
    ar_member(&mut out, "data.tar", data_tar.len(), data_tar);
    out
}

fn read(
    path: &Path,
) -> (
    Result<cordon_integrity::deb::DebId, String>,
    Vec<Vec<u8>>,
    Vec<String>,
) {
    let mut f = std::fs::File::open(path).unwrap();
    let mut members = Vec::new();
    let mut problems = Vec::new();
    let r = read_deb(&mut f, path, true, &mut |m| members.push(m.path), &mut |p| {
        problems.push(p)
    });
    (r.map_err(|e| e.to_string()), members, problems)
}

#[test]
fn hostile_archives_are_refused_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = b"Package: evil\nVersion: 1\nArchitecture: all\n";

    // Path traversal and absolute members: refused one by one, the rest read.
    let data = tar_with(&[
        (b"./usr/bin/ok", b"fine"),
        (b"./../../etc/cron.d/x", b"* * * * * root sh"),
        (b"/etc/passwd", b"root::0:0::/:/bin/sh"),
    ]);
    let p = dir.path().join("traversal.deb");
    std::fs::write(&p, deb(ctl, &data)).unwrap();
    let (r, members, problems) = read(&p);
    assert_eq!(r.unwrap().package, "evil");
    assert_eq!(members, vec![b"/usr/bin/ok".to_vec()]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("traversal"), "{problems:?}");

    // An ar member declaring far more bytes than the file has.
    let ctl_tar = tar_with(&[(b"./control", ctl)]);
    let mut huge = b"!<arch>\n".to_vec();
    ar_member(&mut huge, "debian-binary", 4, b"2.0\n");
    ar_member(&mut huge, "control.tar", 999_999_999, &ctl_tar);
    let p = dir.path().join("huge.deb");
    std::fs::write(&p, &huge).unwrap();
    let err = read(&p).0.unwrap_err();
    assert!(err.contains("declares 999999999 bytes"), "{err}");

    // A tar member declaring 1 TiB.
    let mut h = tar::Header::new_gnu();
    h.set_path("./usr/bin/big").unwrap();
    h.set_size(1 << 40);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut bomb = h.as_bytes().to_vec();
    bomb.extend_from_slice(&[0u8; 1024]);
    let p = dir.path().join("bomb.deb");
    std::fs::write(&p, deb(ctl, &bomb)).unwrap();
    let err = read(&p).0.unwrap_err();
    assert!(
        err.contains("1099511627776") || err.contains("truncated"),
        "{err}"
    );

    // A real .deb cut in half.
    let real = std::fs::read(
        archives().join(
            std::fs::read_dir(archives())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .find(|n| n.to_string_lossy().starts_with("coreutils_"))
                .unwrap(),
        ),
    )
    .unwrap();
    let p = dir.path().join("cut.deb");
    std::fs::write(&p, &real[..real.len() / 2]).unwrap();
    let err = read(&p).0.unwrap_err();
    assert!(err.contains("truncated") || err.contains("declares"), "{err}");

    // Not an archive at all, and empty.
    let p = dir.path().join("junk.deb");
    std::fs::write(&p, b"MZ\x90\x00 this is not a deb").unwrap();
    assert!(read(&p).0.is_err());
    std::fs::write(dir.path().join("empty.deb"), b"").unwrap();
    assert!(read(&dir.path().join("empty.deb")).0.is_err());

    // Indexing a directory of such files keeps going and lists each problem.
    std::fs::copy(
        archives().join(
            std::fs::read_dir(archives())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .find(|n| n.to_string_lossy().starts_with("hostname_"))
                .unwrap(),
        ),
        dir.path().join("hostname.deb"),
    )
    .unwrap();
    let (index, problems) = index_debs(dir.path()).unwrap();
    assert!(index.keys().any(|k| k.package == "hostname"));
    assert!(index.keys().any(|k| k.package == "evil"));
    assert!(problems.len() >= 3, "{problems:?}");
}
