//! `cordon logs` and `cordon timeline` end to end: the real OpenSSH log in a fixture root, with and
//! without a case; JSON findings; the super timeline sorted, filtered and refused on suspect storage.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cordon_testkit::run_cordon;

use crate::{BIN, TestCase, stderr, stdout};

const MTIME: u64 = 1_795_478_400; // 2026-11-24

fn write(root: &Path, inner: &str, bytes: &[u8]) {
    let p = root.join(inner.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME))
        .unwrap();
}

fn real_openssh() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/logs/loghub-OpenSSH_2k.log");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A root whose auth.log is the real log with twelve failures from the later-successful address
/// inserted at 09:10, and an escape sequence in one attempted user name.
fn compromised_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    let mut done = false;
    for line in real_openssh().split_inclusive(|&c| c == b'\n') {
        if !done && &line[7..15] >= b"09:10:00".as_slice() {
            for i in 0..12 {
                log.extend_from_slice(
                    format!("Dec 10 09:10:00 LabSZ sshd[3000{i}]: Failed password for fztu from 119.137.62.142 port {} ssh2\n", 40000 + i)
                        .as_bytes(),
                );
            }
            log.extend_from_slice(b"Dec 10 09:10:01 LabSZ sshd[39999]: Failed password for invalid user \x1b[2Jevil from 119.137.62.142 port 1 ssh2\n");
            done = true;
        }
        log.extend_from_slice(line);
    }
    write(dir.path(), "/var/log/auth.log", &log);
    write(
        dir.path(),
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nfztu:x:1000:1000::/home/fztu:/bin/bash\n",
    );
    write(dir.path(), "/etc/hostname", b"LabSZ\n");
    dir
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn logs_without_a_case_prints_findings_as_json_and_says_nothing_was_stored() {
    let root = compromised_root();
    let out = run_cordon(
        Path::new(BIN),
        None,
        ["logs", "--root", root.path().to_str().unwrap(), "--json"],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing") || stderr(&out).contains("not stored"),
        "{}",
        stderr(&out)
    );
    let findings = json_lines(&stdout(&out));
    let entry: Vec<_> = findings
        .iter()
        .filter(|f| f["check"] == "logs.bruteforce_then_success")
        .collect();
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0]["severity"], "critical");
    assert_eq!(entry[0]["user"], "fztu");
    assert_eq!(entry[0]["path"], "/var/log/auth.log");
    assert_eq!(
        entry[0]["target"],
        root.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(
        findings[0]["check"], "logs.bruteforce_then_success",
        "most severe first"
    );
    for f in &findings {
        for k in [
            "id",
            "check",
            "severity",
            "confidence",
            "technique",
            "path",
            "pid",
            "user",
            "summary",
            "evidence",
            "remediation",
            "target",
        ] {
            assert!(f.get(k).is_some(), "{k} missing in {f}");
        }
    }
    // The brute force ranking is in the output too.
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "logs.ssh_bruteforce" && f["attrs"]["rank"] == 1)
    );
}

#[test]
fn logs_with_a_case_stores_findings_and_events_and_ticks_the_entry_task() {
    let tc = TestCase::new();
    let root = compromised_root();
    let out = tc.run(&["logs", "--root", root.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("[critical] logs.bruteforce_then_success"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "hostile escapes are made visible, not sent to the terminal"
    );
    assert!(text.contains("\\x1b[2Jevil") || !text.contains("evil"), "{text}");
    assert!(stderr(&out).contains("stored in the case"), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&tc.ok(&["status", "--json"])).unwrap();
    assert!(status["findings"].as_i64().unwrap() >= 7, "{status}");
    assert_eq!(status["findings_by_severity"]["critical"], 1);
    assert!(
        status["timeline_events"].as_i64().unwrap() >= 1,
        "the accepted login is stored"
    );
    let kinds: Vec<String> = tc
        .journal()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for k in ["findings.add", "events.add", "task.done"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    let done: String = tc
        .db()
        .query_row("SELECT status FROM task WHERE key = 'entry'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(done, "done");
    // Run again: the same findings are seen again, not duplicated.
    let again = tc.run(&["logs", "--root", root.path().to_str().unwrap(), "--json"]);
    assert_eq!(again.status.code(), Some(1));
    let status2: serde_json::Value = serde_json::from_str(&tc.ok(&["status", "--json"])).unwrap();
    assert_eq!(status2["findings"], status["findings"]);

    // The timeline around the case's findings only.
    let tl = tc.run(&[
        "timeline",
        "--root",
        root.path().to_str().unwrap(),
        "--sources",
        "syslog",
        "--case-findings",
    ]);
    assert_eq!(tl.status.code(), Some(0), "{}", stderr(&tl));
    let events = json_lines(&stdout(&tl));
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "Accepted password for fztu from 119.137.62.142 port 49116 ssh2")
    );
}

#[test]
fn timeline_is_sorted_filtered_and_has_the_timesketch_fields() {
    let root = compromised_root();
    write(
        root.path(),
        "/var/log/dpkg.log",
        b"2025-12-10 09:40:00 install ncat:amd64 <none> 7.93\n",
    );
    let r = root.path().to_str().unwrap();
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "timeline",
            "--root",
            r,
            "--sources",
            "syslog,packages",
            "--tz",
            "UTC",
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = json_lines(&stdout(&out));
    assert_eq!(events.len(), 2000 + 13 + 1);
    let ts: Vec<i64> = events.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "sorted");
    for e in &events {
        for k in [
            "datetime",
            "timestamp",
            "timestamp_desc",
            "message",
            "source",
            "host",
            "data_type",
        ] {
            assert!(e.get(k).is_some(), "{k} in {e}");
        }
    }
    assert!(
        events
            .iter()
            .any(|e| e["data_type"] == "linux:dpkg" && e["datetime"] == "2025-12-10T09:40:00.000000000Z")
    );
    let evil = events
        .iter()
        .find(|e| e["message"].as_str().is_some_and(|m| m.contains("evil")))
        .unwrap();
    assert!(
        evil["message"].as_str().unwrap().contains('\u{1b}'),
        "JSON keeps the raw text (escaped by JSON itself)"
    );

    let around = run_cordon(
        Path::new(BIN),
        None,
        [
            "timeline",
            "--root",
            r,
            "--sources",
            "syslog",
            "--around",
            "2025-12-10T09:32:20Z",
            "--window",
            "5m",
            "--format",
            "timesketch",
        ],
        None,
    )
    .unwrap();
    let events = json_lines(&stdout(&around));
    assert!(!events.is_empty() && events.len() < 100, "{}", events.len());
    for e in &events {
        let dt = e["datetime"].as_str().unwrap();
        assert!(
            dt.ends_with("+00:00") && ("2025-12-10T09:27:20"..="2025-12-10T09:37:20").contains(&&dt[..19]),
            "{dt}"
        );
    }
}

#[test]
fn timeline_output_on_the_examined_systems_storage_is_refused() {
    let root = compromised_root();
    // The fixture root and a file beside it are on the same filesystem: that is the suspect's disk.
    let out_file: PathBuf = root.path().join("timeline.jsonl");
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "timeline",
            "--root",
            root.path().to_str().unwrap(),
            "--sources",
            "syslog",
            "-o",
            out_file.to_str().unwrap(),
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing"), "{}", stderr(&out));
    assert!(!out_file.exists());
}

#[test]
fn filesystem_bodyfile_streams_every_file() {
    let root = compromised_root();
    write(root.path(), "/srv/www/up|load.php", b"<?php system($_GET[1]);");
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "timeline",
            "--root",
            root.path().to_str().unwrap(),
            "--sources",
            "fs",
            "--format",
            "bodyfile",
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body = stdout(&out);
    let files = body.lines().count();
    // var, var/log, var/log/auth.log, etc, etc/passwd, etc/hostname, srv, srv/www, the php file.
    assert_eq!(files, 9, "{body}");
    assert!(body.lines().all(|l| l.split('|').count() == 11));
    assert!(body.contains("0|/srv/www/up%7Cload.php|"));
}
