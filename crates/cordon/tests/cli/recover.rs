//! `backup check` and `preflight`: the incident's own indicators looked for in backups (trees and
//! tar archives) and on the rebuilt host before it goes back online.

use std::path::Path;
use std::process::Command;

use cordon_testkit::plant::{benign_admin, malicious};
use cordon_testkit::{copy_root_for_hunt, debian_root};

use crate::{TestCase, stderr, stdout};

fn cp_a(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

fn tar_gz(dir: &Path, out: &Path) {
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-czf")
        .arg(out)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
}

/// Auth log of a brute force that ends in a login of `deploy` from the same address.
fn bruteforce_log(path: &Path) {
    let mut log = String::new();
    for i in 0..12 {
        log.push_str(&format!(
            "Nov 20 03:14:{i:02} web01 sshd[{}]: Failed password for deploy from 203.0.113.66 port {} ssh2\n",
            4000 + i,
            50000 + i
        ));
    }
    log.push_str(
        "Nov 20 03:15:30 web01 sshd[4100]: Accepted password for deploy from 203.0.113.66 port 50100 ssh2\n",
    );
    std::fs::write(path, log).unwrap();
}

#[test]
fn backups_are_judged_by_the_incidents_own_indicators_and_preflight_gates_the_rebuild() {
    let t = TestCase::new();
    let work = tempfile::tempdir().unwrap();
    let clean = debian_root().unwrap();

    // The compromised host: hunted, and its logs read, into the case.
    let web01 = work.path().join("web01");
    copy_root_for_hunt(&clean, &web01).unwrap();
    benign_admin(&web01).unwrap();
    malicious(&web01).unwrap();
    assert_eq!(
        t.run(&["hunt", "--root", web01.to_str().unwrap()]).status.code(),
        Some(1)
    );
    let auth = work.path().join("auth.log");
    bruteforce_log(&auth);
    t.run(&["logs", "--log", auth.to_str().unwrap()]);

    // Three backups: before the compromise, part of the persistence, all of it.
    let b1 = work.path().join("web01-2026-11-01");
    copy_root_for_hunt(&clean, &b1).unwrap();
    benign_admin(&b1).unwrap();
    let b2 = work.path().join("web01-2026-11-10");
    copy_root_for_hunt(&clean, &b2).unwrap();
    benign_admin(&b2).unwrap();
    for f in ["etc/cron.d/freedesktop_timesync1", "etc/ld.so.preload"] {
        std::fs::copy(web01.join(f), b2.join(f)).unwrap();
    }
    // And a trojaned program, which only package integrity notices (it is no incident indicator).
    std::fs::write(b2.join("usr/bin/who"), b"#!/bin/sh\nexec /tmp/.x/kworker\n").unwrap();
    let b3 = work.path().join("web01-2026-11-20");
    cp_a(&web01, &b3);

    let out = t.run(&[
        "backup",
        "check",
        b3.to_str().unwrap(),
        b1.to_str().unwrap(),
        b2.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["date"], "2026-11-01T00:00:00Z", "sorted by date");
    assert_eq!(rows[0]["clean"], true, "{}", rows[0]);
    assert_eq!(rows[0]["restore_candidate"], true);
    assert_eq!(rows[1]["clean"], false);
    let ind: Vec<&str> = rows[1]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ind.len(), 2, "exactly the two planted files: {ind:?}");
    assert!(
        ind.iter()
            .any(|i| i.contains("/etc/cron.d/freedesktop_timesync1")),
        "{ind:?}"
    );
    assert!(ind.iter().any(|i| i.contains("/etc/ld.so.preload")), "{ind:?}");
    assert!(
        rows[2]["indicators"].as_array().unwrap().len() > 20,
        "{}",
        rows[2]["indicators"]
    );
    assert_eq!(rows[2]["restore_candidate"], false);
    // Journaled, and the playbook's backup step is done.
    assert!(
        t.ok(&["journal", "--kind", "backup.check"])
            .contains("restore candidate")
    );

    // The same backups as tar archives, read as streams.
    let tars: Vec<_> = [&b1, &b2, &b3]
        .iter()
        .map(|b| {
            let out = work
                .path()
                .join(format!("{}.tar.gz", b.file_name().unwrap().to_string_lossy()));
            tar_gz(b, &out);
            out
        })
        .collect();
    let out = t.run(&[
        "backup",
        "check",
        tars[0].to_str().unwrap(),
        tars[1].to_str().unwrap(),
        tars[2].to_str().unwrap(),
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.iter()
            .map(|r| r["clean"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, false],
        "{rows:?}"
    );
    assert_eq!(rows[1]["indicators"].as_array().unwrap().len(), 2, "{}", rows[1]);
    assert_eq!(rows[0]["kind"], "tar");

    // A hostile archive: climbing names, absolute names, links out, a device node. Read, reported,
    // nothing written anywhere.
    let evil = work.path().join("evil-2026-11-21.tar");
    let py = format!(
        r#"import tarfile, io
t = tarfile.open("{}", "w")
def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link; i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
add("../../escape", b"pwned")
add("/etc/cron.d/abs", b"* * * * * root /tmp/x")
add("etc/shadow-link", kind=tarfile.SYMTYPE, link="/etc/shadow")
add("dev/sda", kind=tarfile.BLKTYPE)
add("etc/passwd", b"root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n")
t.close()"#,
        evil.display()
    );
    assert!(
        Command::new("python3")
            .arg("-c")
            .arg(py)
            .status()
            .unwrap()
            .success()
    );
    let before: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let out = t.run(&["backup", "check", evil.to_str().unwrap()]);
    let text = stdout(&out);
    for needle in [
        "climbs out",
        "absolute member name",
        "points outside the archive",
        "device node",
        "account.extra_uid0",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let after: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "nothing was extracted");
    assert!(!work.path().parent().unwrap().join("escape").exists());

    // Preflight on the compromised host fails, with reasons.
    let out = t.run(&["preflight", "--root", web01.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL indicators"), "{text}");
    assert!(text.contains("/etc/cron.d/freedesktop_timesync1"), "{text}");
    assert!(text.contains("FAIL entry.ssh_passwords"), "{text}");
    assert!(text.contains("FAIL entry.abused_account"), "{text}");
    assert!(text.contains("preflight FAILED"));

    // The rebuilt host: a clean system with the hole closed and the basics hardened passes.
    let rebuilt = work.path().join("rebuilt");
    cp_a(&clean, &rebuilt);
    benign_admin(&rebuilt).unwrap();
    let w = |p: &str, c: &str| std::fs::write(rebuilt.join(p), c).unwrap();
    let shadow = std::fs::read_to_string(rebuilt.join("etc/shadow"))
        .unwrap()
        .replace("deploy:$y$", "deploy:!$y$");
    w("etc/shadow", &shadow);
    std::fs::create_dir_all(rebuilt.join("etc/ssh/sshd_config.d")).unwrap();
    w(
        "etc/ssh/sshd_config.d/10-hardening.conf",
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n",
    );
    w(
        "etc/nftables.conf",
        "table inet filter {\n  chain input { type filter hook input priority 0; policy drop; ct state established,related accept; tcp dport 22 accept; }\n}\n",
    );
    w(
        "etc/apt/apt.conf.d/20auto-upgrades",
        "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
    );
    std::fs::remove_file(rebuilt.join("etc/sudoers.d/ops")).unwrap();
    let out = t.run(&["preflight", "--root", rebuilt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("preflight passed"));
    assert!(
        stdout(&out).contains("PASS entry.abused_account"),
        "{}",
        stdout(&out)
    );
    assert!(t.ok(&["task", "list"]).contains("[x]  8 (preflight)"));
}
