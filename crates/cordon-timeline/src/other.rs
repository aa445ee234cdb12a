//! The other text logs of a Linux host: dpkg, apt history, yum/dnf, auditd, shell histories,
//! journald's JSON export and Apache/nginx error logs. Each parser turns a line (or, for apt, a block)
//! into a [`Rec`]; the caller adds source, line and host. Local times are converted with the examined
//! system's zone ([`LocalZone`]).

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::civil::{LocalZone, civil_seconds, month_from_abbr};

/// One parsed record, ready to become an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    /// When.
    pub time: Timestamp,
    /// What the time means.
    pub desc: &'static str,
    /// Parser data type (`linux:dpkg` …).
    pub data_type: &'static str,
    /// The message.
    pub message: Vec<u8>,
    /// Parsed fields.
    pub attrs: Map<String, Value>,
}

fn digits<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `YYYY-MM-DD HH:MM:SS` (also with `T`, or two spaces as apt writes) → local civil seconds and the
/// length consumed.
fn iso_local(b: &[u8]) -> Option<(i64, usize)> {
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let y: i64 = digits(b.get(0..4)?)?;
    let mo: u32 = digits(b.get(5..7)?)?;
    let d: u32 = digits(b.get(8..10)?)?;
    let mut i = 10;
    while matches!(b.get(i), Some(b' ' | b'T')) {
        i += 1;
    }
    let t = b.get(i..i + 8)?;
    if t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return None;
    }
    let s = civil_seconds(
        y,
        mo,
        d,
        digits(t.get(0..2)?)?,
        digits(t.get(3..5)?)?,
        digits(t.get(6..8)?)?,
    )?;
    Some((s, i + 8))
}

fn local_ts(zone: &mut LocalZone, local: i64) -> Option<Timestamp> {
    Timestamp::from_second(zone.to_utc(local)).ok()
}

/// dpkg.log: `2024-04-20 03:14:07 install nginx:amd64 <none> 1.22.1-9`, `status installed …`,
/// `configure …`, `remove …`, `purge …`, `startup archives unpack`.
pub fn dpkg(line: &[u8], zone: &mut LocalZone) -> Option<Rec> {
    let (local, used) = iso_local(line)?;
    let rest = line.get(used..)?.strip_prefix(b" ")?;
    let mut words = rest.split(|&c| c == b' ');
    let action = words.next()?;
    let mut attrs = Map::new();
    attrs.insert("action".into(), json!(text(action)));
    match action {
        b"install" | b"upgrade" | b"remove" | b"purge" | b"configure" | b"trigproc" => {
            if let Some(p) = words.next() {
                attrs.insert("package".into(), json!(text(p)));
            }
            let versions: Vec<&[u8]> = words.collect();
            if let Some(v) = versions.last() {
                attrs.insert("version".into(), json!(text(v)));
            }
        }
        b"status" => {
            if let (Some(state), Some(p)) = (words.next(), words.next()) {
                attrs.insert("status".into(), json!(text(state)));
                attrs.insert("package".into(), json!(text(p)));
                if let Some(v) = words.next() {
                    attrs.insert("version".into(), json!(text(v)));
                }
            }
        }
        _ => {}
    }
    Some(Rec {
        time: local_ts(zone, local)?,
        desc: "Package Change",
        data_type: "linux:dpkg",
        message: rest.to_vec(),
        attrs,
    })
}

/// apt `history.log`: blocks from `Start-Date:` to `End-Date:`; one record per block.
#[derive(Debug, Default)]
pub struct AptHistory {
    start: Option<i64>,
    fields: Vec<(String, Vec<u8>)>,
}

impl AptHistory {
    /// Feeds one line; returns a record when a block ends.
    pub fn feed(&mut self, line: &[u8], zone: &mut LocalZone) -> Option<Rec> {
        if let Some(d) = line.strip_prefix(b"Start-Date: ") {
            self.start = iso_local(d).map(|(s, _)| s);
            self.fields.clear();
            return None;
        }
        if line.starts_with(b"End-Date: ") {
            return self.flush(zone);
        }
        if let Some(colon) = memchr::memmem::find(line, b": ")
            && self.start.is_some()
            && self.fields.len() < 16
        {
            let key = text(line.get(..colon)?);
            let mut value = line.get(colon + 2..)?.to_vec();
            value.truncate(4096);
            self.fields.push((key, value));
        }
        None
    }

    /// Emits a block cut short by the end of the file.
    pub fn flush(&mut self, zone: &mut LocalZone) -> Option<Rec> {
        let start = self.start.take()?;
        let mut attrs = Map::new();
        let mut message = Vec::new();
        for (k, v) in self.fields.drain(..) {
            if k == "Commandline" {
                message.extend_from_slice(&v);
            }
            attrs.insert(k.to_ascii_lowercase().replace('-', "_"), json!(text(&v)));
        }
        if message.is_empty() {
            message.extend_from_slice(b"apt transaction");
        }
        Some(Rec {
            time: local_ts(zone, start)?,
            desc: "Package Transaction Start",
            data_type: "linux:apt:history",
            message,
            attrs,
        })
    }
}

/// dnf.rpm.log / dnf.log: `2024-04-20T03:14:07+0000 SUBDEBUG Installed: nginx-1.20.1-1.el9.x86_64`
/// (also `…Z` and `+00:00`).
pub fn dnf(line: &[u8]) -> Option<Rec> {
    let sp = memchr::memchr(b' ', line)?;
    let stamp = std::str::from_utf8(line.get(..sp)?).ok()?;
    let time = parse_offset_time(stamp)?;
    let rest = line.get(sp + 1..)?;
    let msg = match memchr::memchr(b' ', rest) {
        Some(i)
            if rest
                .get(..i)
                .is_some_and(|w| w.iter().all(u8::is_ascii_uppercase)) =>
        {
            rest.get(i + 1..)?
        }
        _ => rest,
    };
    Some(Rec {
        time,
        desc: "Package Change",
        data_type: "linux:dnf",
        message: msg.to_vec(),
        attrs: Map::new(),
    })
}

/// RFC 3339 or ISO 8601 with a `+hhmm` offset.
pub fn parse_offset_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    // `+0000` → `+00:00`
    let b = s.as_bytes();
    if b.len() > 5 {
        let (head, off) = s.split_at(s.len() - 5);
        if off.starts_with(['+', '-']) && off.get(1..)?.bytes().all(|c| c.is_ascii_digit()) {
            let fixed = format!("{head}{}:{}", off.get(..3)?, off.get(3..)?);
            return fixed.parse().ok();
        }
    }
    None
}

/// yum.log: `Apr 20 03:14:07 Installed: pkg` — a traditional stamp without host; the caller resolves
/// the year. Returns (month, day, secs, message).
pub fn yum(line: &[u8]) -> Option<(u32, u32, u32, &[u8])> {
    let (m, d, s, used) = crate::syslog::parse_traditional_time(line)?;
    Some((m, d, s, line.get(used..)?.strip_prefix(b" ")?))
}

/// auditd: `type=<T> msg=audit(<epoch>.<ms>:<serial>): key=value …` (RAW or ENRICHED).
pub fn audit(line: &[u8]) -> Option<Rec> {
    let rest = line.strip_prefix(b"type=")?;
    let sp = memchr::memchr(b' ', rest)?;
    let kind = rest.get(..sp)?;
    let rest = rest.get(sp + 1..)?.strip_prefix(b"msg=audit(")?;
    let close = memchr::memmem::find(rest, b"):")?;
    let stamp = rest.get(..close)?;
    let colon = memchr::memchr(b':', stamp)?;
    let (secs, frac) = {
        let t = stamp.get(..colon)?;
        match memchr::memchr(b'.', t) {
            Some(dot) => (
                digits::<i64>(t.get(..dot)?)?,
                digits::<i64>(t.get(dot + 1..)?).unwrap_or(0),
            ),
            None => (digits::<i64>(t)?, 0),
        }
    };
    let serial: u64 = digits(stamp.get(colon + 1..)?)?;
    let body = rest.get(close + 2..)?;
    let body = body.strip_prefix(b" ").unwrap_or(body);
    let time = Timestamp::new(secs, i32::try_from(frac.clamp(0, 999) * 1_000_000).ok()?).ok()?;
    let mut attrs = Map::new();
    attrs.insert("audit_type".into(), json!(text(kind)));
    attrs.insert("audit_serial".into(), json!(serial));
    // The ENRICHED format appends resolved names after a 0x1d separator: keep them out of the fields.
    let raw = body.split(|&c| c == 0x1d).next().unwrap_or(body);
    for (k, v) in audit_fields(raw) {
        let name = match k {
            b"auid" => "auid",
            b"uid" => "uid",
            b"ses" => "session",
            b"pid" => "pid",
            b"ppid" => "ppid",
            b"comm" => "comm",
            b"exe" => "exe",
            b"acct" => "user",
            b"addr" => "src_ip",
            b"hostname" => "src_host",
            b"res" => "result",
            b"success" => "success",
            b"key" => "key",
            b"syscall" => "syscall",
            b"op" => "op",
            b"terminal" => "terminal",
            b"proctitle" => "proctitle",
            _ => continue,
        };
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(v);
        let value = if name == "proctitle" {
            hex_args(v).unwrap_or_else(|| v.to_vec())
        } else {
            v.to_vec()
        };
        attrs
            .entry(name.to_owned())
            .or_insert_with(|| json!(text(&value)));
    }
    if kind == b"EXECVE" {
        let mut args = Vec::new();
        for (k, v) in audit_fields(raw) {
            if k.first() == Some(&b'a')
                && k.get(1..)
                    .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
            {
                let arg = match v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")) {
                    Some(q) => q.to_vec(),
                    None => hex_args(v).unwrap_or_else(|| v.to_vec()),
                };
                args.push(arg);
            }
        }
        attrs.insert("command".into(), json!(text(&args.join(&b' '))));
    }
    Some(Rec {
        time,
        desc: "Audit Event",
        data_type: "linux:auditd",
        message: body.to_vec(),
        attrs,
    })
}

/// `k=v` pairs (values may be double-quoted, or single-quoted `msg='…'` whose inner pairs are read too).
fn audit_fields(b: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while matches!(b.get(i), Some(b' ' | b'\'')) {
            i += 1;
        }
        let Some(eq) = b.get(i..).and_then(|r| memchr::memchr(b'=', r)) else {
            break;
        };
        let key = b.get(i..i + eq).unwrap_or_default();
        let vstart = i + eq + 1;
        let vend = match b.get(vstart) {
            Some(b'"') => b
                .get(vstart + 1..)
                .and_then(|r| memchr::memchr(b'"', r))
                .map_or(b.len(), |e| vstart + e + 2),
            Some(b'\'') => vstart + 1,
            _ => b
                .get(vstart..)
                .and_then(|r| r.iter().position(|&c| c == b' ' || c == b'\''))
                .map_or(b.len(), |e| vstart + e),
        };
        if !key.contains(&b' ') && vend <= b.len() {
            out.push((key, b.get(vstart..vend).unwrap_or_default()));
        }
        i = vend.max(i + 1);
    }
    out
}

/// Hex-encoded arguments with NUL separators (auditd `proctitle`, unquoted `aN`) → bytes with spaces.
fn hex_args(v: &[u8]) -> Option<Vec<u8>> {
    if !v.len().is_multiple_of(2) || v.is_empty() || !v.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = Vec::with_capacity(v.len() / 2);
    for pair in v.chunks_exact(2) {
        let s = std::str::from_utf8(pair).ok()?;
        let byte = u8::from_str_radix(s, 16).ok()?;
        out.push(if byte == 0 { b' ' } else { byte });
    }
    Some(out)
}

/// Shell history state: bash `#<epoch>` stamps (HISTTIMEFORMAT), zsh `: <epoch>:<dur>;cmd`, fish
/// `- cmd: …` / `  when: <epoch>`.
#[derive(Debug, Default)]
pub struct History {
    pending_stamp: Option<i64>,
    fish_cmd: Option<Vec<u8>>,
}

/// A history entry: the command and its time when the file recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The command.
    pub command: Vec<u8>,
    /// Seconds since the epoch, when stamped.
    pub time: Option<i64>,
}

impl History {
    /// Feeds one line.
    pub fn feed(&mut self, line: &[u8]) -> Option<HistoryEntry> {
        if let Some(cmd) = line.strip_prefix(b"- cmd: ") {
            let prev = self.fish_cmd.replace(cmd.to_vec());
            return prev.map(|command| HistoryEntry { command, time: None });
        }
        if let Some(when) = line.strip_prefix(b"  when: ") {
            let command = self.fish_cmd.take()?;
            return Some(HistoryEntry {
                command,
                time: digits(when),
            });
        }
        if let Some(stamp) = line.strip_prefix(b"#")
            && stamp.len() >= 9
            && stamp.len() <= 11
            && stamp.iter().all(u8::is_ascii_digit)
        {
            self.pending_stamp = digits(stamp);
            return None;
        }
        if let Some(rest) = line.strip_prefix(b": ")
            && let Some(colon) = memchr::memchr(b':', rest)
            && let Some(semi) = memchr::memchr(b';', rest)
            && colon < semi
            && let Some(t) = rest.get(..colon).and_then(digits::<i64>)
        {
            return Some(HistoryEntry {
                command: rest.get(semi + 1..).unwrap_or_default().to_vec(),
                time: Some(t),
            });
        }
        if line.is_empty() {
            return None;
        }
        Some(HistoryEntry {
            command: line.to_vec(),
            time: self.pending_stamp.take(),
        })
    }

    /// The last fish command, if the file ended before its `when:`.
    pub fn finish(&mut self) -> Option<HistoryEntry> {
        self.fish_cmd
            .take()
            .map(|command| HistoryEntry { command, time: None })
    }
}

/// One `journalctl -o json` line: (time, host, identifier, pid, message, extra fields).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// `__REALTIME_TIMESTAMP`.
    pub time: Timestamp,
    /// `_HOSTNAME`.
    pub host: Vec<u8>,
    /// `SYSLOG_IDENTIFIER` (else `_COMM`).
    pub program: Vec<u8>,
    /// `_PID`.
    pub pid: Option<u32>,
    /// `MESSAGE` (a byte array in the export when it is not UTF-8).
    pub message: Vec<u8>,
    /// `_SYSTEMD_UNIT`, `_EXE`, `_UID`, `_BOOT_ID` when present.
    pub attrs: Map<String, Value>,
}

fn journal_bytes(v: Option<&Value>) -> Option<Vec<u8>> {
    match v? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(a) => {
            // Either a byte array or (repeated field) an array of values: take the first value.
            if a.iter().all(Value::is_u64) {
                Some(
                    a.iter()
                        .filter_map(Value::as_u64)
                        .map(|b| u8::try_from(b).unwrap_or(b'?'))
                        .collect(),
                )
            } else {
                journal_bytes(a.first())
            }
        }
        _ => None,
    }
}

/// Parses one line of `journalctl -o json` output.
pub fn journal_json(line: &[u8]) -> Option<JournalEntry> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let obj = v.as_object()?;
    let us: i64 = text(&journal_bytes(obj.get("__REALTIME_TIMESTAMP"))?)
        .parse()
        .ok()?;
    let time = Timestamp::from_microsecond(us).ok()?;
    let program = journal_bytes(obj.get("SYSLOG_IDENTIFIER"))
        .or_else(|| journal_bytes(obj.get("_COMM")))
        .unwrap_or_default();
    let pid = journal_bytes(obj.get("SYSLOG_PID"))
        .or_else(|| journal_bytes(obj.get("_PID")))
        .and_then(|p| text(&p).parse().ok());
    let mut attrs = Map::new();
    for (k, name) in [
        ("_SYSTEMD_UNIT", "unit"),
        ("_EXE", "exe"),
        ("_UID", "uid"),
        ("_BOOT_ID", "boot_id"),
        ("_TRANSPORT", "transport"),
    ] {
        if let Some(b) = journal_bytes(obj.get(k)) {
            attrs.insert(name.into(), json!(text(&b)));
        }
    }
    Some(JournalEntry {
        time,
        host: journal_bytes(obj.get("_HOSTNAME")).unwrap_or_default(),
        program,
        pid,
        message: journal_bytes(obj.get("MESSAGE")).unwrap_or_default(),
        attrs,
    })
}

/// Apache (`[Sat May 17 10:05:03.123456 2015] [core:error] [pid 1] [client 1.2.3.4:5] msg`, 2.2's
/// `[Sat May 17 10:05:03 2015] [error] [client 1.2.3.4] msg`) and nginx
/// (`2015/05/17 10:05:03 [error] 1#0: *1 msg, client: 1.2.3.4, …`) error logs, local time.
pub fn web_error(line: &[u8], zone: &mut LocalZone) -> Option<Rec> {
    let mut attrs = Map::new();
    let (local, rest) = if let Some(r) = line.strip_prefix(b"[") {
        // Www Mmm dd HH:MM:SS[.frac] yyyy]
        let close = memchr::memchr(b']', r)?;
        let t = r.get(..close)?;
        let month = month_from_abbr(t.get(4..7)?)?;
        let day: u32 = digits(t.get(8..10)?.trim_ascii())?;
        let h: u32 = digits(t.get(11..13)?)?;
        let mi: u32 = digits(t.get(14..16)?)?;
        let s: u32 = digits(t.get(17..19)?)?;
        let year: i64 = digits(t.get(t.len().checked_sub(4)?..)?)?;
        (civil_seconds(year, month, day, h, mi, s)?, r.get(close + 1..)?)
    } else if line.get(4) == Some(&b'/') && line.get(7) == Some(&b'/') {
        let y: i64 = digits(line.get(0..4)?)?;
        let mo: u32 = digits(line.get(5..7)?)?;
        let d: u32 = digits(line.get(8..10)?)?;
        let h: u32 = digits(line.get(11..13)?)?;
        let mi: u32 = digits(line.get(14..16)?)?;
        let s: u32 = digits(line.get(17..19)?)?;
        (civil_seconds(y, mo, d, h, mi, s)?, line.get(19..)?)
    } else {
        return None;
    };
    let rest = rest.trim_ascii_start();
    if let Some(r) = rest.strip_prefix(b"[")
        && let Some(close) = memchr::memchr(b']', r)
    {
        attrs.insert("level".into(), json!(text(r.get(..close)?)));
    }
    let client = memchr::memmem::find(rest, b"[client ")
        .map(|i| i + 8)
        .or_else(|| memchr::memmem::find(rest, b"client: ").map(|i| i + 8));
    if let Some(c) = client.and_then(|c| rest.get(c..)) {
        let end = c
            .iter()
            .position(|&x| x == b']' || x == b',' || x == b' ')
            .unwrap_or(c.len());
        let addr = c.get(..end).unwrap_or_default();
        // Apache 2.4 writes `ip:port`; strip the port of an IPv4 address.
        let addr = match (
            addr.iter().filter(|&&x| x == b':').count(),
            addr.iter().rposition(|&x| x == b':'),
        ) {
            (1, Some(p)) => addr.get(..p).unwrap_or(addr),
            _ => addr,
        };
        attrs.insert("src_ip".into(), json!(text(addr)));
    }
    Some(Rec {
        time: local_ts(zone, local)?,
        desc: "Log Entry Written",
        data_type: "web:error",
        message: rest.to_vec(),
        attrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_logs() {
        let mut z = LocalZone::utc("test");
        let r = dpkg(
            b"2024-04-20 03:14:07 install netcat-traditional:amd64 <none> 1.10-47",
            &mut z,
        )
        .unwrap();
        assert_eq!(r.time, "2024-04-20T03:14:07Z".parse().unwrap());
        assert_eq!(r.attrs["package"], "netcat-traditional:amd64");
        assert_eq!(r.attrs["version"], "1.10-47");
        let mut apt = AptHistory::default();
        for l in [
            &b"Start-Date: 2024-04-20  03:14:07"[..],
            b"Commandline: apt-get install -y ncat",
            b"Requested-By: bob (1000)",
            b"Install: ncat:amd64 (7.93)",
        ] {
            assert!(apt.feed(l, &mut z).is_none());
        }
        let r = apt.feed(b"End-Date: 2024-04-20  03:14:09", &mut z).unwrap();
        assert_eq!(r.message, b"apt-get install -y ncat");
        assert_eq!(r.attrs["requested_by"], "bob (1000)");
        let r = dnf(b"2024-04-20T03:14:07+0000 SUBDEBUG Installed: nmap-7.91-10.el9.x86_64").unwrap();
        assert_eq!(r.time, "2024-04-20T03:14:07Z".parse().unwrap());
        assert_eq!(r.message, b"Installed: nmap-7.91-10.el9.x86_64");
    }

    #[test]
    fn audit_records_and_hex_arguments() {
        let r = audit(
            b"type=EXECVE msg=audit(1713582847.123:456): argc=3 a0=\"curl\" a1=\"-o\" a2=2F746D702F782073",
        )
        .unwrap();
        assert_eq!(r.time, Timestamp::new(1_713_582_847, 123_000_000).unwrap());
        assert_eq!(r.attrs["audit_serial"], 456);
        assert_eq!(r.attrs["command"], "curl -o /tmp/x s");
        let r = audit(b"type=USER_LOGIN msg=audit(1713582847.000:7): pid=1 uid=0 auid=1000 ses=3 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.5 terminal=ssh res=success'").unwrap();
        assert_eq!(r.attrs["user"], "root");
        assert_eq!(r.attrs["src_ip"], "203.0.113.5");
        assert_eq!(r.attrs["result"], "success");
    }

    #[test]
    fn histories_with_and_without_stamps() {
        let mut h = History::default();
        assert_eq!(h.feed(b"#1713582847"), None);
        assert_eq!(
            h.feed(b"wget http://x/y"),
            Some(HistoryEntry {
                command: b"wget http://x/y".to_vec(),
                time: Some(1_713_582_847)
            })
        );
        assert_eq!(
            h.feed(b"ls"),
            Some(HistoryEntry {
                command: b"ls".to_vec(),
                time: None
            })
        );
        assert_eq!(
            h.feed(b": 1713582850:0;rm -rf /tmp/x"),
            Some(HistoryEntry {
                command: b"rm -rf /tmp/x".to_vec(),
                time: Some(1_713_582_850)
            })
        );
    }

    #[test]
    fn journal_json_with_binary_message() {
        let e = journal_json(br#"{"__REALTIME_TIMESTAMP":"1713582847000001","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"sshd-session","_PID":"42","MESSAGE":[65,255,66]}"#).unwrap();
        assert_eq!(e.time.as_microsecond(), 1_713_582_847_000_001);
        assert_eq!(e.program, b"sshd-session");
        assert_eq!(e.pid, Some(42));
        assert_eq!(e.message, b"A\xffB");
    }

    #[test]
    fn web_error_logs() {
        let mut z = LocalZone::utc("test");
        let r = web_error(b"[Sat May 17 10:05:03.123456 2015] [core:error] [pid 1:tid 2] [client 1.2.3.4:5678] AH00126: Invalid URI", &mut z).unwrap();
        assert_eq!(r.time, "2015-05-17T10:05:03Z".parse().unwrap());
        assert_eq!(r.attrs["src_ip"], "1.2.3.4");
        let r = web_error(
            b"2015/05/17 10:05:03 [error] 12#0: *1 open() failed, client: 5.6.7.8, server: x",
            &mut z,
        )
        .unwrap();
        assert_eq!(r.attrs["src_ip"], "5.6.7.8");
        assert_eq!(r.attrs["level"], "error");
    }
}
