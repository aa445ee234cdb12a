//! `cordon hunt` end to end: offline on a planted Debian root, and live against real processes the
//! test starts (a shell on a socket, a program in /dev/shm, an LD_PRELOAD environment).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

use cordon_testkit::plant::{benign_admin, malicious};
use cordon_testkit::{copy_root_for_hunt, debian_root, run_cordon};

use crate::{BIN, TestCase, stderr, stdout};

fn findings(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every --json line is JSON"))
        .collect()
}

#[test]
fn offline_hunt_on_a_planted_root_stores_findings_and_ticks_the_task() {
    let t = TestCase::new();
    let root = t.parent.path().join("web01");
    copy_root_for_hunt(&debian_root().unwrap(), &root).unwrap();
    benign_admin(&root).unwrap();
    let planted = malicious(&root).unwrap();

    let out = t.run(&[
        "hunt",
        "--root",
        root.to_str().unwrap(),
        "--json",
        "--min-severity",
        "info",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings >= medium exit 1: {}",
        stderr(&out)
    );
    let fs = findings(&out);
    for p in &planted {
        assert!(
            fs.iter()
                .any(|f| f["check"] == p.check && f["path"].as_str().is_some_and(|x| x.starts_with(p.path))),
            "{} at {} not reported",
            p.check,
            p.path
        );
    }
    let first = &fs[0];
    for field in [
        "id",
        "check",
        "severity",
        "confidence",
        "technique",
        "path",
        "summary",
        "evidence",
        "remediation",
        "target",
    ] {
        assert!(first.get(field).is_some(), "finding lacks {field}: {first}");
    }
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["target"], root.canonicalize().unwrap().to_str().unwrap());

    // Stored in the case, journaled, and the playbook moved on.
    let status: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["findings"], fs.len());
    assert!(status["findings_by_severity"]["critical"].as_i64().unwrap() >= 3);
    assert!(t.ok(&["task", "list"]).contains("[x]  5 (hunt)"));
    assert!(
        t.ok(&["journal", "--kind", "findings"])
            .contains("new finding(s)")
    );
    // A second run finds the same things again and stores nothing twice.
    let again = t.run(&["hunt", "--root", root.to_str().unwrap(), "--json"]);
    assert_eq!(again.status.code(), Some(1));
    let status2: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(status2["findings"], status["findings"]);
    t.ok(&["case", "verify"]);

    // Human output: grouped by severity, escaped, with what to do.
    let human = t.run(&["hunt", "--root", root.to_str().unwrap()]);
    let text = stdout(&human);
    assert!(text.starts_with("== CRITICAL"), "{text}");
    assert!(text.contains("what to do:"));
    assert!(
        !human.stdout.contains(&0x1b),
        "no colour or raw escapes when not a terminal"
    );

    // The allowlist needs reasons and suppresses what it names.
    let allow = t.parent.path().join("allow.txt");
    std::fs::write(&allow, "check account.extra_uid0 -- test only\n").unwrap();
    let allowed = findings(&t.run(&[
        "hunt",
        "--root",
        root.to_str().unwrap(),
        "--json",
        "--allow",
        allow.to_str().unwrap(),
    ]));
    assert!(!allowed.iter().any(|f| f["check"] == "account.extra_uid0"));
    std::fs::write(&allow, "check account.extra_uid0\n").unwrap();
    let bad = t.run(&[
        "hunt",
        "--root",
        root.to_str().unwrap(),
        "--allow",
        allow.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no reason"), "{}", stderr(&bad));
}

#[test]
fn a_clean_root_exits_zero_without_a_case() {
    let root = debian_root().unwrap();
    let out = run_cordon(
        Path::new(BIN),
        None,
        ["hunt", "--root", root.to_str().unwrap(), "--json"],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("findings were not stored"));
    assert!(
        findings(&out).iter().all(|f| f["severity"] == "low"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn live_hunt_finds_a_shell_on_a_socket_a_program_in_dev_shm_and_ld_preload() {
    // A shell whose stdin and stdout are one end of a TCP connection on loopback: a reverse shell.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let fd: OwnedFd = client.into();
    let fd2 = fd.try_clone().unwrap();
    let mut shell = Command::new("/bin/sh")
        .stdin(Stdio::from(fd))
        .stdout(Stdio::from(fd2))
        .spawn()
        .unwrap();

    // A program run from /dev/shm.
    let shm = tempfile::Builder::new()
        .prefix("cordon-hunt-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let prog = shm.path().join("kworker");
    std::fs::copy("/bin/sleep", &prog).unwrap();
    let mut from_shm = Command::new(&prog).arg("30").spawn().unwrap();

    // A process started with LD_PRELOAD (a library that does not exist: the loader complains, the
    // program runs, the variable stays in its environment).
    let mut preloaded = Command::new("/bin/sleep")
        .arg("30")
        .env("LD_PRELOAD", "/nonexistent/libhide.so")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = run_cordon(
        Path::new(BIN),
        None,
        ["hunt", "--no-file-walk", "--json", "--min-severity", "info"],
        None,
    )
    .unwrap();
    for child in [&mut shell, &mut from_shm, &mut preloaded] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let fs = findings(&out);
    let has = |check: &str, pid: u32| fs.iter().any(|f| f["check"] == check && f["pid"] == pid);
    assert!(
        has("process.socket_shell", shell.id()),
        "reverse shell missed:\n{}",
        stdout(&out)
    );
    assert!(
        has("process.tmp_exe", from_shm.id()),
        "program in /dev/shm missed:\n{}",
        stdout(&out)
    );
    assert!(
        has("process.ld_preload", preloaded.id()),
        "LD_PRELOAD missed:\n{}",
        stdout(&out)
    );
    let shell_finding = fs.iter().find(|f| f["check"] == "process.socket_shell").unwrap();
    assert_eq!(shell_finding["severity"], "critical");
    assert_eq!(shell_finding["technique"], "T1059.004");
    assert_eq!(out.status.code(), Some(1));
}
