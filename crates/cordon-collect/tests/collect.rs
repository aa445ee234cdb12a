//! Integration tests of the collector against the live machine and fixture trees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_collect::{CollectOptions, CollectReport, Progress, Tier, collect};
use cordon_core::FixedClock;
use cordon_host::Target;
use serde_json::Value;

fn clock() -> FixedClock {
    FixedClock(jiff::Timestamp::new(1_760_000_000, 0).unwrap())
}

fn run(opts: &CollectOptions) -> CollectReport {
    let mut tiers_seen = Vec::new();
    let report = collect(opts, &clock(), &mut |p| {
        if let Progress::TierStarted(t) = p {
            tiers_seen.push(*t);
        }
    })
    .unwrap();
    assert!(!tiers_seen.is_empty());
    report
}

fn jsonl(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn sha256sum_check(dir: &Path) {
    let out = Command::new("sha256sum")
        .args(["--strict", "-c", "manifest.sha256"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sha256sum -c failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tiers(list: &[Tier]) -> BTreeSet<Tier> {
    list.iter().copied().collect()
}

#[test]
fn live_t1_sees_own_process_a_child_and_its_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let mut opts = CollectOptions::new(Target::live(), &out);
    opts.tiers = tiers(&[Tier::T1]);
    opts.allow_suspect_storage = true;
    let report = run(&opts);
    child.kill().unwrap();
    child.wait().unwrap();
    sha256sum_check(&out);

    let procs = jsonl(&out, "processes.jsonl");
    let me = std::process::id();
    let mine = procs.iter().find(|p| p["pid"] == me).expect("own process listed");
    assert_eq!(mine["listed"], true);
    assert!(mine["exe_sha256"].as_str().unwrap().len() == 64);
    assert!(mine["start_time"].as_str().unwrap().ends_with('Z'));
    let sleeper = procs
        .iter()
        .find(|p| p["pid"] == child.id())
        .expect("child listed");
    assert_eq!(sleeper["cmdline"], serde_json::json!(["sleep", "30"]));
    assert_eq!(sleeper["ppid"], me);

    let sockets = jsonl(&out, "sockets.jsonl");
    let s = sockets
        .iter()
        .find(|s| s["proto"] == "tcp" && s["local_port"] == port && s["state"] == "LISTEN")
        .expect("listening socket");
    assert!(s["processes"].as_array().unwrap().iter().any(|p| p["pid"] == me));
    assert!(
        report
            .sources
            .iter()
            .any(|s| s.source == "processes" && s.items > 3)
    );
    let host: Value = serde_json::from_slice(&std::fs::read(out.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["collector_privileges"]["root"], true);
    assert!(host["time"]["boot_time"].is_string());
    drop(listener);
}
