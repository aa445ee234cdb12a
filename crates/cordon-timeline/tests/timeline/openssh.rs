//! The real loghub OpenSSH log: every line accounted for, counts equal to independent `grep -c`
//! counts, brute-force sources ranked as an independent awk count ranks them, and the single
//! `Accepted password for fztu from 119.137.62.142` raised as the entry vector exactly when that
//! address failed before it.

use cordon_core::Severity;
use cordon_timeline::detect::Config;

use crate::common::*;

fn root_with(auth_log: &[u8]) -> Root {
    let r = Root::new();
    r.write("/var/log/auth.log", auth_log, MTIME);
    r
}

#[test]
fn every_line_is_accounted_for_and_counts_match_grep() {
    let real = logs_dir().join("loghub-OpenSSH_2k.log");
    let root = root_with(&openssh());
    let run = run(&root, Config::new("LabSZ"));
    assert_eq!(run.reports.len(), 1);
    let rep = &run.reports[0];
    assert_eq!(rep.error, None);
    let total_lines: u64 = sh(&format!("awk 'END {{ print NR }}' {}", real.display()))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rep.lines, total_lines);
    assert_eq!(rep.lines, 2000);
    assert_eq!(
        rep.parsed + rep.unparsed,
        rep.lines,
        "each line parsed or counted unparsed"
    );
    assert_eq!(
        rep.kinds.values().sum::<u64>(),
        rep.parsed,
        "each parsed line has exactly one kind"
    );
    assert_eq!(rep.unparsed, 0, "every line has a syslog header");
    // sshd lines whose message matches none of sshd's known formats.
    assert_eq!(rep.kinds.get("unrecognized"), None, "{:?}", rep.kinds);
    assert_eq!(rep.events, 2000);

    let count = |event: &str, pred: &dyn Fn(&cordon_core::Event) -> bool| {
        run.events
            .iter()
            .filter(|e| attr(e, "event") == Some(event) && pred(e))
            .count() as u64
    };
    assert_eq!(
        count("ssh_failed", &|e| attr(e, "method") == Some("password")),
        grep_c("Failed password", &real)
    );
    assert_eq!(
        count("ssh_failed", &|e| attr(e, "method") == Some("password")
            && e.attrs["invalid_user"] == true),
        grep_c("Failed password for invalid user", &real)
    );
    assert_eq!(count("ssh_failed", &|_| true), grep_c("Failed ", &real));
    assert_eq!(
        count("ssh_invalid_user", &|_| true),
        grep_c("Invalid user", &real)
    );
    assert_eq!(count("ssh_accepted", &|_| true), grep_c("Accepted ", &real));
    assert_eq!(count("ssh_accepted", &|_| true), 1);
    assert_eq!(
        count("ssh_reverse_mapping_failed", &|_| true),
        grep_c("POSSIBLE BREAK-IN ATTEMPT", &real)
    );
    assert_eq!(
        count("pam_auth_failure", &|_| true),
        grep_c("authentication failures*;", &real)
    );
    assert_eq!(
        count("ssh_disconnect", &|_| true),
        grep_c("disconnect from\\|Connection closed by", &real)
    );
    let repeated: u64 = run
        .events
        .iter()
        .filter_map(|e| e.attrs.get("repeat"))
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(repeated, 10, "two `message repeated 5 times` lines");

    // Year: December lines, file mtime 2026-11-24 → December 2025, in UTC (no zone on the target).
    let first = &run.events[0];
    assert_eq!(
        cordon_core::format_utc(first.time),
        "2025-12-10T06:55:46.000000000Z"
    );
    assert_eq!(first.host, "LabSZ");
    assert_eq!(first.line, Some(1));
}

#[test]
fn brute_force_sources_are_ranked_like_an_independent_count() {
    let real = logs_dir().join("loghub-OpenSSH_2k.log");
    // awk: failed attempts per address, `message repeated N times` counting N.
    let awk = sh(&format!(
        r#"awk '/sshd\[[0-9]+\]: .*Failed [a-z-]+ for / {{ n = 1; if (match($0, /repeated [0-9]+ times/)) n = substr($0, RSTART + 9, RLENGTH - 15) + 0; for (i = 1; i <= NF; i++) if ($i == "port") ip = $(i - 1); c[ip] += n }} END {{ for (k in c) if (c[k] >= 10) print c[k], k }}' {} | sort -k1,1nr -k2,2"#,
        real.display()
    ));
    let expected: Vec<(u64, String)> = awk
        .lines()
        .map(|l| {
            let (n, ip) = l.split_once(' ').unwrap();
            (n.parse().unwrap(), ip.to_owned())
        })
        .collect();
    assert!(expected.len() >= 3, "{awk}");
    let run = run(&root_with(&openssh()), Config::new("LabSZ"));
    let brute = checks(&run.findings, "logs.ssh_bruteforce");
    let got: Vec<(u64, String)> = brute
        .iter()
        .map(|f| {
            (
                f.attrs["failures"].as_u64().unwrap(),
                f.attrs["src_ip"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for (i, f) in brute.iter().enumerate() {
        assert_eq!(f.attrs["rank"].as_u64().unwrap(), i as u64 + 1);
        assert_eq!(f.severity, Severity::Medium);
        assert!(
            f.evidence.windows(7).any(|w| w == b"Failed "),
            "evidence is a failed-login line"
        );
        assert_eq!(f.path.as_deref(), Some(&b"/var/log/auth.log"[..]));
    }
    let top = brute[0];
    assert!(!top.attrs["users"].as_array().unwrap().is_empty());
    assert!(top.attrs["first_time"].as_str().unwrap() <= top.attrs["last_time"].as_str().unwrap());
}

const FZTU: &str = "119.137.62.142";

fn failures_from_fztu_ip(time: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(
            format!(
                "Dec 10 {time} LabSZ sshd[3000{i}]: Failed password for fztu from {FZTU} port {} ssh2\n",
                40000 + i
            )
            .as_bytes(),
        );
    }
    out
}

/// Inserts `extra` lines before the first line whose timestamp is >= `at` (the log stays ordered).
fn insert_at(log: &[u8], at: &str, extra: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut done = false;
    for line in log.split_inclusive(|&c| c == b'\n') {
        if !done && &line[7..15] >= at.as_bytes() {
            out.extend_from_slice(extra);
            done = true;
        }
        out.extend_from_slice(line);
    }
    if !done {
        out.extend_from_slice(extra);
    }
    out
}

#[test]
fn the_fztu_login_is_the_entry_vector_exactly_when_its_address_failed_first() {
    // The real log: that address never failed, so no entry-vector finding, only a low "new source".
    let run0 = run(&root_with(&openssh()), Config::new("LabSZ"));
    assert!(checks(&run0.findings, "logs.bruteforce_then_success").is_empty());
    let new = checks(&run0.findings, "logs.login_new_source");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].severity, Severity::Low);
    assert_eq!(new[0].attrs["src_ip"], FZTU);

    // Twelve failures from that address at 09:10, before the 09:32:20 success: critical.
    let log = insert_at(&openssh(), "09:10:00", &failures_from_fztu_ip("09:10:00", 12));
    let run1 = run(&root_with(&log), Config::new("LabSZ"));
    let hit = checks(&run1.findings, "logs.bruteforce_then_success");
    assert_eq!(hit.len(), 1, "{:#?}", hit);
    let f = hit[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.user.as_deref(), Some(&b"fztu"[..]));
    assert_eq!(f.attrs["src_ip"], FZTU);
    assert_eq!(f.attrs["failures_before"], 12);
    assert!(f.summary.contains("likely entry vector"), "{}", f.summary);
    assert_eq!(
        f.evidence,
        b"Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2"
    );
    assert_eq!(f.attrs["time"], "2025-12-10T09:32:20.000000000Z");
    assert_eq!(
        run1.findings[0].check, "logs.bruteforce_then_success",
        "most severe first"
    );

    // Two failures before: still the entry vector, high.
    let log = insert_at(&openssh(), "09:10:00", &failures_from_fztu_ip("09:10:00", 2));
    let run2 = run(&root_with(&log), Config::new("LabSZ"));
    let hit = checks(&run2.findings, "logs.bruteforce_then_success");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].severity, Severity::High);

    // Twelve failures only after the success: no entry-vector finding.
    let log = insert_at(&openssh(), "09:50:00", &failures_from_fztu_ip("09:50:00", 12));
    let run3 = run(&root_with(&log), Config::new("LabSZ"));
    assert!(checks(&run3.findings, "logs.bruteforce_then_success").is_empty());
    assert_eq!(
        checks(&run3.findings, "logs.ssh_bruteforce")
            .iter()
            .filter(|f| f.attrs["src_ip"] == FZTU)
            .count(),
        1
    );
}
