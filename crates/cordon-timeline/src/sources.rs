//! The logs of a target: finding them (rotated and compressed ones included), reading each through the
//! host crate's safe open, and turning their lines into timeline [`Event`]s and detector input.
//!
//! Every line of every file is accounted for in its [`Report`]: parsed into a known kind, or counted
//! as unparsed. One unreadable file is a report with an error, never the end of the run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cordon_core::Event;
use cordon_host::Target;
use cordon_host::utmp::UtmpRecord;
use cordon_host::walk::{Event as WalkEvent, Visit, WalkOptions, walk};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::auth::{self, Auth, Parsed};
use crate::civil::LocalZone;
use crate::detect::{Detector, SourceId, render_utmp};
use crate::lines::{Limits, read_bytes_from, read_lines_from, read_log_bytes};
use crate::logins::{describe, parse_lastlog, parse_utmp};
use crate::other::{self, AptHistory, History, Rec};
use crate::syslog::{Resolver, Stamp, YearScan, parse_header, parse_traditional_time};
use crate::web::{attacks, parse_access};

/// What kind of log a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Syslog text (auth.log, secure, syslog, messages, kern.log, cron).
    Syslog,
    /// Apache/nginx access log.
    Access,
    /// Apache/nginx error log.
    WebError,
    /// wtmp (login history).
    Wtmp,
    /// btmp (failed logins).
    Btmp,
    /// utmp (current sessions).
    Utmp,
    /// lastlog.
    Lastlog,
    /// dpkg.log.
    Dpkg,
    /// apt history.log.
    Apt,
    /// yum.log.
    Yum,
    /// dnf.rpm.log / dnf.log.
    Dnf,
    /// auditd audit.log.
    Audit,
    /// A shell history file.
    History,
    /// `journalctl -o json` output.
    JournalJson,
}

impl Format {
    /// Lowercase name (`syslog`, `access` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Syslog => "syslog",
            Format::Access => "access",
            Format::WebError => "web-error",
            Format::Wtmp => "wtmp",
            Format::Btmp => "btmp",
            Format::Utmp => "utmp",
            Format::Lastlog => "lastlog",
            Format::Dpkg => "dpkg",
            Format::Apt => "apt",
            Format::Yum => "yum",
            Format::Dnf => "dnf",
            Format::Audit => "audit",
            Format::History => "history",
            Format::JournalJson => "journal-json",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Format> {
        ALL_FORMATS.into_iter().find(|f| f.as_str() == s)
    }

    /// The source group a format belongs to, for `--sources` selection.
    pub fn group(self) -> &'static str {
        match self {
            Format::Syslog | Format::JournalJson => "syslog",
            Format::Access | Format::WebError => "web",
            Format::Wtmp | Format::Btmp | Format::Utmp | Format::Lastlog => "logins",
            Format::Dpkg | Format::Apt | Format::Yum | Format::Dnf => "packages",
            Format::Audit => "audit",
            Format::History => "history",
        }
    }
}

/// Every format.
pub const ALL_FORMATS: [Format; 14] = [
    Format::Syslog,
    Format::Access,
    Format::WebError,
    Format::Wtmp,
    Format::Btmp,
    Format::Utmp,
    Format::Lastlog,
    Format::Dpkg,
    Format::Apt,
    Format::Yum,
    Format::Dnf,
    Format::Audit,
    Format::History,
    Format::JournalJson,
];

/// A log file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Its path as the examined system writes it.
    pub inner: Vec<u8>,
    /// The path to open here.
    pub local: PathBuf,
    /// What it is.
    pub format: Format,
    /// The log it belongs to, without rotation suffix (`/var/log/auth.log`).
    pub family: String,
    /// Rotation order within the family: lower is older.
    pub order: i64,
    /// Whose history it is (shell histories).
    pub user: Option<Vec<u8>>,
    /// The target root the file is opened below (symlinks resolved inside it, `RESOLVE_IN_ROOT`);
    /// `None` for a file given by hand, opened at `local`.
    pub root: Option<PathBuf>,
}

/// Opens a log the safe way: below the target root with links resolved inside it (an absolute link
/// in a mounted image never reaches the examiner's own files), else at its local path; regular files
/// only, no final symlink, no atime change where the kernel allows.
pub fn open_log(file: &LogFile) -> Result<std::fs::File, crate::Error> {
    match &file.root {
        Some(root) => {
            let dir = cordon_host::open::open_root(root)?;
            let (fd, _) = cordon_host::open::open_in_root(&dir.fd, &file.inner, false)
                .map_err(|e| crate::Error::Host(cordon_host::Error::io("open", &file.local, e)))?;
            Ok(std::fs::File::from(fd))
        }
        None => Ok(cordon_host::open::open_regular(&file.local)?.file),
    }
}

/// True when `inner` is a regular file below the target root (links resolved inside it).
fn exists_in_root(root: &cordon_host::open::OpenedDir, inner: &[u8]) -> bool {
    cordon_host::open::open_in_root(&root.fd, inner, false).is_ok()
}

/// Splits a rotation suffix off a file name: `auth.log.2.gz` → (`auth.log`, -2), `secure-20240420`
/// → (`secure`, date − 10⁸), `auth.log` → (`auth.log`, 0). Lower order is older.
pub fn rotation(name: &[u8]) -> (&[u8], i64) {
    let name = name.strip_suffix(b".gz").unwrap_or(name);
    if let Some(dot) = name.iter().rposition(|&c| c == b'.')
        && let Some(n) = name
            .get(dot + 1..)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<i64>().ok())
        && name.get(dot + 1..).is_some_and(|d| d.len() <= 4)
    {
        return (name.get(..dot).unwrap_or(name), -n);
    }
    if let Some(dash) = name.iter().rposition(|&c| c == b'-')
        && let Some(tail) = name.get(dash + 1..)
        && tail.len() == 8
        && tail.iter().all(u8::is_ascii_digit)
        && let Some(date) = std::str::from_utf8(tail).ok().and_then(|d| d.parse::<i64>().ok())
    {
        return (name.get(..dash).unwrap_or(name), date - 100_000_000);
    }
    (name, 0)
}

/// The format of a file under `/var/log`, from its directory and base name (without rotation).
pub fn classify(dir: &[u8], base: &[u8]) -> Option<Format> {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    match dir {
        b"/var/log" => Some(match base {
            b"auth.log" | b"secure" | b"syslog" | b"messages" | b"kern.log" | b"cron" | b"cron.log"
            | b"daemon.log" | b"user.log" => Format::Syslog,
            b"wtmp" => Format::Wtmp,
            b"btmp" => Format::Btmp,
            b"lastlog" => Format::Lastlog,
            b"dpkg.log" => Format::Dpkg,
            b"yum.log" => Format::Yum,
            b"dnf.rpm.log" | b"dnf.log" => Format::Dnf,
            _ => return None,
        }),
        b"/var/log/apt" if base == b"history.log" => Some(Format::Apt),
        b"/var/log/audit" if base == b"audit.log" => Some(Format::Audit),
        b"/var/log/apache2" | b"/var/log/httpd" | b"/var/log/nginx" => {
            let contains = |n: &[u8]| memchr::memmem::find(base, n).is_some();
            if contains(b"access") {
                Some(Format::Access)
            } else if contains(b"error") {
                Some(Format::WebError)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// What discovery found, and what it could not use.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, grouped by family, oldest first within each.
    pub files: Vec<LogFile>,
    /// Notes for the responder (binary journals not read, directories not readable).
    pub notes: Vec<String>,
}

/// Finds the logs of `target`: `/var/log` (three levels), `/run/utmp`, shell histories of `/root`,
/// `/home/*` and every home directory in the target's passwd.
pub fn discover(target: &Target) -> Discovery {
    let mut d = Discovery::default();
    let root = match cordon_host::open::open_root(target.root()) {
        Ok(r) => r,
        Err(e) => {
            d.notes.push(format!("cannot open the target root: {e}"));
            return d;
        }
    };
    let opts = WalkOptions {
        max_depth: Some(3),
        ..WalkOptions::default()
    };
    let mut journals = 0u64;
    let res = walk(&root.fd, b"/var/log", &opts, &mut |ev| {
        match ev {
            WalkEvent::Entry(e) if e.meta.is_file() => {
                let path = e.path;
                let slash = path.iter().rposition(|&c| c == b'/').unwrap_or(0);
                let (dir, name) = (
                    path.get(..slash).unwrap_or_default(),
                    path.get(slash + 1..).unwrap_or_default(),
                );
                if name.ends_with(b".journal") || name.ends_with(b".journal~") {
                    journals += 1;
                    return Visit::Continue;
                }
                let (base, order) = rotation(name);
                if let Some(format) = classify(dir, base) {
                    let mut family = dir.to_vec();
                    family.push(b'/');
                    family.extend_from_slice(base);
                    d.files.push(LogFile {
                        inner: path.to_vec(),
                        local: target.path(path),
                        format,
                        family: String::from_utf8_lossy(&family).into_owned(),
                        order,
                        user: None,
                        root: Some(target.root().to_path_buf()),
                    });
                }
            }
            WalkEvent::Error { path, what, errno } => {
                d.notes
                    .push(format!("{what} {}: {errno}", String::from_utf8_lossy(path)));
            }
            _ => {}
        }
        Visit::Continue
    });
    if let Err(e) = res {
        d.notes.push(format!("/var/log not walked: {e}"));
    }
    if journals > 0 {
        d.notes.push(format!(
            "{journals} binary systemd journal file(s) under /var/log/journal not read: export them with \
             `journalctl -D <dir> -o json` on the analysis machine and pass the output with --log"
        ));
    }
    for run in [&b"/run/utmp"[..], b"/var/run/utmp"] {
        let local = target.path(run);
        if exists_in_root(&root, run) {
            d.files.push(LogFile {
                inner: run.to_vec(),
                local,
                format: Format::Utmp,
                family: "/run/utmp".into(),
                order: 0,
                user: None,
                root: Some(target.root().to_path_buf()),
            });
            break;
        }
    }
    // Shell histories.
    let mut homes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    homes.insert(b"/root".to_vec(), Some(b"root".to_vec()));
    if let Ok((passwd, _)) = cordon_host::accounts::read_passwd(target.root()) {
        for p in passwd {
            if p.home.len() > 1 && p.home.starts_with(b"/") {
                homes.entry(p.home).or_insert(Some(p.name));
            }
        }
    }
    let _ = walk(
        &root.fd,
        b"/home",
        &WalkOptions {
            max_depth: Some(0),
            ..WalkOptions::default()
        },
        &mut |ev| {
            if let WalkEvent::Entry(e) = ev
                && e.meta.is_dir()
            {
                homes
                    .entry(e.path.to_vec())
                    .or_insert_with(|| Some(e.name.to_bytes().to_vec()));
            }
            Visit::Continue
        },
    );
    for (home, user) in homes {
        for rel in [
            &b"/.bash_history"[..],
            b"/.zsh_history",
            b"/.ash_history",
            b"/.sh_history",
            b"/.local/share/fish/fish_history",
        ] {
            let mut inner = home.clone();
            inner.extend_from_slice(rel);
            let local = target.path(&inner);
            if exists_in_root(&root, &inner) {
                d.files.push(LogFile {
                    family: String::from_utf8_lossy(&inner).into_owned(),
                    inner,
                    local,
                    format: Format::History,
                    order: 0,
                    user: user.clone(),
                    root: Some(target.root().to_path_buf()),
                });
            }
        }
    }
    d.files.sort_by(|a, b| {
        a.family
            .cmp(&b.family)
            .then(a.order.cmp(&b.order))
            .then(a.inner.cmp(&b.inner))
    });
    d
}

/// Guesses the format of a file given by hand (`--log FILE`) from its first lines.
pub fn sniff(local: &Path) -> Option<Format> {
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (base, _) = rotation(name.as_bytes());
    match base {
        b"wtmp" => return Some(Format::Wtmp),
        b"btmp" => return Some(Format::Btmp),
        b"utmp" => return Some(Format::Utmp),
        b"lastlog" => return Some(Format::Lastlog),
        _ => {}
    }
    let (head, _) = read_log_bytes(local, 64 * 1024).ok()?;
    let first = head.split(|&c| c == b'\n').find(|l| !l.is_empty())?;
    if parse_header(first).is_some() {
        return Some(Format::Syslog);
    }
    if parse_access(first).is_some() {
        return Some(Format::Access);
    }
    if first.starts_with(b"{") && memchr::memmem::find(first, b"__REALTIME_TIMESTAMP").is_some() {
        return Some(Format::JournalJson);
    }
    if first.starts_with(b"type=") {
        return Some(Format::Audit);
    }
    if first.starts_with(b"Start-Date: ") {
        return Some(Format::Apt);
    }
    let mut z = LocalZone::utc("sniff");
    if other::dpkg(first, &mut z).is_some() {
        return Some(Format::Dpkg);
    }
    if other::web_error(first, &mut z).is_some() {
        return Some(Format::WebError);
    }
    if other::dnf(first).is_some() {
        return Some(Format::Dnf);
    }
    None
}

/// How the events of a run are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// No events (detections only: fastest).
    None,
    /// Only notable events (logins, privilege use, account changes, attacks): what `cordon logs` stores.
    Notable,
    /// Every event (the timeline).
    All,
}

/// Settings of a read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Caps per file.
    pub limits: Limits,
    /// The examined system's zone for local times.
    pub zone: LocalZone,
    /// Host name used when a log line carries none.
    pub host: String,
    /// uid → name (lastlog).
    pub uid_names: HashMap<u32, Vec<u8>>,
    /// Which events to build.
    pub want: Want,
    /// Largest login-record file read (bytes).
    pub max_binary: u64,
}

impl Options {
    /// Defaults: UTC, default limits, all events.
    pub fn new(host: impl Into<String>) -> Options {
        Options {
            limits: Limits::default(),
            zone: LocalZone::utc("assumed"),
            host: host.into(),
            uid_names: HashMap::new(),
            want: Want::All,
            max_binary: 1024 * 1024 * 1024,
        }
    }
}

/// What reading one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Path as the examined system writes it.
    pub path: Vec<u8>,
    /// Format name.
    pub format: &'static str,
    /// Lines (or records) read.
    pub lines: u64,
    /// Lines parsed into a known kind (the rest are in `unparsed`).
    pub parsed: u64,
    /// Lines with no recognisable header or time.
    pub unparsed: u64,
    /// Lines per kind (`ssh_failed` …, `syslog` for other programs, `unrecognized` for known programs'
    /// unknown messages).
    pub kinds: BTreeMap<String, u64>,
    /// Events produced.
    pub events: u64,
    /// Lines cut at the line-length cap.
    pub long_lines: u64,
    /// True when the decompressed-size cap stopped the read.
    pub capped: bool,
    /// True for a gzip file.
    pub gzip: bool,
    /// Anomalies (utmp family).
    pub anomalies: u64,
    /// Why the file could not be read (the run goes on).
    pub error: Option<String>,
    /// True when the file had year-less lines whose year was inferred from its mtime.
    pub year_inferred: bool,
}

impl Report {
    fn kind(&mut self, k: &str, n: u64) {
        *self.kinds.entry(k.to_owned()).or_default() += n;
    }
}

/// Builds an event.
#[allow(clippy::too_many_arguments)]
fn event(
    time: Timestamp,
    desc: &str,
    source: &[u8],
    line: Option<u64>,
    host: &[u8],
    data_type: &str,
    message: &[u8],
    attrs: Map<String, Value>,
) -> Event {
    Event {
        time,
        timestamp_desc: desc.to_owned(),
        message: message.to_vec(),
        source: source.to_vec(),
        line,
        host: String::from_utf8_lossy(host).into_owned(),
        data_type: data_type.to_owned(),
        attrs,
    }
}

fn s(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// True for the auth kinds worth keeping in a case (the rest — failures, disconnects — are counted in
/// findings).
pub fn is_notable(a: &Auth<'_>) -> bool {
    matches!(
        a,
        Auth::SshAccepted { .. }
            | Auth::Sudo { .. }
            | Auth::Su { .. }
            | Auth::NewUser { .. }
            | Auth::NewGroup { .. }
            | Auth::GroupMember { .. }
            | Auth::PasswordChanged { .. }
            | Auth::AccountChanged { .. }
    )
}

/// Parsed fields of an auth message.
pub fn auth_attrs(p: &Parsed<'_>, attrs: &mut Map<String, Value>) {
    attrs.insert("event".into(), json!(p.auth.name()));
    if p.repeat > 1 {
        attrs.insert("repeat".into(), json!(p.repeat));
    }
    let mut put = |k: &str, v: &[u8]| {
        attrs.insert(k.to_owned(), s(v));
    };
    match p.auth {
        Auth::SshAccepted {
            method,
            user,
            addr,
            port,
            key,
        } => {
            put("method", method);
            put("user", user);
            put("src_ip", addr);
            if let Some(k) = key {
                put("key", k);
            }
            if let Some(p) = port {
                attrs.insert("src_port".into(), json!(p));
            }
        }
        Auth::SshFailed {
            method,
            user,
            invalid,
            addr,
            port,
        } => {
            put("method", method);
            put("user", user);
            put("src_ip", addr);
            attrs.insert("invalid_user".into(), json!(invalid));
            if let Some(p) = port {
                attrs.insert("src_port".into(), json!(p));
            }
        }
        Auth::SshInvalidUser { user, addr, .. } | Auth::SshMaxAttempts { user, addr } => {
            put("user", user);
            put("src_ip", addr);
        }
        Auth::SshInvalidUserRequest { user } => put("user", user),
        Auth::SshTooManyFailures { user: Some(user) } => put("user", user),
        Auth::SshBreakInAttempt { addr }
        | Auth::SshDisconnect { addr }
        | Auth::SshNoIdentification { addr }
        | Auth::SshConnection { addr } => put("src_ip", addr),
        Auth::PamAuthFailure {
            service,
            rhost,
            user,
            more,
        } => {
            put("service", service);
            put("src_host", rhost);
            if let Some(u) = user {
                put("user", u);
            }
            if more > 0 {
                attrs.insert("more".into(), json!(more));
            }
        }
        Auth::SessionOpened { service, user, by } => {
            put("service", service);
            put("user", user);
            put("by", by);
        }
        Auth::SessionClosed { service, user } => {
            put("service", service);
            put("user", user);
        }
        Auth::Sudo {
            user,
            reason,
            runas,
            command,
            pwd,
            tty,
        } => {
            put("user", user);
            put("runas", runas);
            put("command", command);
            put("cwd", pwd);
            put("tty", tty);
            if let Some(r) = reason {
                put("reason", r);
            }
        }
        Auth::Su { ok, to, from } => {
            put("user", from);
            put("target_user", to);
            attrs.insert("success".into(), json!(ok));
        }
        Auth::NewUser {
            name,
            uid,
            gid,
            shell,
        } => {
            put("user", name);
            put("shell", shell);
            attrs.insert("uid".into(), json!(uid));
            attrs.insert("gid".into(), json!(gid));
        }
        Auth::NewGroup { name, gid } => {
            put("group", name);
            attrs.insert("gid".into(), json!(gid));
        }
        Auth::GroupMember { user, group } => {
            put("user", user);
            put("group", group);
        }
        Auth::PasswordChanged { user } | Auth::AccountChanged { user, .. } | Auth::LogindSession { user } => {
            put("user", user)
        }
        Auth::CronCommand { user, command } => {
            put("user", user);
            put("command", command);
        }
        Auth::SshTooManyFailures { user: None } | Auth::SshNotice | Auth::Unrecognized => {}
    }
}

fn data_type_of(program: &[u8]) -> &'static str {
    match program {
        b"sshd" | b"sshd-session" | b"sshd-auth" => "linux:auth:sshd",
        b"sudo" => "linux:auth:sudo",
        b"su" => "linux:auth:su",
        b"CRON" | b"cron" | b"crond" => "linux:cron",
        b"systemd-logind" => "linux:logind",
        b"kernel" => "linux:kernel",
        _ if auth::is_auth_program(program) => "linux:auth:account",
        _ => "linux:syslog",
    }
}

/// Reads one file: feeds the detector (when given) and hands events to `sink` as `opts.want` says.
pub fn process(
    file: &LogFile,
    opts: &mut Options,
    mut det: Option<&mut Detector>,
    sink: &mut dyn FnMut(Event),
) -> Report {
    let mut report = Report {
        path: file.inner.clone(),
        format: file.format.as_str(),
        ..Report::default()
    };
    let src = det
        .as_deref_mut()
        .map(|d| d.begin_source(&file.inner, &file.family));
    let result = match file.format {
        Format::Syslog | Format::Yum => read_syslog(file, opts, det, src, sink, &mut report),
        Format::Wtmp | Format::Btmp | Format::Utmp => read_utmp(file, opts, det, src, sink, &mut report),
        Format::Lastlog => read_lastlog(file, opts, sink, &mut report),
        _ => read_other(file, opts, det, src, sink, &mut report),
    };
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    report
}

fn mtime_of(file: &LogFile) -> Option<cordon_host::meta::FileTime> {
    let f = open_log(file).ok()?;
    cordon_host::meta::statx_fd(&f).ok()?.mtime
}

fn mtime_date(file: &LogFile, zone: &LocalZone) -> Option<(i64, u32, u32)> {
    let m = mtime_of(file)?;
    let ts = Timestamp::new(m.sec, 0).ok()?;
    Some(zone.local_date(ts))
}

fn read_syslog(
    file: &LogFile,
    opts: &mut Options,
    mut det: Option<&mut Detector>,
    src: Option<SourceId>,
    sink: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Result<(), crate::Error> {
    // Pass 1: New Years and the last date, for the year of year-less lines.
    let mut scan = YearScan::default();
    let mut traditional = 0u64;
    read_lines_from(open_log(file)?, &file.local, &opts.limits, &mut |_, line| {
        if let Some((m, d, _, _)) = parse_traditional_time(line) {
            scan.feed(m, d);
            traditional += 1;
        }
    })?;
    let mdate = mtime_date(file, &opts.zone).unwrap_or((1970, 1, 1));
    let plan = scan.finish(mdate);
    report.year_inferred = traditional > 0;
    let yum = file.format == Format::Yum;
    let want = opts.want;
    let host_default = opts.host.clone();
    let tz_name = opts.zone.name().to_owned();
    let tz_origin = opts.zone.origin.clone();
    let mut resolver = Resolver::new(&plan, &mut opts.zone);
    let mut rep = std::mem::take(report);
    let stats = read_lines_from(open_log(file)?, &file.local, &opts.limits, &mut |no, line| {
        let (stamp, host, program, pid, message) = if yum {
            match other::yum(line) {
                Some((month, day, secs, msg)) => (
                    Stamp::Traditional { month, day, secs },
                    host_default.as_bytes(),
                    &b"yum"[..],
                    None,
                    msg,
                ),
                None => {
                    rep.unparsed += 1;
                    return;
                }
            }
        } else {
            match parse_header(line) {
                Some(h) => (h.time, h.host, h.program, h.pid, h.message),
                None => {
                    rep.unparsed += 1;
                    return;
                }
            }
        };
        let Some(time) = resolver.resolve(stamp) else {
            rep.unparsed += 1;
            return;
        };
        rep.parsed += 1;
        if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
            d.observe(src, time, no, line);
        }
        let is_auth = auth::is_auth_program(program) || message.starts_with(b"pam_unix(");
        let parsed = is_auth.then(|| auth::parse(program, message));
        match &parsed {
            Some(p) => {
                rep.kind(p.auth.name(), 1);
                if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
                    d.auth(src, time, no, line, p);
                }
            }
            None => rep.kind(if yum { "yum" } else { "syslog" }, 1),
        }
        let build = match want {
            Want::None => false,
            Want::All => true,
            Want::Notable => parsed.as_ref().is_some_and(|p| is_notable(&p.auth)),
        };
        if !build {
            return;
        }
        let mut attrs = Map::new();
        if !program.is_empty() {
            attrs.insert("program".into(), s(program));
        }
        if let Some(pid) = pid {
            attrs.insert("pid".into(), json!(pid));
        }
        if let Some(p) = &parsed {
            auth_attrs(p, &mut attrs);
        }
        if let Stamp::Traditional { .. } = stamp {
            attrs.insert("year_inferred".into(), json!(true));
            attrs.insert("tz".into(), json!(format!("{tz_name} ({tz_origin})")));
        }
        let dt = if yum { "linux:yum" } else { data_type_of(program) };
        let msg = parsed
            .as_ref()
            .map_or(message, |p| if p.repeat > 1 { message } else { p.message });
        sink(event(
            time,
            "Log Entry Written",
            &file.inner,
            Some(no),
            host,
            dt,
            msg,
            attrs,
        ));
        rep.events += 1;
    })?;
    *report = rep;
    report.lines = stats.lines;
    report.long_lines = stats.long_lines;
    report.capped = stats.capped;
    report.gzip = stats.gzip;
    Ok(())
}

fn read_utmp(
    file: &LogFile,
    opts: &mut Options,
    det: Option<&mut Detector>,
    src: Option<SourceId>,
    sink: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Result<(), crate::Error> {
    let (bytes, capped) = read_bytes_from(open_log(file)?, &file.local, opts.max_binary)?;
    report.capped = capped;
    let failed = file.format == Format::Btmp;
    let parsed = parse_utmp(&bytes, file.format != Format::Utmp);
    report.lines = parsed.total;
    report.parsed = parsed.records.len() as u64;
    report.anomalies = parsed.anomalies.len() as u64;
    report.unparsed = parsed.total.saturating_sub(report.parsed);
    report.kind(
        if parsed.layout.size() == 384 {
            "layout_384"
        } else {
            "layout_400"
        },
        1,
    );
    if let (Some(d), Some(src)) = (det, src) {
        for rec in &parsed.records {
            d.utmp(src, rec, failed);
        }
        d.utmp_anomalies(src, &parsed);
    }
    for rec in &parsed.records {
        let notable = failed || matches!(rec.kind, 2 | 7);
        if opts.want == Want::None || (opts.want == Want::Notable && (!notable || failed)) {
            continue;
        }
        if let Some(e) = utmp_event(file, rec, failed, &opts.host) {
            sink(e);
            report.events += 1;
        }
    }
    Ok(())
}

fn utmp_event(file: &LogFile, rec: &UtmpRecord, failed: bool, host: &str) -> Option<Event> {
    let time = Timestamp::new(rec.sec, i32::try_from(rec.usec.clamp(0, 999_999) * 1000).ok()?).ok()?;
    let mut attrs = Map::new();
    attrs.insert("user".into(), s(&rec.user));
    attrs.insert("tty".into(), s(&rec.line));
    if !rec.host.is_empty() {
        attrs.insert("src_host".into(), s(&rec.host));
    }
    if let Some(ip) = rec.addr {
        attrs.insert("src_ip".into(), json!(ip.to_string()));
    }
    attrs.insert("pid".into(), json!(rec.pid));
    attrs.insert("ut_type".into(), json!(cordon_host::utmp::kind_name(rec.kind)));
    attrs.insert("offset".into(), json!(rec.offset));
    let dt = match file.format {
        Format::Btmp => "linux:utmp:btmp",
        Format::Utmp => "linux:utmp:utmp",
        _ => "linux:utmp:wtmp",
    };
    Some(event(
        time,
        describe(rec.kind, &rec.user, failed),
        &file.inner,
        None,
        host.as_bytes(),
        dt,
        &render_utmp(rec, failed),
        attrs,
    ))
}

fn read_lastlog(
    file: &LogFile,
    opts: &mut Options,
    sink: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Result<(), crate::Error> {
    // lastlog is sparse: its apparent size can be huge (uid 4294967294 → 1.2 TB); read at most the cap.
    let (bytes, capped) = read_bytes_from(open_log(file)?, &file.local, opts.max_binary)?;
    report.capped = capped;
    let (entries, tail) = parse_lastlog(&bytes);
    report.lines = entries.len() as u64;
    report.parsed = entries.len() as u64;
    report.anomalies = u64::from(tail > 0);
    if opts.want == Want::None {
        return Ok(());
    }
    for e in entries {
        let Ok(time) = Timestamp::new(e.sec, 0) else {
            continue;
        };
        let mut attrs = Map::new();
        attrs.insert("uid".into(), json!(e.uid));
        if let Some(name) = opts.uid_names.get(&e.uid) {
            attrs.insert("user".into(), s(name));
        }
        attrs.insert("tty".into(), s(&e.line));
        attrs.insert("src_host".into(), s(&e.host));
        let mut msg = format!("last login of uid {} on ", e.uid).into_bytes();
        msg.extend_from_slice(&e.line);
        if !e.host.is_empty() {
            msg.extend_from_slice(b" from ");
            msg.extend_from_slice(&e.host);
        }
        sink(event(
            time,
            "Last Login",
            &file.inner,
            Some(u64::from(e.uid)),
            opts.host.as_bytes(),
            "linux:lastlog",
            &msg,
            attrs,
        ));
        report.events += 1;
    }
    Ok(())
}

fn read_other(
    file: &LogFile,
    opts: &mut Options,
    mut det: Option<&mut Detector>,
    src: Option<SourceId>,
    sink: &mut dyn FnMut(Event),
    report: &mut Report,
) -> Result<(), crate::Error> {
    let format = file.format;
    let want = opts.want;
    let host = opts.host.clone();
    let mut apt = AptHistory::default();
    let mut history = History::default();
    let history_mtime =
        mtime_of(file).and_then(|m| Timestamp::new(m.sec, i32::try_from(m.nsec).unwrap_or(0)).ok());
    let zone = &mut opts.zone;
    let mut rep = std::mem::take(report);
    let emit_rec = |rec: Rec, no: u64, rep: &mut Report, sink: &mut dyn FnMut(Event)| {
        if want == Want::All {
            sink(event(
                rec.time,
                rec.desc,
                &file.inner,
                Some(no),
                host.as_bytes(),
                rec.data_type,
                &rec.message,
                rec.attrs,
            ));
            rep.events += 1;
        }
    };
    let mut order = 0u64;
    let stats = read_lines_from(open_log(file)?, &file.local, &opts.limits, &mut |no, line| {
        match format {
            Format::Access => match parse_access(line) {
                Some(a) => {
                    rep.parsed += 1;
                    rep.kind("access", 1);
                    if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
                        d.observe(src, a.time, no, line);
                        d.access(src, no, line, &a);
                    }
                    let found = if want == Want::None {
                        Vec::new()
                    } else {
                        attacks(&a)
                    };
                    if want == Want::All || (want == Want::Notable && !found.is_empty()) {
                        let mut attrs = Map::new();
                        attrs.insert("src_ip".into(), s(a.client));
                        if let Some(u) = a.user {
                            attrs.insert("user".into(), s(u));
                        }
                        if let Some(v) = a.vhost {
                            attrs.insert("vhost".into(), s(v));
                        }
                        attrs.insert("http_method".into(), s(a.method));
                        attrs.insert("url".into(), s(a.path));
                        attrs.insert("status".into(), json!(a.status));
                        attrs.insert("bytes".into(), json!(a.bytes));
                        if let Some(r) = a.referer {
                            attrs.insert("referer".into(), s(r));
                        }
                        if let Some(ua) = a.user_agent {
                            attrs.insert("user_agent".into(), s(ua));
                        }
                        if !found.is_empty() {
                            attrs.insert(
                                "attacks".into(),
                                json!(found.iter().map(|k| k.check().0).collect::<Vec<_>>()),
                            );
                        }
                        sink(event(
                            a.time,
                            "Request Received",
                            &file.inner,
                            Some(no),
                            host.as_bytes(),
                            "web:access",
                            line,
                            attrs,
                        ));
                        rep.events += 1;
                    }
                }
                None => rep.unparsed += 1,
            },
            Format::JournalJson => match other::journal_json(line) {
                Some(j) => {
                    rep.parsed += 1;
                    if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
                        d.observe(src, j.time, no, line);
                    }
                    let is_auth = auth::is_auth_program(&j.program) || j.message.starts_with(b"pam_unix(");
                    let parsed = is_auth.then(|| auth::parse(&j.program, &j.message));
                    match &parsed {
                        Some(p) => {
                            rep.kind(p.auth.name(), 1);
                            if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
                                d.auth(src, j.time, no, &j.message, p);
                            }
                        }
                        None => rep.kind("journal", 1),
                    }
                    let build = match want {
                        Want::None => false,
                        Want::All => true,
                        Want::Notable => parsed.as_ref().is_some_and(|p| is_notable(&p.auth)),
                    };
                    if build {
                        let mut attrs = j.attrs.clone();
                        attrs.insert("program".into(), s(&j.program));
                        if let Some(pid) = j.pid {
                            attrs.insert("pid".into(), json!(pid));
                        }
                        if let Some(p) = &parsed {
                            auth_attrs(p, &mut attrs);
                        }
                        let h = if j.host.is_empty() {
                            host.as_bytes()
                        } else {
                            &j.host
                        };
                        sink(event(
                            j.time,
                            "Log Entry Written",
                            &file.inner,
                            Some(no),
                            h,
                            data_type_of(&j.program),
                            &j.message,
                            attrs,
                        ));
                        rep.events += 1;
                    }
                }
                None => rep.unparsed += 1,
            },
            Format::History => {
                if let Some(entry) = history.feed(line) {
                    rep.parsed += 1;
                    order += 1;
                    history_event(file, entry, order, no, history_mtime, &host, want, &mut rep, sink);
                } else {
                    // A `#<epoch>` stamp, an empty line, or the first half of a fish entry.
                    rep.parsed += 1;
                    rep.kind("history_stamp", 1);
                }
            }
            _ => {
                let rec = match format {
                    Format::Dpkg => other::dpkg(line, zone),
                    Format::Apt => {
                        let r = apt.feed(line, zone);
                        rep.parsed += 1;
                        if let Some(r) = r {
                            rep.kind("apt_transaction", 1);
                            emit_rec(r, no, &mut rep, sink);
                        }
                        return;
                    }
                    Format::Dnf => other::dnf(line),
                    Format::Audit => other::audit(line),
                    Format::WebError => other::web_error(line, zone),
                    _ => None,
                };
                match rec {
                    Some(r) => {
                        rep.parsed += 1;
                        rep.kind(format.as_str(), 1);
                        if let (Some(d), Some(src)) = (det.as_deref_mut(), src) {
                            d.observe(src, r.time, no, line);
                        }
                        emit_rec(r, no, &mut rep, sink);
                    }
                    None => rep.unparsed += 1,
                }
            }
        }
    })?;
    if let Some(r) = apt.flush(zone) {
        rep.kind("apt_transaction", 1);
        emit_rec(r, stats.lines, &mut rep, sink);
    }
    if let Some(entry) = history.finish() {
        order += 1;
        history_event(
            file,
            entry,
            order,
            stats.lines,
            history_mtime,
            &host,
            want,
            &mut rep,
            sink,
        );
    }
    *report = rep;
    report.lines = stats.lines;
    report.long_lines = stats.long_lines;
    report.capped = stats.capped;
    report.gzip = stats.gzip;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn history_event(
    file: &LogFile,
    entry: other::HistoryEntry,
    order: u64,
    no: u64,
    mtime: Option<Timestamp>,
    host: &str,
    want: Want,
    rep: &mut Report,
    sink: &mut dyn FnMut(Event),
) {
    rep.kind(
        if entry.time.is_some() {
            "history_command_stamped"
        } else {
            "history_command"
        },
        1,
    );
    if want != Want::All {
        return;
    }
    let (time, desc) = match entry.time.and_then(|t| Timestamp::new(t, 0).ok()) {
        Some(t) => (t, "Command Run"),
        None => match mtime {
            // Without HISTTIMEFORMAT stamps the only time is the file's mtime: the last write.
            Some(m) => (m, "History File Modified (command time unknown)"),
            None => return,
        },
    };
    let mut attrs = Map::new();
    if let Some(u) = &file.user {
        attrs.insert("user".into(), s(u));
    }
    attrs.insert("command".into(), s(&entry.command));
    attrs.insert("order".into(), json!(order));
    sink(event(
        time,
        desc,
        &file.inner,
        Some(no),
        host.as_bytes(),
        "shell:history",
        &entry.command,
        attrs,
    ));
    rep.events += 1;
}
