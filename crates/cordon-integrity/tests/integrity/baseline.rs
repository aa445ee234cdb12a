//! Baselines: record a tree, change it in every recorded way, and see each change reported.

use std::os::unix::fs::PermissionsExt as _;

use cordon_core::FixedClock;
use cordon_integrity::baseline::{Change, diff, read, snapshot, to_finding, write};
use cordon_integrity::hash::Algo;

fn clock() -> FixedClock {
    FixedClock("2026-11-24T12:00:00Z".parse().unwrap())
}

#[test]
fn records_round_trips_and_diffs_every_kind_of_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"original program").unwrap();
    std::fs::set_permissions(root.join("usr/bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("usr/bin/find"), b"find").unwrap();
    std::fs::set_permissions(root.join("usr/bin/find"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("etc/motd"), b"hello").unwrap();
    std::fs::write(root.join("etc/gone"), b"bye").unwrap();
    use std::os::unix::ffi::OsStrExt as _;
    std::fs::write(
        root.join("etc")
            .join(std::ffi::OsStr::from_bytes(b"\xffbad-name")),
        b"x",
    )
    .unwrap();
    std::os::unix::fs::symlink("/usr/bin/tool", root.join("usr/bin/t")).unwrap();

    for algo in [Algo::Blake3, Algo::Sha256] {
        let snap = snapshot(&root, &[b"/".to_vec()], algo, &clock()).unwrap();
        assert!(snap.problems.is_empty(), "{:?}", snap.problems);
        let tool = &snap.entries[&b"/usr/bin/tool".to_vec()];
        assert_eq!(tool["mode"], "0755");
        assert_eq!(tool["type"], "file");
        let want = match algo {
            Algo::Blake3 => blake3::hash(b"original program").to_hex().to_string(),
            _ => hex_sha256(b"original program"),
        };
        assert_eq!(tool["hash"], want.as_str());
        assert_eq!(snap.entries[&b"/usr/bin/t".to_vec()]["link"], "/usr/bin/tool");
        let file = dir.path().join(format!("base-{}.zst", algo.as_str()));
        write(&snap, &file).unwrap();
        assert!(
            write(&snap, &file).is_err(),
            "an existing baseline is never overwritten"
        );
        let back = read(&file).unwrap();
        assert_eq!(back.entries, snap.entries);
        assert!(
            back.entries.contains_key(b"/etc/\xffbad-name".as_slice()),
            "non-UTF-8 names survive"
        );
        assert_eq!(back.header["hash"], algo.as_str());
        assert_eq!(back.header["created"], "2026-11-24T12:00:00.000000000Z");
    }

    let old = read(&dir.path().join("base-blake3.zst")).unwrap();
    // Tamper: content, setuid, removal, addition, symlink retarget; the motd only gets a new mtime.
    std::fs::write(root.join("usr/bin/tool"), b"trojaned program").unwrap();
    std::fs::set_permissions(root.join("usr/bin/find"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::remove_file(root.join("etc/gone")).unwrap();
    std::fs::write(root.join("usr/bin/dropper"), b"new").unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/dropper"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::remove_file(root.join("usr/bin/t")).unwrap();
    std::os::unix::fs::symlink("/tmp/evil", root.join("usr/bin/t")).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(root.join("etc/motd"))
        .unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
        .unwrap();

    let new = snapshot(&root, &[b"/".to_vec()], Algo::Blake3, &clock()).unwrap();
    let changes = diff(&old, &new);
    let find = |p: &str| {
        changes
            .iter()
            .find(|(q, _)| q == p.as_bytes())
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("{p}: {changes:#?}"))
    };
    match find("/usr/bin/tool") {
        Change::Changed { fields, .. } => assert!(fields.contains(&"hash".to_owned()), "{fields:?}"),
        c => panic!("{c:?}"),
    }
    match find("/usr/bin/find") {
        Change::Changed { fields, .. } => assert!(fields.contains(&"mode".to_owned())),
        c => panic!("{c:?}"),
    }
    match find("/usr/bin/t") {
        Change::Changed { fields, .. } => assert!(fields.contains(&"link".to_owned())),
        c => panic!("{c:?}"),
    }
    match find("/etc/motd") {
        Change::Changed { fields, .. } => assert_eq!(fields, &vec!["mtime".to_owned(), "ctime".to_owned()]),
        c => panic!("{c:?}"),
    }
    assert!(matches!(find("/etc/gone"), Change::Removed(_)));
    assert!(matches!(find("/usr/bin/dropper"), Change::Added(_)));
    let sev = |p: &str| to_finding(p.as_bytes(), find(p), "t").severity;
    use cordon_core::Severity::*;
    assert_eq!(sev("/usr/bin/tool"), High);
    assert_eq!(sev("/usr/bin/find"), High);
    assert_eq!(sev("/usr/bin/dropper"), Medium);
    assert_eq!(sev("/etc/motd"), Low);
    assert_eq!(sev("/etc/gone"), Low);
}

#[test]
fn junk_baseline_files_are_refused_or_their_bad_lines_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk");
    std::fs::write(&p, b"not zstd at all").unwrap();
    assert!(read(&p).is_err());
    let p = dir.path().join("noheader.zst");
    std::fs::write(&p, zstd::encode_all(&b"{\"path\":\"/x\"}\n"[..], 3).unwrap()).unwrap();
    assert!(read(&p).unwrap_err().to_string().contains("no header"));
    let p = dir.path().join("bad-lines.zst");
    let text = b"{\"format\":\"cordon-baseline\",\"version\":1,\"hash\":\"blake3\"}\n{\"path\":\"/ok\",\"type\":\"file\"}\n{broken\n\xff\xfe\n{\"nopath\":1}\n";
    std::fs::write(&p, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
    let s = read(&p).unwrap();
    assert_eq!(s.entries.len(), 1);
    assert_eq!(s.problems.len(), 3, "{:?}", s.problems);
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}
