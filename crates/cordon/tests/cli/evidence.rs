//! `evidence add | list`: copied, hashed while streaming, with a chain of custody.

use std::time::{Duration, Instant};

use crate::{TestCase, sha256_hex, stderr};

#[test]
fn added_files_are_copied_hashed_and_carry_custody() {
    let t = TestCase::new();
    let shot = t.parent.path().join("console photo.jpg");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&shot, &content).unwrap();
    let mail = t.parent.path().join("isp.eml");
    std::fs::write(&mail, b"abuse report").unwrap();

    let out = t.ok(&[
        "evidence",
        "add",
        shot.to_str().unwrap(),
        mail.to_str().unwrap(),
        "--note",
        "from the ISP abuse desk",
    ]);
    assert!(out.contains(&sha256_hex(&content)), "{out}");
    assert!(out.contains("E0001") && out.contains("E0002"), "{out}");

    // The copy in the case is byte-identical and the source is untouched.
    let items: Vec<serde_json::Value> = t
        .ok(&["evidence", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 2);
    let first = &items[0];
    assert_eq!(first["id"], "E0001");
    assert_eq!(first["note"], "from the ISP abuse desk");
    assert_eq!(
        first["source"],
        std::fs::canonicalize(&shot).unwrap().to_str().unwrap()
    );
    assert_eq!(first["files"][0]["sha256"], sha256_hex(&content));
    assert_eq!(first["files"][0]["size"], content.len());
    let stored = t.dir.join(first["files"][0]["path"].as_str().unwrap());
    assert_eq!(std::fs::read(&stored).unwrap(), content);
    assert_eq!(std::fs::read(&shot).unwrap(), content);
    // Custody: who, when, what.
    let custody = &first["custody"][0];
    assert_eq!(custody["action"], "received");
    assert!(custody["actor"].as_str().unwrap().contains('@'));
    assert!(custody["time"].as_str().unwrap().ends_with('Z'));

    let human = t.ok(&["evidence", "list"]);
    assert!(human.contains("received  by"), "{human}");
    assert!(human.contains(&sha256_hex(b"abuse report")), "{human}");
    // case verify re-hashes both.
    let v = t.ok(&["case", "verify"]);
    assert!(v.contains("2 items, 2 files"), "{v}");
}

#[test]
fn a_fifo_is_refused_at_once_and_the_other_files_still_land() {
    let t = TestCase::new();
    let fifo = t.parent.path().join("pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let good = t.parent.path().join("notes.txt");
    std::fs::write(&good, b"colleague's notes").unwrap();
    let started = Instant::now();
    let out = t.run(&["evidence", "add", fifo.to_str().unwrap(), good.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "opening a FIFO must not hang"
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    let list = t.ok(&["evidence", "list", "--json"]);
    assert_eq!(list.lines().count(), 1, "the good file was still added");
    assert!(list.contains(&sha256_hex(b"colleague's notes")));
}

#[test]
fn hostile_file_names_are_stored_safely_and_shown_escaped() {
    use std::os::unix::ffi::OsStrExt as _;
    let t = TestCase::new();
    let name = std::ffi::OsStr::from_bytes(b"evil\x1b[2J\nname\xff.txt");
    let path = t.parent.path().join(name);
    std::fs::write(&path, b"x").unwrap();
    let out = std::process::Command::new(crate::BIN)
        .args(["evidence", "add"])
        .arg(&path)
        .env("CORDON_CASE", &t.dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = t.run(&["evidence", "list"]);
    assert!(
        !listing.stdout.contains(&0x1b),
        "escape sequence reached the terminal"
    );
    // The copy inside the case has a tame name; the label keeps what it was.
    let stored: Vec<_> = std::fs::read_dir(t.dir.join("evidence"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].as_bytes().iter().all(|b| b.is_ascii_graphic()),
        "{stored:?}"
    );
    t.ok(&["case", "verify"]);
}
