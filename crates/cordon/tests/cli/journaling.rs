//! Every cordon run against a case journals itself — argv, version, cwd, user, host, times, exit
//! status — including runs that fail.

use crate::TestCase;

fn commands(t: &TestCase) -> Vec<serde_json::Value> {
    t.journal()
        .into_iter()
        .filter(|e| e["kind"] == "command")
        .collect()
}

#[test]
fn a_successful_run_records_who_where_when_and_how_it_ended() {
    let t = TestCase::new();
    t.ok(&["note", "hello"]);
    let cmds = commands(&t);
    // case init, note, and the journal listing that read them (which journals itself after printing).
    let note_run = cmds
        .iter()
        .find(|c| c["data"]["argv"][1] == "note")
        .expect("the note run is journaled");
    let d = &note_run["data"];
    assert_eq!(d["argv"][2], "hello");
    assert_eq!(d["exit_status"], 0);
    assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(d["uid"], rustix::process::getuid().as_raw());
    assert_eq!(
        d["host"],
        String::from_utf8_lossy(rustix::system::uname().nodename().to_bytes()).as_ref()
    );
    assert!(d["user"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(d["cwd"].as_str().is_some());
    let (started, finished) = (d["started"].as_str().unwrap(), d["finished"].as_str().unwrap());
    assert!(started <= finished, "{started} > {finished}");
    assert_eq!(
        started.len(),
        "2026-11-24T22:37:58.123456789Z".len(),
        "nanosecond UTC: {started}"
    );
    assert!(d.get("error").is_none());
    // The init run is in the case it created.
    assert!(
        cmds.iter()
            .any(|c| c["data"]["argv"][1] == "case" && c["data"]["argv"][2] == "init")
    );
}

#[test]
fn failed_runs_are_journaled_with_their_error() {
    let t = TestCase::new();
    let out = t.run(&["evidence", "add", "/nonexistent/screenshot.png"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&["note", "--kind", "gossip", "x"]);
    assert_eq!(out.status.code(), Some(2), "a usage error exits 2");
    let out = t.run(&["task", "done", "no-such-task"]);
    assert_eq!(out.status.code(), Some(2));

    let cmds = commands(&t);
    let failed: Vec<_> = cmds.iter().filter(|c| c["data"]["exit_status"] == 2).collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(
        failed[0]["data"]["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/screenshot.png")
    );
    assert!(failed[1]["data"]["error"].as_str().unwrap().contains("gossip"));
    assert!(
        failed[2]["data"]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-task")
    );
}

#[test]
fn arguments_that_are_not_utf8_are_kept_losslessly() {
    use std::os::unix::ffi::OsStrExt as _;
    let t = TestCase::new();
    let arg = std::ffi::OsStr::from_bytes(b"from \xff\xfe host");
    let out = std::process::Command::new(crate::BIN)
        .arg("note")
        .arg(arg)
        .env("CORDON_CASE", &t.dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let cmd = commands(&t)
        .into_iter()
        .find(|c| c["data"]["argv"][1] == "note")
        .unwrap();
    let b64 = cmd["data"]["argv"][2]["b64"].as_str().unwrap();
    assert_eq!(
        cordon_core::bytes_json::decode_b64(b64).unwrap(),
        b"from \xff\xfe host"
    );
}
