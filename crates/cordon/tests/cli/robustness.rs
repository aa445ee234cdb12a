//! Exit codes, pipes, concurrency and the static binary.

use std::io::Read as _;
use std::process::{Command, Stdio};

use crate::{BIN, TestCase};

#[test]
fn a_closed_pipe_exits_zero() {
    let t = TestCase::new();
    // Enough journal to overflow a pipe buffer several times.
    let big = "x".repeat(2000);
    for _ in 0..100 {
        t.ok(&["note", &big]);
    }
    let mut child = Command::new(BIN)
        .args(["journal"])
        .env("CORDON_CASE", &t.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take()); // like `cordon journal | head -c 100`
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no panic message: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_processes_appending_at_once_both_land_in_one_linear_chain() {
    let t = TestCase::new();
    let before = t.journal().len();
    let per_writer = 25;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let dir = t.dir.clone();
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    let out = Command::new(BIN)
                        .args(["note", &format!("writer {w} note {i}")])
                        .env("CORDON_CASE", &dir)
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let entries = t.journal();
    // Each note run adds a note and a command entry; the listing above added one command entry.
    assert_eq!(entries.len(), before + 1 + 2 * 2 * per_writer);
    for w in 0..2 {
        for i in 0..per_writer {
            let needle = format!("writer {w} note {i}");
            assert_eq!(
                entries.iter().filter(|e| e["text"] == needle.as_str()).count(),
                1,
                "{needle}"
            );
        }
    }
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as i64 + 1);
        if i > 0 {
            assert_eq!(e["prev"], entries[i - 1]["hash"]);
        }
    }
    assert!(t.ok(&["case", "verify"]).contains("case intact"));
}

#[test]
fn the_binary_is_fully_static_so_ld_preload_cannot_reach_it() {
    // The test binary's cordon, and the release binary responders carry when it has been built
    // (scripts/test.sh builds it first).
    let release = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/x86_64-unknown-linux-gnu/release/cordon");
    let mut bins = vec![std::path::PathBuf::from(BIN)];
    if release.exists() {
        bins.push(release);
    }
    for bin in bins {
        let bytes = std::fs::read(&bin).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        assert!(
            elf.interpreter.is_none(),
            "{} has an ELF interpreter: {:?}",
            bin.display(),
            elf.interpreter
        );
        assert!(
            elf.libraries.is_empty(),
            "{} needs shared libraries: {:?}",
            bin.display(),
            elf.libraries
        );
        // It runs with a hostile LD_PRELOAD set; a dynamic binary would have the loader complain.
        let out = Command::new(&bin)
            .arg("--version")
            .env("LD_PRELOAD", "/nonexistent/rootkit.so")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "the loader was involved: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
