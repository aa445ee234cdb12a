//! `case init`, and finding the case again.

use std::path::Path;

use cordon_testkit::{CaseParent, run_cordon};

use crate::{BIN, TestCase, stderr, stdout};

#[test]
fn init_creates_the_case_layout_and_seeds_the_playbook() {
    let t = TestCase::new();
    for sub in ["case.sqlite", "evidence", "reports"] {
        assert!(t.dir.join(sub).exists(), "{sub} missing");
    }
    let tasks = t.ok(&["task", "list"]);
    for key in [
        "notify",
        "collect",
        "contain",
        "image",
        "hunt",
        "entry",
        "backups",
        "preflight",
        "report",
    ] {
        assert!(
            tasks.contains(&format!("({key})")),
            "playbook lacks {key}:\n{tasks}"
        );
    }
    let first = &t.journal()[0];
    assert_eq!(first["kind"], "case.init");
    assert_eq!(first["data"]["title"], "web01 compromise");
    assert_eq!(first["data"]["handler"], "J. Smith");
}

#[test]
fn init_refuses_the_suspect_systems_own_disk_and_explains_why() {
    // A directory under the system temp dir shares the root filesystem on this machine: that is what
    // a responder does when they forget to plug in the USB disk.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let root_dev = rustix::fs::stat("/").unwrap().st_dev;
    let tmp_dev = rustix::fs::stat(tmp.path()).unwrap().st_dev;
    let args = [
        "case",
        "init",
        dir.to_str().unwrap(),
        "--title",
        "t",
        "--handler",
        "h",
    ];
    let out = run_cordon(Path::new(BIN), None, args, None).unwrap();
    if root_dev == tmp_dev {
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("refusing to create the case"), "{err}");
        assert!(err.contains("same filesystem"), "{err}");
        assert!(err.contains("deleted files"), "{err}");
        assert!(
            !dir.join("case.sqlite").exists(),
            "a refused case must leave nothing behind"
        );
    }

    // Naming the suspect root explicitly: a case next to it on the same filesystem is refused too.
    let parent = CaseParent::new().unwrap();
    let suspect = parent.case_path("mounted-image");
    std::fs::create_dir(&suspect).unwrap();
    let dir = parent.case_path("case");
    let args = [
        "case",
        "init",
        dir.to_str().unwrap(),
        "--title",
        "t",
        "--handler",
        "h",
        "--suspect-root",
        suspect.to_str().unwrap(),
    ];
    let out = run_cordon(Path::new(BIN), None, args, None).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!dir.join("case.sqlite").exists());
}

#[test]
fn allow_suspect_disk_overrides_and_is_journaled_as_a_warning() {
    let parent = CaseParent::new().unwrap();
    let suspect = parent.path();
    let dir = parent.case_path("case");
    let args = [
        "case",
        "init",
        dir.to_str().unwrap(),
        "--title",
        "t",
        "--handler",
        "h",
        "--suspect-root",
        suspect.to_str().unwrap(),
        "--allow-suspect-disk",
    ];
    let out = run_cordon(Path::new(BIN), None, args, None).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning"));
    let out = run_cordon(
        Path::new(BIN),
        Some(&dir),
        ["journal", "--kind", "warning", "--json"],
        None,
    )
    .unwrap();
    let line: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(line["data"]["overridden"], true);
    assert!(line["text"].as_str().unwrap().contains("--allow-suspect-disk"));
}

#[test]
fn init_refuses_to_overwrite_an_existing_case() {
    let t = TestCase::new();
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "case",
            "init",
            t.dir.to_str().unwrap(),
            "--title",
            "x",
            "--handler",
            "y",
            "--allow-suspect-disk",
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already holds a cordon case"));
}

#[test]
fn the_case_is_found_from_flag_then_env_then_cwd_or_a_parent() {
    let t = TestCase::new();
    let other = TestCase::new();
    let bin = Path::new(BIN);
    // --case wins over CORDON_CASE.
    let out = run_cordon(
        bin,
        Some(&other.dir),
        ["--case", t.dir.to_str().unwrap(), "note", "via flag"],
        None,
    )
    .unwrap();
    assert!(out.status.success());
    assert!(t.ok(&["journal", "--kind", "note"]).contains("via flag"));
    assert!(!other.ok(&["journal", "--kind", "note"]).contains("via flag"));
    // CORDON_CASE.
    assert!(other.run(&["note", "via env"]).status.success());
    assert!(other.ok(&["journal", "--kind", "note"]).contains("via env"));
    // The current directory's parent (cwd is the case's evidence/ directory), no env.
    let out = std::process::Command::new(bin)
        .args(["note", "via cwd"])
        .env_remove("CORDON_CASE")
        .current_dir(t.dir.join("evidence"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(t.ok(&["journal", "--kind", "note"]).contains("via cwd"));
    // Nowhere: a clear error and exit 2.
    let out = std::process::Command::new(bin)
        .args(["status"])
        .env_remove("CORDON_CASE")
        .current_dir(t.parent.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a cordon case"), "{}", stderr(&out));
}
