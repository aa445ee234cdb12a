//! Hostile input: 1 MB lines, binary garbage, invalid UTF-8, a gzip bomb, terminal escapes, and
//! user names built to look like the rest of an sshd line. Parsed or skipped with a count, never a
//! panic, memory bounded by the caps.

use std::io::Write as _;

use cordon_timeline::detect::Config;
use cordon_timeline::lines::Limits;
use cordon_timeline::sources::Options;

use crate::common::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn long_lines_garbage_and_invalid_utf8_are_counted_not_fatal() {
    let mut log = Vec::new();
    log.extend_from_slice(
        b"Dec 10 06:55:46 LabSZ sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2\n",
    );
    log.extend_from_slice(b"Dec 10 06:55:47 LabSZ sshd[1]: Invalid user ");
    log.extend(std::iter::repeat_n(b'A', 1024 * 1024));
    log.extend_from_slice(b" from 192.0.2.2 port 2\n");
    let mut seed = 0x2545_f491_u64;
    for _ in 0..200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        log.push((seed & 0xff) as u8);
    }
    log.extend_from_slice(b"\nDec 10 06:55:48 LabSZ sshd[1]: Failed password for invalid user \xff\xfe\x1b[2J\x1b]0;pwned\x07 from 192.0.2.3 port 3 ssh2\n");
    log.extend_from_slice(b"Dec 10 06:55:49 LabSZ sshd[1]: Failed password for invalid user x from 9.9.9.9 port 22 ssh2 from 192.0.2.4 port 4 ssh2\n");
    log.extend_from_slice(b"\x00\x00\x00\n\n");
    let root = Root::new();
    root.write("/var/log/auth.log", &log, MTIME);
    let run = run(&root, Config::new("h"));
    let rep = &run.reports[0];
    assert_eq!(rep.error, None);
    assert_eq!(rep.parsed + rep.unparsed, rep.lines);
    assert!(rep.long_lines >= 1, "the 1 MB line is cut and counted");
    assert!(rep.unparsed >= 2, "garbage lines are counted");
    let failed: Vec<_> = run
        .events
        .iter()
        .filter(|e| attr(e, "event") == Some("ssh_failed"))
        .collect();
    assert_eq!(failed.len(), 3);
    // Raw bytes kept; JSON gets a lossy string plus base64.
    let evil = failed
        .iter()
        .find(|e| attr(e, "src_ip") == Some("192.0.2.3"))
        .unwrap();
    let j = evil.to_json();
    assert!(j.get("message_b64").is_some());
    assert!(evil.message.windows(4).any(|w| w == b"\x1b[2J"));
    // A user name that imitates the end of the line does not move the address.
    let spoof = failed
        .iter()
        .find(|e| attr(e, "src_ip") == Some("192.0.2.4"))
        .unwrap();
    assert_eq!(attr(spoof, "user"), Some("x from 9.9.9.9 port 22 ssh2"));
}

#[test]
fn a_gzip_bomb_stops_at_the_cap() {
    // 64 MiB of zeros compress to ~64 KiB; the cap is 1 MiB.
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 200 * 1024);
    let root = Root::new();
    root.write("/var/log/auth.log.2.gz", &bomb, MTIME);
    let mut opts = Options::new("h");
    opts.limits = Limits {
        max_line: 64 * 1024,
        max_decompressed: 1024 * 1024,
    };
    let run = run_with(&root, Config::new("h"), opts);
    let rep = &run.reports[0];
    assert!(rep.capped && rep.gzip);
    assert_eq!(rep.error, None);
    assert!(rep.lines <= 17, "{}", rep.lines);
}

#[test]
fn rotated_and_compressed_logs_are_read_oldest_first() {
    let root = Root::new();
    root.write(
        "/var/log/auth.log.2.gz",
        &gzip(b"Dec 30 10:00:00 h sshd[1]: Failed password for root from 192.0.2.9 port 1 ssh2\n"),
        1_767_096_000,
    );
    root.write(
        "/var/log/auth.log.1",
        b"Dec 31 10:00:00 h sshd[1]: Failed password for root from 192.0.2.9 port 1 ssh2\n",
        1_767_182_400,
    );
    root.write(
        "/var/log/auth.log",
        b"Jan  1 10:00:00 h sshd[1]: Accepted password for root from 192.0.2.9 port 1 ssh2\n",
        1_767_268_800,
    );
    let run = run(&root, Config::new("h"));
    let paths: Vec<String> = run
        .reports
        .iter()
        .map(|r| String::from_utf8_lossy(&r.path).into_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/var/log/auth.log.2.gz",
            "/var/log/auth.log.1",
            "/var/log/auth.log"
        ]
    );
    let times: Vec<String> = run
        .events
        .iter()
        .map(|e| cordon_core::format_utc(e.time))
        .collect();
    assert_eq!(
        times,
        [
            "2025-12-30T10:00:00.000000000Z",
            "2025-12-31T10:00:00.000000000Z",
            "2026-01-01T10:00:00.000000000Z"
        ]
    );
    let hit = checks(&run.findings, "logs.bruteforce_then_success");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].attrs["failures_before"], 2);
}

#[test]
fn year_inference_rolls_over_at_new_year_within_a_file() {
    let log = b"Dec 31 23:59:58 h CRON[1]: (root) CMD (true)\nJan  1 00:00:01 h CRON[2]: (root) CMD (true)\nFeb 29 12:00:00 h CRON[3]: (root) CMD (true)\n";
    let root = Root::new();
    // mtime 2024-03-01: the last line is Feb 29 2024 (a leap year), the first Dec 31 2023.
    root.write("/var/log/syslog", log, 1_709_251_200);
    let run = run(&root, Config::new("h"));
    let times: Vec<String> = run
        .events
        .iter()
        .map(|e| cordon_core::format_utc(e.time))
        .collect();
    assert_eq!(
        times,
        [
            "2023-12-31T23:59:58.000000000Z",
            "2024-01-01T00:00:01.000000000Z",
            "2024-02-29T12:00:00.000000000Z"
        ]
    );
    assert_eq!(run.events[0].attrs["year_inferred"], true);
    assert_eq!(attr(&run.events[0], "command"), Some("true"));
    assert_eq!(run.events[0].data_type, "linux:cron");
}

#[test]
fn the_target_time_zone_is_used_for_local_times() {
    let root = Root::new();
    root.write("/var/log/auth.log", b"Jul  1 12:00:00 h sshd[1]: Accepted publickey for alice from 192.0.2.1 port 1 ssh2: ED25519 SHA256:x\n", 1_751_371_200);
    let mut opts = Options::new("h");
    opts.zone = cordon_timeline::civil::LocalZone::named("Europe/Paris").unwrap();
    let run = run_with(&root, Config::new("h"), opts);
    assert_eq!(
        cordon_core::format_utc(run.events[0].time),
        "2025-07-01T10:00:00.000000000Z"
    );
    assert_eq!(attr(&run.events[0], "key"), Some("ED25519 SHA256:x"));
}

#[test]
fn links_in_an_image_never_reach_the_examiners_own_files() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join(".bash_history"), b"SECRET-OF-THE-EXAMINER\n").unwrap();
    std::fs::write(
        outside.path().join("auth.log"),
        b"Dec 10 06:55:46 h sshd[1]: Accepted password for SECRET from 1.2.3.4 port 1 ssh2\n",
    )
    .unwrap();
    let root = Root::new();
    root.write(
        "/etc/passwd",
        b"alice:x:1000:1000::/home/alice:/bin/bash\n",
        MTIME,
    );
    std::fs::create_dir_all(root.path().join("home")).unwrap();
    // Absolute links planted in the image: followed naively they would leave the image.
    std::os::unix::fs::symlink(outside.path(), root.path().join("home/alice")).unwrap();
    std::fs::create_dir_all(root.path().join("var/log")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("auth.log"),
        root.path().join("var/log/auth.log"),
    )
    .unwrap();
    let run = run(&root, Config::new("h"));
    assert!(
        run.events
            .iter()
            .all(|e| !String::from_utf8_lossy(&e.message).contains("SECRET")),
        "{:?}",
        run.reports
    );
}
