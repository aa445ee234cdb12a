//! Apache/nginx access logs (`common`, `combined`, `vhost_combined`) and the attacks visible in them.
//!
//! `%h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-Agent}i"]`, time `[17/May/2015:10:05:03 +0000]`.
//! The request, referrer and user agent are attacker-controlled and may hold escaped quotes (`\"`);
//! quoted fields are read honouring the backslash. Hand-written for speed and to stay total on
//! hostile input (a regex over a 1 MB line would still be linear, but field splitting needs the
//! escape handling anyway).

use jiff::Timestamp;

use crate::civil::{civil_seconds, month_from_abbr};

/// One access-log line, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    /// Virtual host (`vhost_combined` only).
    pub vhost: Option<&'a [u8]>,
    /// Client address (`%h`).
    pub client: &'a [u8],
    /// Authenticated user (`%u`), `None` for `-`.
    pub user: Option<&'a [u8]>,
    /// Request time.
    pub time: Timestamp,
    /// The request line (`GET /x HTTP/1.1`), raw.
    pub request: &'a [u8],
    /// Method (first word of the request).
    pub method: &'a [u8],
    /// Path and query (second word of the request).
    pub path: &'a [u8],
    /// Status code.
    pub status: u16,
    /// Response bytes (`-` → 0).
    pub bytes: u64,
    /// Referrer.
    pub referer: Option<&'a [u8]>,
    /// User agent.
    pub user_agent: Option<&'a [u8]>,
}

fn token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b' ', s).unwrap_or(s.len());
    Some((
        s.get(..end)?,
        s.get(end..)?.strip_prefix(b" ").unwrap_or_default(),
    ))
}

/// A double-quoted field with backslash escapes; returns the raw inside and the rest.
fn quoted(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = s.strip_prefix(b"\"")?;
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => {
                let rest = inner.get(i + 1..)?;
                return Some((inner.get(..i)?, rest.strip_prefix(b" ").unwrap_or(rest)));
            }
            _ => i += 1,
        }
    }
    None
}

fn digits<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `[17/May/2015:10:05:03 +0000]` → instant; returns the rest after `] `.
pub fn parse_clf_time(s: &[u8]) -> Option<(Timestamp, &[u8])> {
    let s = s.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', s)?;
    let t = s.get(..close)?;
    // dd/Mon/yyyy:HH:MM:SS +zzzz
    if t.len() < 26 || t.get(2) != Some(&b'/') || t.get(6) != Some(&b'/') || t.get(11) != Some(&b':') {
        return None;
    }
    let day: u32 = digits(t.get(0..2)?)?;
    let month = month_from_abbr(t.get(3..6)?)?;
    let year: i64 = digits(t.get(7..11)?)?;
    let h: u32 = digits(t.get(12..14)?)?;
    let mi: u32 = digits(t.get(15..17)?)?;
    let se: u32 = digits(t.get(18..20)?)?;
    let sign = match t.get(21)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let oh: i64 = digits(t.get(22..24)?)?;
    let om: i64 = digits(t.get(24..26)?)?;
    let local = civil_seconds(year, month, day, h, mi, se)?;
    let utc = local - sign * (oh * 3600 + om * 60);
    let rest = s.get(close + 1..)?;
    Some((
        Timestamp::from_second(utc).ok()?,
        rest.strip_prefix(b" ").unwrap_or(rest),
    ))
}

/// Parses one access-log line; `None` when it is not in a CLF-derived format.
pub fn parse_access(line: &[u8]) -> Option<Access<'_>> {
    // `%h %l %u [` or, for vhost_combined, `%v:%p %h %l %u [`.
    let (t0, r0) = token(line)?;
    let (t1, r1) = token(r0)?;
    let (t2, r2) = token(r1)?;
    let (vhost, client, user, rest) = if r2.starts_with(b"[") {
        (None, t0, t2, r2)
    } else {
        let (t3, r3) = token(r2)?;
        if !r3.starts_with(b"[") {
            return None;
        }
        (Some(t0), t1, t3, r3)
    };
    let (time, rest) = parse_clf_time(rest)?;
    let (request, rest) = quoted(rest)?;
    let (status, rest) = token(rest)?;
    let status: u16 = digits(status)?;
    let (bytes, rest) = token(rest)?;
    let bytes = if bytes == b"-" { 0 } else { digits(bytes)? };
    let (referer, user_agent) = match quoted(rest) {
        Some((r, rest)) => (Some(r), quoted(rest).map(|(ua, _)| ua)),
        None => (None, None),
    };
    let (method, after) = token(request).unwrap_or((&[], &[]));
    let path = match rfind_space(after) {
        Some(i) if after.get(i + 1..).is_some_and(|p| p.starts_with(b"HTTP/")) => {
            after.get(..i).unwrap_or(after)
        }
        _ => after,
    };
    Some(Access {
        vhost,
        client,
        user: (user != b"-").then_some(user),
        time,
        request,
        method,
        path,
        status,
        bytes,
        referer: referer.filter(|r| *r != b"-"),
        user_agent: user_agent.filter(|r| *r != b"-"),
    })
}

fn rfind_space(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b' ')
}

/// Percent-decodes (twice, for double encoding) and lowercases; `+` becomes a space.
pub fn normalize(b: &[u8]) -> Vec<u8> {
    let once = percent_decode(b);
    let twice = percent_decode(&once);
    twice
        .into_iter()
        .map(|c| if c == b'+' { b' ' } else { c.to_ascii_lowercase() })
        .collect()
}

fn percent_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn hex(c: &u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A kind of web attack recognised in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attack {
    /// SQL injection (`union select`, `' or 1=1`, `sleep(`, `information_schema` …).
    SqlInjection,
    /// Path traversal / local file inclusion (`../`, `/etc/passwd`, `php://filter`).
    PathTraversal,
    /// OS command injection (`;wget`, `|sh`, `$(`, backticks, `/bin/sh`).
    CommandInjection,
    /// JNDI lookups (Log4Shell, CVE-2021-44228), also obfuscated `${${lower:j}ndi`.
    Log4Shell,
    /// A request for a known web-shell file name.
    WebShell,
}

impl Attack {
    /// The check id suffix and ATT&CK technique.
    pub fn check(self) -> (&'static str, &'static str) {
        match self {
            Attack::SqlInjection => ("web.sql_injection", "T1190"),
            Attack::PathTraversal => ("web.path_traversal", "T1190"),
            Attack::CommandInjection => ("web.command_injection", "T1190"),
            Attack::Log4Shell => ("web.log4shell", "T1190"),
            Attack::WebShell => ("web.webshell_request", "T1505.003"),
        }
    }

    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            Attack::SqlInjection => "SQL injection attempts",
            Attack::PathTraversal => "path traversal / file inclusion attempts",
            Attack::CommandInjection => "command injection attempts",
            Attack::Log4Shell => "JNDI lookup (Log4Shell) attempts",
            Attack::WebShell => "requests to a known web-shell name",
        }
    }
}

const SQLI: &[&[u8]] = &[
    b"union select",
    b"union all select",
    b"' or '1'='1",
    b"\" or \"1\"=\"1",
    b"' or 1=1",
    b" or 1=1--",
    b"sleep(",
    b"benchmark(",
    b"waitfor delay",
    b"information_schema",
    b"load_file(",
    b"into outfile",
    b"extractvalue(",
    b"updatexml(",
    b"select @@version",
    b"pg_sleep(",
];
const TRAVERSAL: &[&[u8]] = &[
    b"../../",
    b"..\\..\\",
    b"/etc/passwd",
    b"/etc/shadow",
    b"/proc/self/environ",
    b"php://filter",
    b"php://input",
    b"file:///",
    b"win.ini",
];
const CMDI: &[&[u8]] = &[
    b";wget ",
    b";curl ",
    b"|wget ",
    b"|curl ",
    b"| sh",
    b"|sh",
    b"|bash",
    b"$(",
    b"`id`",
    b";id;",
    b"/bin/sh",
    b"/bin/bash",
    b"cmd.exe",
    b";cat /etc",
    b"nc -e",
    b"python -c",
    b"chmod +x",
];
const LOG4J: &[&[u8]] = &[
    b"${jndi:",
    b"${${",
    b"${lower:",
    b"${upper:",
    b"${::-j}",
    b"${env:",
];
/// File names of common PHP/ASP/JSP web shells.
pub const WEBSHELL_NAMES: &[&[u8]] = &[
    b"c99.php",
    b"r57.php",
    b"wso.php",
    b"wso2.php",
    b"b374k",
    b"shell.php",
    b"cmd.php",
    b"webshell",
    b"alfa.php",
    b"alfa-rex",
    b"indoxploit",
    b"priv8",
    b"filesman",
    b"c100.php",
    b"mini.php",
    b"shell.jsp",
    b"cmd.jsp",
    b"cmd.aspx",
    b"shell.aspx",
    b"p0wny",
    b"weevely",
    b"up.php",
    b"uploader.php",
];

fn any(h: &[u8], needles: &[&[u8]]) -> bool {
    needles.iter().any(|n| memchr::memmem::find(h, n).is_some())
}

/// Every attack kind a request shows (path and query, referrer and user agent normalised).
pub fn attacks(a: &Access<'_>) -> Vec<Attack> {
    let path = normalize(a.path);
    let mut out = Vec::new();
    if any(&path, SQLI) {
        out.push(Attack::SqlInjection);
    }
    if any(&path, TRAVERSAL) {
        out.push(Attack::PathTraversal);
    }
    if any(&path, CMDI) {
        out.push(Attack::CommandInjection);
    }
    let headers: Vec<u8> = [a.referer, a.user_agent]
        .into_iter()
        .flatten()
        .flat_map(|h| normalize(h).into_iter().chain(std::iter::once(b'\n')))
        .collect();
    if any(&path, LOG4J) || any(&headers, LOG4J) {
        out.push(Attack::Log4Shell);
    }
    let file = path_only(&path);
    let name = file.rsplit(|&c| c == b'/').next().unwrap_or_default();
    if WEBSHELL_NAMES
        .iter()
        .any(|n| name == *n || (n.len() > 6 && memchr::memmem::find(name, n).is_some()))
    {
        out.push(Attack::WebShell);
    }
    out
}

/// The path without its query string.
pub fn path_only(p: &[u8]) -> &[u8] {
    let end = p.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(p.len());
    p.get(..end).unwrap_or(p)
}

/// True for a path under an upload directory (`/uploads/`, `/upload/`, `/wp-content/uploads/`,
/// `/files/`, `/images/`, `/tmp/`).
pub fn is_upload_path(p: &[u8]) -> bool {
    let p = p.to_ascii_lowercase();
    any(
        &p,
        &[
            b"/upload",
            b"/files/",
            b"/tmp/",
            b"/images/",
            b"/media/",
            b"/attachments/",
        ],
    )
}

/// True for a server-side script name (`.php`, `.phtml`, `.php5`, `.jsp`, `.asp[x]`).
pub fn is_script(p: &[u8]) -> bool {
    let p = p.to_ascii_lowercase();
    [
        &b".php"[..],
        b".phtml",
        b".php3",
        b".php4",
        b".php5",
        b".php7",
        b".phar",
        b".jsp",
        b".asp",
        b".aspx",
    ]
    .iter()
    .any(|ext| p.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_combined_with_escaped_quotes() {
        let a = parse_access(
            br#"83.149.9.216 - bob [17/May/2015:10:05:03 +0200] "GET /x?q=\"a\" HTTP/1.1" 200 203023 "http://r/" "Mozilla \"x\"""#,
        )
        .unwrap();
        assert_eq!(a.client, b"83.149.9.216");
        assert_eq!(a.user, Some(&b"bob"[..]));
        assert_eq!(a.time, "2015-05-17T08:05:03Z".parse().unwrap());
        assert_eq!(
            (a.method, a.path, a.status, a.bytes),
            (&b"GET"[..], &br#"/x?q=\"a\""#[..], 200, 203023)
        );
        assert_eq!(a.user_agent, Some(&br#"Mozilla \"x\""#[..]));
        let v = parse_access(br#"www.example.com:443 10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 404 - "-" "-""#).unwrap();
        assert_eq!(
            (v.vhost, v.client, v.bytes),
            (Some(&b"www.example.com:443"[..]), &b"10.0.0.1"[..], 0)
        );
        assert!(parse_access(b"\x00\xff garbage").is_none());
    }

    #[test]
    fn recognises_attacks_also_when_encoded() {
        let mk = |path: &'static [u8], ua: Option<&'static [u8]>| Access {
            vhost: None,
            client: b"1.2.3.4",
            user: None,
            time: Timestamp::UNIX_EPOCH,
            request: b"",
            method: b"GET",
            path,
            status: 200,
            bytes: 0,
            referer: None,
            user_agent: ua,
        };
        assert_eq!(
            attacks(&mk(b"/item.php?id=1%20UNION%20SELECT%201,2", None)),
            vec![Attack::SqlInjection]
        );
        assert_eq!(
            attacks(&mk(b"/view?f=..%252f..%252f..%252fetc%252fpasswd", None)),
            vec![Attack::PathTraversal]
        );
        assert_eq!(
            attacks(&mk(b"/", Some(b"${${lower:j}ndi:ldap://x/a}"))),
            vec![Attack::Log4Shell]
        );
        assert_eq!(
            attacks(&mk(b"/wp-content/uploads/c99.php", None)),
            vec![Attack::WebShell]
        );
        assert!(
            attacks(&mk(
                b"/presentations/logstash-monitorama-2013/images/kibana-search.png",
                None
            ))
            .is_empty()
        );
    }
}
