//! `cordon contain account|file|process` through the real binary: an offline root whose account files
//! come from the clean Debian root (plus an attacker's account with an SSH key), a dropped web shell,
//! and a busy child process spawned by the test. Each is planned (nothing changes), applied (journaled
//! before and after, taken files registered as evidence), visible in `status`, and undone to the exact
//! previous bytes and metadata.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{BIN, TestCase, sha256_hex, stderr, stdout};

fn kinds(case: &TestCase) -> Vec<String> {
    case.journal()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn applied_id(case: &TestCase) -> String {
    let e = case
        .journal()
        .into_iter()
        .rfind(|e| e["kind"] == "contain.applied")
        .unwrap();
    e["data"]["id"].as_str().unwrap().to_string()
}

/// SHA-256 of every file the last applied action stored in the case (`case verify` re-hashes them).
fn stored_hashes(case: &TestCase) -> Vec<String> {
    let e = case
        .journal()
        .into_iter()
        .rfind(|e| e["kind"] == "contain.applied")
        .unwrap();
    e["data"]["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap().to_string())
        .collect()
}

/// An offline root with the Debian root's account files and an extra, attacker-made account.
fn offline_root(dir: &Path) -> PathBuf {
    let debian = cordon_testkit::debian_root().unwrap();
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc/ssh")).unwrap();
    for f in ["passwd", "group", "shadow"] {
        std::fs::copy(debian.join("etc").join(f), root.join("etc").join(f)).unwrap();
    }
    let append = |f: &str, line: &str| {
        use std::io::Write as _;
        let mut h = std::fs::OpenOptions::new()
            .append(true)
            .open(root.join("etc").join(f))
            .unwrap();
        h.write_all(line.as_bytes()).unwrap();
    };
    append("passwd", "mallory:x:1337:1337:,,,:/home/mallory:/bin/bash\n");
    append("group", "mallory:x:1337:\n");
    append(
        "shadow",
        "mallory:$y$j9T$abcdefgh$ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789abcde:20400:0:99999:7:::\n",
    );
    std::fs::set_permissions(root.join("etc/shadow"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let ssh = root.join("home/mallory/.ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(
        ssh.join("authorized_keys"),
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl attacker\n",
    )
    .unwrap();
    std::fs::set_permissions(
        ssh.join("authorized_keys"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    root
}

#[test]
fn an_account_is_locked_its_keys_moved_into_the_case_and_undo_restores_every_byte() {
    let case = TestCase::new();
    let work = tempfile::tempdir().unwrap();
    let root = offline_root(work.path());
    let shadow = root.join("etc/shadow");
    let keys = root.join("home/mallory/.ssh/authorized_keys");
    let shadow_before = std::fs::read(&shadow).unwrap();
    let keys_before = std::fs::read(&keys).unwrap();
    let r = root.to_str().unwrap();

    let dry = case.ok(&["contain", "account", "mallory", "--root", r]);
    assert!(dry.contains("dry run"), "{dry}");
    assert_eq!(
        std::fs::read(&shadow).unwrap(),
        shadow_before,
        "a dry run changes nothing"
    );
    assert!(keys.exists());

    let out = case.ok(&["contain", "account", "mallory", "--root", r, "--apply"]);
    assert!(out.contains("APPLIED"), "{out}");
    let after = std::fs::read_to_string(&shadow).unwrap();
    let line = after.lines().find(|l| l.starts_with("mallory:")).unwrap();
    let fields: Vec<&str> = line.split(':').collect();
    assert!(fields[1].starts_with('!'), "password locked: {line}");
    assert_eq!(
        fields[1].trim_start_matches('!'),
        "$y$j9T$abcdefgh$ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789abcde"
    );
    assert_eq!(fields[7], "1", "account expired: {line}");
    let before_text = String::from_utf8(shadow_before.clone()).unwrap();
    let others = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("mallory:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        others(&after),
        others(&before_text),
        "every other line is byte-identical"
    );
    assert_eq!(std::fs::metadata(&shadow).unwrap().mode() & 0o777, 0o640);
    assert!(!keys.exists(), "authorized_keys moved aside");

    // The key file and the shadow backup are evidence in the case, with their original hashes.
    let stored = stored_hashes(&case);
    assert!(stored.contains(&sha256_hex(&keys_before)), "{stored:?}");
    assert!(stored.contains(&sha256_hex(&shadow_before)), "{stored:?}");
    assert!(case.ok(&["evidence", "list"]).contains("contain account"));
    assert!(case.ok(&["status"]).contains("account applied"));
    case.ok(&["case", "verify"]);

    let id = applied_id(&case);
    let undo = case.ok(&["contain", "undo", &id]);
    assert!(undo.contains("undone"), "{undo}");
    assert_eq!(
        std::fs::read(&shadow).unwrap(),
        shadow_before,
        "shadow restored byte for byte"
    );
    assert_eq!(std::fs::read(&keys).unwrap(), keys_before);
    assert_eq!(std::fs::metadata(&keys).unwrap().mode() & 0o777, 0o600);
    let k = kinds(&case);
    for kind in [
        "contain.plan",
        "contain.apply",
        "contain.applied",
        "contain.undo",
        "contain.undone",
    ] {
        assert!(k.contains(&kind.to_string()), "{kind}: {k:?}");
    }
}

#[test]
fn an_unknown_user_is_refused_and_nothing_is_journaled_as_applied() {
    let case = TestCase::new();
    let work = tempfile::tempdir().unwrap();
    let root = offline_root(work.path());
    let before = std::fs::read(root.join("etc/shadow")).unwrap();
    let out = case.run(&[
        "contain",
        "account",
        "nosuchuser",
        "--root",
        root.to_str().unwrap(),
        "--apply",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no account named"), "{}", stderr(&out));
    assert_eq!(std::fs::read(root.join("etc/shadow")).unwrap(), before);
    assert!(!kinds(&case).contains(&"contain.applied".to_string()));
    // Sessions can only be ended on the live host.
    let out = case.run(&[
        "contain",
        "account",
        "mallory",
        "--root",
        root.to_str().unwrap(),
        "--kill-sessions",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("only on the live host"), "{}", stderr(&out));
}

/// `--root` as typed may be relative. The record must name the same tree from any directory, or an
/// undo run from another terminal (or after a restart) acts on another tree, or fails.
#[test]
fn a_relative_root_is_recorded_so_that_undo_works_from_any_directory() {
    let case = TestCase::new();
    let work = tempfile::tempdir().unwrap();
    let root = offline_root(work.path());
    let shadow = root.join("etc/shadow");
    let keys = root.join("home/mallory/.ssh/authorized_keys");
    let shadow_before = std::fs::read(&shadow).unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        Command::new(BIN)
            .current_dir(cwd)
            .env("CORDON_CASE", &case.dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(
        work.path(),
        &["contain", "account", "mallory", "--root", "root", "--apply"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!keys.exists());
    let elsewhere = tempfile::tempdir().unwrap();
    let undo = run(elsewhere.path(), &["contain", "undo", &applied_id(&case)]);
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert_eq!(std::fs::read(&shadow).unwrap(), shadow_before);
    assert!(keys.exists(), "the key file is back in the tree it came from");
}

#[test]
fn a_web_shell_is_quarantined_into_the_case_and_put_back_identical() {
    let case = TestCase::new();
    let site = tempfile::tempdir().unwrap();
    let shell = site.path().join("up.php");
    let body = b"<?php if(isset($_REQUEST['c'])){system($_REQUEST['c']);} ?>\n";
    std::fs::write(&shell, body).unwrap();
    std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
    let when = std::time::UNIX_EPOCH + Duration::new(1_763_600_000, 123_456_789);
    std::fs::File::options()
        .write(true)
        .open(&shell)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let p = shell.to_str().unwrap();

    let out = case.ok(&["contain", "file", p, "--apply"]);
    assert!(out.contains("APPLIED"), "{out}");
    assert!(!shell.exists(), "nothing left behind");
    assert!(stored_hashes(&case).contains(&sha256_hex(body)));
    assert!(case.ok(&["evidence", "list"]).contains("contain file"));
    case.ok(&["case", "verify"]);

    let id = applied_id(&case);
    case.ok(&["contain", "undo", &id]);
    assert_eq!(std::fs::read(&shell).unwrap(), body);
    let m = std::fs::metadata(&shell).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o755);
    assert_eq!(m.modified().unwrap(), when, "mtime restored to the nanosecond");

    // The report says what was done to stop the loss, and how it ended.
    let reports = case.parent.path().join("reports");
    case.ok(&["report", "--format", "md", "-o", reports.to_str().unwrap()]);
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    let line = md
        .lines()
        .find(|l| l.starts_with(&format!("- {id} file")))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(line.contains("undone"), "{line}");

    // A file the package manager installed gets a warning in the plan (a dry run: nothing moves).
    let ls = if Path::new("/usr/bin/ls").exists() {
        "/usr/bin/ls"
    } else {
        "/bin/ls"
    };
    let plan = case.ok(&["contain", "file", ls]);
    assert!(
        plan.contains("belongs to the installed package coreutils"),
        "{plan}"
    );
    assert!(Path::new(ls).exists());

    // A FIFO and a missing path are refused with a clear error.
    let fifo = site.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = case.run(&["contain", "file", fifo.to_str().unwrap(), "--apply"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let out = case.run(&[
        "contain",
        "file",
        site.path().join("gone.php").to_str().unwrap(),
        "--apply",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The case is on the responder's disk, which may come back at another mount point: undo finds the
/// copies under the case's `contain/<ID>/` wherever the case now is.
#[test]
fn undo_works_after_the_case_directory_moved() {
    let case = TestCase::new();
    let site = tempfile::tempdir().unwrap();
    let shell = site.path().join("cmd.php");
    std::fs::write(&shell, b"<?php system($_GET['x']); ?>\n").unwrap();
    case.ok(&["contain", "file", shell.to_str().unwrap(), "--apply"]);
    assert!(!shell.exists());
    let id = applied_id(&case);

    let moved = case.dir.with_file_name("remounted");
    std::fs::rename(&case.dir, &moved).unwrap();
    let undo = Command::new(BIN)
        .env("CORDON_CASE", &moved)
        .args(["contain", "undo", &id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::rename(&moved, &case.dir).unwrap();
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert_eq!(std::fs::read(&shell).unwrap(), b"<?php system($_GET['x']); ?>\n");
}

/// A dropped file's name may be any bytes: the record is journaled (the move is undoable) and the
/// name comes back byte for byte.
#[test]
fn a_file_whose_name_is_not_utf8_is_quarantined_and_put_back() {
    use std::os::unix::ffi::OsStrExt as _;
    let case = TestCase::new();
    let site = tempfile::tempdir().unwrap();
    let shell = site.path().join(std::ffi::OsStr::from_bytes(b"\xff\x1b[2Jx.php"));
    std::fs::write(&shell, b"<?php eval($_POST[1]); ?>\n").unwrap();
    let out = Command::new(BIN)
        .env("CORDON_CASE", &case.dir)
        .arg("contain")
        .arg("file")
        .arg(&shell)
        .arg("--apply")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains('\x1b'), "escaped on the terminal");
    assert!(!shell.exists());
    case.ok(&["contain", "undo", &applied_id(&case)]);
    assert_eq!(std::fs::read(&shell).unwrap(), b"<?php eval($_POST[1]); ?>\n");
}

struct Busy(Child);

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(") ").unwrap().1;
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn a_process_is_frozen_not_killed_thawed_by_undo_and_killed_only_after_a_freeze() {
    let case = TestCase::new();
    let mut busy = Busy(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = busy.0.id();
    let p = pid.to_string();

    // Killing what was never frozen is refused: freeze first, so memory can be captured.
    let out = case.run(&["contain", "process", &p, "--kill", "--apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("freeze first"), "{}", stderr(&out));

    case.ok(&["contain", "process", &p, "--apply"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(proc_state(pid), Some('T'), "stopped");
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(cpu_ticks(pid), t0, "no CPU while frozen");
    assert!(case.ok(&["status"]).contains("process applied"));

    case.ok(&["contain", "undo", "process"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_ne!(proc_state(pid), Some('T'), "thawed");
    assert!(cpu_ticks(pid) > t0, "runs again");

    case.ok(&["contain", "process", &p, "--apply"]);
    let out = case.ok(&["contain", "process", &p, "--kill", "--apply"]);
    assert!(out.contains("kill"), "{out}");
    let status = busy.0.wait().unwrap();
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(9), "killed after the freeze");
    assert!(kinds(&case).contains(&"contain.killed".to_string()));

    // A pid that no longer exists.
    let out = case.run(&["contain", "process", &p, "--apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such process"), "{}", stderr(&out));
}
