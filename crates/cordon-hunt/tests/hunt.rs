//! The hunt on a real Debian root: clean, with ordinary admin changes, and with every technique of
//! the catalog planted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cordon_core::Severity;
use cordon_host::Target;
use cordon_hunt::{Allowlist, HuntOptions, catalog, hunt};
use cordon_testkit::plant::{benign_admin, malicious};
use cordon_testkit::{copy_root_for_hunt, debian_root};

fn show(findings: &[cordon_core::Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f.severity.as_str(),
                f.check,
                String::from_utf8_lossy(f.path.as_deref().unwrap_or_default()),
                f.summary
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_clean_debian_root_has_nothing_at_or_above_high() {
    let root = debian_root().unwrap();
    let report = hunt(&Target::offline(&root), &HuntOptions::default()).unwrap();
    let serious: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .cloned()
        .collect();
    assert!(serious.is_empty(), "clean root raised:\n{}", show(&serious));
    assert!(
        report.launch_points.len() > 20,
        "the inventory read only {} launch points",
        report.launch_points.len()
    );
    assert!(
        report.files_walked > 5_000,
        "walked only {} files",
        report.files_walked
    );
    assert!(report.notes.iter().any(|n| n.contains("offline target")));
}

#[test]
fn admin_changes_stay_low_and_every_planted_technique_is_found() {
    let clean = debian_root().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("web01");
    copy_root_for_hunt(&clean, &root).unwrap();

    benign_admin(&root).unwrap();
    let report = hunt(&Target::offline(&root), &HuntOptions::default()).unwrap();
    let loud: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Low)
        .cloned()
        .collect();
    assert!(
        loud.is_empty(),
        "ordinary administration raised above low:\n{}",
        show(&loud)
    );
    // They are visible, though, at low or info: the responder sees the inventory.
    let checks: Vec<&str> = report.findings.iter().map(|f| f.check.as_str()).collect();
    for expected in [
        "cron.unowned",
        "systemd.unowned",
        "sudoers.nopasswd_all",
        "ssh.authorized_key",
    ] {
        assert!(checks.contains(&expected), "{expected} missing from {checks:?}");
    }
    let benign_ids: Vec<String> = report.findings.iter().map(|f| f.id.clone()).collect();

    let planted = malicious(&root).unwrap();
    let report = hunt(&Target::offline(&root), &HuntOptions::default()).unwrap();
    let mut missed = Vec::new();
    for p in &planted {
        let hit = report.findings.iter().any(|f| {
            f.check == p.check
                && f.path
                    .as_deref()
                    .is_some_and(|path| path.starts_with(p.path.as_bytes()))
        });
        if !hit {
            missed.push(format!("{} at {}", p.check, p.path));
        }
    }
    assert!(
        missed.is_empty(),
        "planted but not found:\n{}\n\nfound:\n{}",
        missed.join("\n"),
        show(&report.findings)
    );
    // Findings explain themselves.
    for f in &report.findings {
        assert!(
            catalog::is_documented(&f.check),
            "{} is not in docs/checks.md",
            f.check
        );
        assert!(f.technique.is_some(), "{} has no ATT&CK technique", f.check);
        assert!(
            !f.summary.is_empty() && !f.remediation.is_empty(),
            "{} lacks words",
            f.check
        );
    }
    // The benign findings are unchanged by the attack and still low.
    for f in report.findings.iter().filter(|f| benign_ids.contains(&f.id)) {
        assert!(f.severity <= Severity::Low, "{}", f.check);
    }
    // The worst is at the top.
    assert_eq!(report.findings[0].severity, Severity::Critical);

    // An allowlist entry with a reason suppresses exactly what it names.
    let allow = Allowlist::parse(
        "check sudoers.nopasswd_all -- ops team policy\npath /etc/cron.d/certbot -- certbot renewals\n",
    )
    .unwrap();
    let allowed = hunt(
        &Target::offline(&root),
        &HuntOptions {
            allow,
            ..HuntOptions::default()
        },
    )
    .unwrap();
    assert_eq!(allowed.suppressed, 2, "{}", show(&allowed.findings));
    assert!(!allowed.findings.iter().any(|f| f.check == "sudoers.nopasswd_all"));
    assert_eq!(allowed.findings.len() + 2, report.findings.len());
}

#[test]
fn hostile_names_and_contents_do_not_break_the_hunt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let w = |p: &str, c: &[u8]| {
        let full = root.join(p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, c).unwrap();
    };
    w(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n\xff\xfe:x:0:0::/:/bin/sh\nbroken line\n",
    );
    w(
        "etc/cron.d/\x1b[2Jevil",
        b"* * * * * root /tmp/\xff\n* * *\n\0\0\0\n",
    );
    w("etc/crontab", &vec![b'a'; 5 * 1024 * 1024]);
    w("etc/sudoers.d/x", b"\xff ALL=(ALL) NOPASSWD: ALL\n");
    w(
        "root/.ssh/authorized_keys",
        b"command=\"unterminated ssh-ed25519 AAAA\n\x00\x01\n",
    );
    std::os::unix::fs::symlink("profile", root.join("etc/profile")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", root.join("etc/shadow")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("etc/rc.local"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let report = hunt(&Target::offline(root), &HuntOptions::default()).unwrap();
    assert!(started.elapsed().as_secs() < 30, "the hunt hung");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.check == "account.extra_uid0" && f.user.as_deref() == Some(b"\xff\xfe"))
    );
    assert!(report.findings.iter().any(|f| f.check == "cron.tmp_exec"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("only the start was checked")),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("/etc/profile: could not be read")),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("/etc/rc.local: is not a regular file")),
        "{:?}",
        report.notes
    );
    assert!(
        report.notes.iter().all(|n| !n.contains('\x1b')),
        "notes must be escaped"
    );
}

#[test]
fn docs_checks_md_is_in_sync_with_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == catalog::markdown(),
        "docs/checks.md is stale: regenerate it with `cordon hunt --list-checks > docs/checks.md`"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Every parser the hunt feeds (passwd, shadow, group, sudoers, sshd_config, a unit file, a
    /// crontab, authorized_keys, PAM, udev, the dpkg status and a .list file) gets arbitrary bytes:
    /// the hunt finishes, never panics, and reports what it could not parse.
    #[test]
    fn arbitrary_bytes_in_every_parsed_file_never_break_the_hunt(
        blobs in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), 12)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "etc/passwd", "etc/shadow", "etc/group", "etc/sudoers.d/x", "etc/ssh/sshd_config",
            "etc/systemd/system/x.service", "etc/cron.d/x", "root/.ssh/authorized_keys", "etc/pam.d/x",
            "etc/udev/rules.d/x.rules", "var/lib/dpkg/status", "var/lib/dpkg/info/x.list",
        ];
        for (path, bytes) in files.iter().zip(&blobs) {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        let report = hunt(&Target::offline(dir.path()), &HuntOptions::default()).unwrap();
        for f in &report.findings {
            proptest::prop_assert!(catalog::is_documented(&f.check), "{}", f.check);
        }
    }
}
