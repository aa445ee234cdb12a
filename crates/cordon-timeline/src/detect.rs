//! Detections over parsed log records: how they got in, and what they did once in.
//!
//! The [`Detector`] is fed records as the sources are read (each source in time order, rotated files
//! oldest first) and keeps only small per-address and per-account state plus the lines it will quote
//! as evidence, so a brute-forced log of any size costs memory in proportion to the number of
//! attacking addresses, not lines. [`Detector::finish`] turns that state into [`Finding`]s:
//!
//! * `logs.ssh_bruteforce`: failed SSH logins per source address (count, names tried, window), ranked.
//! * `logs.bruteforce_then_success`: a successful login from an address that failed first — the
//!   likely entry vector (critical after a brute force, high after a few failures).
//! * `logs.login_new_source`: a successful login, inside the incident window, from an address with no
//!   successful login before it.
//! * `logs.root_login`, `logs.login_by_system_account`, `logs.login_unknown_account`.
//! * `logs.new_account`, `logs.privileged_group_add`, `logs.group_add`, `logs.password_change`,
//!   `logs.account_change`.
//! * `logs.sudo_denied`, `logs.sudo_unexpected_user`, `logs.su_failed`, `logs.su_by_system_account`.
//! * `logs.time_backwards`, `logs.gap`, `logs.log_ends_early`, `logins.wtmp_zeroed`,
//!   `logins.truncated`, `logins.garbage`, `logins.time_backwards`: signs of log tampering.
//! * `web.*`: SQL injection, traversal, command injection, Log4Shell lookups per client; requests to
//!   web-shell names that succeeded; a script under an upload directory answering after an upload.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use cordon_core::{Confidence, Finding, Severity, format_utc};
use cordon_host::utmp::{UtmpRecord, kind_name};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::auth::{Auth, Parsed};
use crate::logins::{Anomaly, UtmpFile};
use crate::web::{Access, Attack, attacks, is_script, is_upload_path, normalize, path_only};

/// Groups whose members may administer the host.
pub const ADMIN_GROUPS: &[&[u8]] = &[b"sudo", b"wheel", b"admin", b"root"];
/// Groups that grant root or near-root power to their members.
pub const PRIVILEGED_GROUPS: &[&[u8]] = &[
    b"sudo",
    b"wheel",
    b"admin",
    b"root",
    b"adm",
    b"docker",
    b"lxd",
    b"disk",
    b"shadow",
    b"systemd-journal",
];

/// What the examined system's account database says (parsed from its files, never looked up).
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// name → (uid, shell).
    pub users: HashMap<Vec<u8>, (u32, Vec<u8>)>,
    /// Members of the admin groups (sudo, wheel, admin, root), plus root.
    pub admins: HashSet<Vec<u8>>,
    /// False when no passwd file was read (account checks are then skipped).
    pub known: bool,
}

impl Accounts {
    /// From parsed passwd and group entries.
    pub fn new(
        passwd: &[cordon_host::accounts::PasswdEntry],
        groups: &[cordon_host::accounts::GroupEntry],
    ) -> Accounts {
        let mut a = Accounts {
            known: !passwd.is_empty(),
            ..Accounts::default()
        };
        for p in passwd {
            a.users.insert(p.name.clone(), (p.uid, p.shell.clone()));
        }
        a.admins.insert(b"root".to_vec());
        for g in groups {
            if ADMIN_GROUPS.contains(&g.name.as_slice()) {
                a.admins.extend(g.members.iter().cloned());
                for p in passwd.iter().filter(|p| p.gid == g.gid) {
                    a.admins.insert(p.name.clone());
                }
            }
        }
        a
    }

    /// Reads the examined system's `/etc/passwd` and `/etc/group` (missing files: unknown accounts).
    pub fn from_root(root: &std::path::Path) -> Accounts {
        let passwd = cordon_host::accounts::read_passwd(root)
            .map(|(p, _)| p)
            .unwrap_or_default();
        let groups = cordon_host::accounts::read_group(root)
            .map(|(g, _)| g)
            .unwrap_or_default();
        Accounts::new(&passwd, &groups)
    }

    /// True when the account exists and may not log in (shell nologin/false, or a system uid 1–999).
    pub fn should_not_log_in(&self, user: &[u8]) -> Option<String> {
        let (uid, shell) = self.users.get(user)?;
        let shell_name = shell.rsplit(|&c| c == b'/').next().unwrap_or_default();
        if matches!(
            shell_name,
            b"nologin" | b"false" | b"sync" | b"halt" | b"shutdown"
        ) {
            return Some(format!("its shell is {}", String::from_utf8_lossy(shell)));
        }
        if (1..1000).contains(uid) {
            return Some(format!("it is a system account (uid {uid})"));
        }
        None
    }

    /// True for a system account (uid 1–999).
    pub fn is_system(&self, user: &[u8]) -> bool {
        self.users
            .get(user)
            .is_some_and(|(uid, _)| (1..1000).contains(uid))
    }
}

/// Tunables of the detections.
#[derive(Debug, Clone)]
pub struct Config {
    /// The examined system, for [`Finding::target`].
    pub target: String,
    /// Failed logins from one address that make a brute force.
    pub brute_threshold: u64,
    /// Start of the incident window (default: seven days before the last event seen).
    pub incident_start: Option<Timestamp>,
    /// A silence longer than this in a log, while another log kept writing, is a gap (seconds).
    pub gap_seconds: i64,
    /// The examined system's accounts.
    pub accounts: Accounts,
}

impl Config {
    /// Defaults for `target`.
    pub fn new(target: impl Into<String>) -> Config {
        Config {
            target: target.into(),
            brute_threshold: 10,
            incident_start: None,
            gap_seconds: 6 * 3600,
            accounts: Accounts::default(),
        }
    }
}

/// Index of a source given by [`Detector::begin_source`].
pub type SourceId = usize;

/// Where a quoted line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Quote {
    source: SourceId,
    line: u64,
    time: Timestamp,
    text: Vec<u8>,
}

/// Longest evidence line kept.
const EVIDENCE_CAP: usize = 4096;

fn quote(source: SourceId, line: u64, time: Timestamp, text: &[u8]) -> Quote {
    Quote {
        source,
        line,
        time,
        text: text
            .get(..EVIDENCE_CAP.min(text.len()))
            .unwrap_or_default()
            .to_vec(),
    }
}

#[derive(Debug)]
struct Brute {
    failures: u64,
    invalid: u64,
    users: BTreeSet<Vec<u8>>,
    users_overflow: bool,
    first: Timestamp,
    last: Timestamp,
    sample: Quote,
}

const USERS_KEPT: usize = 32;

#[derive(Debug)]
struct Success {
    time: Timestamp,
    addr: Vec<u8>,
    user: Vec<u8>,
    method: Vec<u8>,
    via: &'static str,
    failures_before: u64,
    quote: Quote,
}

#[derive(Debug)]
struct Agg {
    severity: Severity,
    confidence: Confidence,
    technique: &'static str,
    summary: String,
    remediation: &'static str,
    user: Option<Vec<u8>>,
    count: u64,
    first: Quote,
    last: Timestamp,
    attrs: serde_json::Map<String, Value>,
}

#[derive(Debug)]
struct SourceState {
    path: Vec<u8>,
    family: String,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    max: Option<Timestamp>,
    hours: HashSet<i64>,
    backwards: u64,
    backwards_sample: Option<(Quote, Timestamp)>,
    gaps: Vec<(Timestamp, Timestamp, Quote)>,
}

/// The detection state.
#[derive(Debug)]
pub struct Detector {
    cfg: Config,
    sources: Vec<SourceState>,
    brute: HashMap<Vec<u8>, Brute>,
    successes: Vec<Success>,
    aggs: BTreeMap<(&'static str, Vec<u8>), Agg>,
    uploads: Vec<Timestamp>,
    upload_scripts_seen: HashSet<Vec<u8>>,
    anomalies: Vec<Finding>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn t(ts: Timestamp) -> String {
    format_utc(ts)
}

impl Detector {
    /// A detector with these settings.
    pub fn new(cfg: Config) -> Detector {
        Detector {
            cfg,
            sources: Vec::new(),
            brute: HashMap::new(),
            successes: Vec::new(),
            aggs: BTreeMap::new(),
            uploads: Vec::new(),
            upload_scripts_seen: HashSet::new(),
            anomalies: Vec::new(),
        }
    }

    /// Registers a source (`family`: the log it belongs to without rotation suffix, `auth.log`).
    pub fn begin_source(&mut self, path: &[u8], family: &str) -> SourceId {
        self.sources.push(SourceState {
            path: path.to_vec(),
            family: family.to_owned(),
            first: None,
            last: None,
            max: None,
            hours: HashSet::new(),
            backwards: 0,
            backwards_sample: None,
            gaps: Vec::new(),
        });
        self.sources.len() - 1
    }

    /// Notes that `source` has a line at `time` (gaps, time going backwards, abrupt ends).
    pub fn observe(&mut self, source: SourceId, time: Timestamp, line: u64, raw: &[u8]) {
        let gap = self.cfg.gap_seconds;
        let Some(s) = self.sources.get_mut(source) else {
            return;
        };
        s.hours.insert(time.as_second().div_euclid(3600));
        if s.first.is_none() {
            s.first = Some(time);
        }
        if let Some(max) = s.max {
            if time.as_second() + 3600 < max.as_second() {
                s.backwards += 1;
                if s.backwards_sample.is_none() {
                    s.backwards_sample = Some((quote(source, line, time, raw), max));
                }
            } else if time.as_second() - max.as_second() > gap && s.gaps.len() < 64 {
                s.gaps.push((max, time, quote(source, line, time, raw)));
            }
        }
        s.last = Some(time);
        s.max = Some(s.max.map_or(time, |m| m.max(time)));
    }

    fn agg(&mut self, check: &'static str, key: Vec<u8>, q: Quote, make: impl FnOnce() -> Agg) {
        let time = q.time;
        let entry = self.aggs.entry((check, key)).or_insert_with(|| {
            let mut a = make();
            a.first = q;
            a.last = time;
            a
        });
        entry.count += 1;
        entry.last = entry.last.max(time);
    }

    fn failure(&mut self, addr: &[u8], user: &[u8], invalid: bool, n: u64, q: impl FnOnce() -> Quote) {
        let time_of = |b: &Brute| b.first;
        if let Some(b) = self.brute.get_mut(addr) {
            b.failures += n;
            if invalid {
                b.invalid += n;
            }
            if b.users.len() < USERS_KEPT {
                b.users.insert(user.to_vec());
            } else if !b.users.contains(user) {
                b.users_overflow = true;
            }
            let q = q();
            if q.time < time_of(b) {
                b.first = q.time;
                b.sample = q;
            } else if q.time > b.last {
                b.last = q.time;
            }
            return;
        }
        let q = q();
        let mut users = BTreeSet::new();
        users.insert(user.to_vec());
        self.brute.insert(
            addr.to_vec(),
            Brute {
                failures: n,
                invalid: if invalid { n } else { 0 },
                users,
                users_overflow: false,
                first: q.time,
                last: q.time,
                sample: q,
            },
        );
    }

    fn success(
        &mut self,
        time: Timestamp,
        addr: &[u8],
        user: &[u8],
        method: &[u8],
        via: &'static str,
        q: Quote,
    ) {
        let failures_before = self
            .brute
            .get(addr)
            .filter(|b| b.first < time)
            .map_or(0, |b| b.failures);
        self.successes.push(Success {
            time,
            addr: addr.to_vec(),
            user: user.to_vec(),
            method: method.to_vec(),
            via,
            failures_before,
            quote: q,
        });
    }

    /// Feeds one auth.log line (already classified).
    pub fn auth(&mut self, source: SourceId, time: Timestamp, line: u64, raw: &[u8], p: &Parsed<'_>) {
        let q = || quote(source, line, time, raw);
        let n = u64::from(p.repeat);
        match p.auth {
            Auth::SshFailed {
                user, invalid, addr, ..
            } => self.failure(addr, user, invalid, n, q),
            Auth::SshAccepted {
                method, user, addr, ..
            } => {
                let q = q();
                self.success(time, addr, user, method, "sshd", q);
            }
            Auth::NewUser {
                name,
                uid,
                gid,
                shell,
            } => {
                let (severity, why) = match (uid, gid) {
                    (Some(0), _) => (Severity::Critical, " with UID 0 (a second root)"),
                    (_, Some(0 | 10 | 27)) => (Severity::High, " in a privileged primary group"),
                    _ => (Severity::Medium, ""),
                };
                let summary = format!("account {} created{why}", lossy(name));
                self.agg("logs.new_account", name.to_vec(), q(), || Agg {
                    severity,
                    confidence: if severity == Severity::Medium { Confidence::Low } else { Confidence::High },
                    technique: "T1136.001",
                    summary,
                    remediation: "check who created it and why; lock it (usermod -L) if nobody on the team did",
                    user: Some(name.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: [("uid".to_owned(), json!(uid)), ("gid".to_owned(), json!(gid)), ("shell".to_owned(), json!(lossy(shell)))]
                        .into_iter()
                        .collect(),
                });
            }
            Auth::GroupMember { user, group } => {
                let privileged = PRIVILEGED_GROUPS.contains(&group);
                let (check, severity) = if privileged {
                    ("logs.privileged_group_add", Severity::High)
                } else {
                    ("logs.group_add", Severity::Low)
                };
                let mut key = user.to_vec();
                key.push(0);
                key.extend_from_slice(group);
                let summary = format!("{} added to group {}", lossy(user), lossy(group));
                self.agg(check, key, q(), || Agg {
                    severity,
                    confidence: Confidence::Medium,
                    technique: "T1098",
                    summary,
                    remediation: "confirm the change with the administrators; remove the membership if unexplained",
                    user: Some(user.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: [("group".to_owned(), json!(lossy(group)))].into_iter().collect(),
                });
            }
            Auth::PasswordChanged { user } => {
                let severity = if user == b"root" {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                let summary = format!("password of {} changed", lossy(user));
                self.agg("logs.password_change", user.to_vec(), q(), || Agg {
                    severity,
                    confidence: Confidence::Low,
                    technique: "T1098",
                    summary,
                    remediation: "confirm the change with the account's owner",
                    user: Some(user.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: serde_json::Map::new(),
                });
            }
            Auth::AccountChanged { user, .. } => {
                let summary = format!("account {} changed", lossy(user));
                self.agg("logs.account_change", user.to_vec(), q(), || Agg {
                    severity: Severity::Low,
                    confidence: Confidence::Low,
                    technique: "T1098",
                    summary,
                    remediation: "confirm the change with the administrators",
                    user: Some(user.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: serde_json::Map::new(),
                });
            }
            Auth::Sudo {
                user,
                reason: Some(reason),
                ..
            } => {
                let summary = format!("sudo refused for {} ({})", lossy(user), lossy(reason));
                self.agg("logs.sudo_denied", user.to_vec(), q(), || Agg {
                    severity: Severity::Medium,
                    confidence: Confidence::Medium,
                    technique: "T1548.003",
                    summary,
                    remediation: "find out who used this account to try sudo",
                    user: Some(user.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: serde_json::Map::new(),
                });
            }
            Auth::Sudo {
                user,
                reason: None,
                runas,
                ..
            } => {
                let accounts = &self.cfg.accounts;
                if !accounts.known || accounts.admins.contains(user) {
                    return;
                }
                let system = accounts.is_system(user);
                let severity = if system { Severity::High } else { Severity::Medium };
                let summary = format!(
                    "{} ran commands as {} with sudo but is not in sudo/wheel/admin{}",
                    lossy(user),
                    lossy(runas),
                    if system { " (a system account)" } else { "" }
                );
                self.agg("logs.sudo_unexpected_user", user.to_vec(), q(), || Agg {
                    severity,
                    confidence: Confidence::Medium,
                    technique: "T1548.003",
                    summary,
                    remediation: "look for a sudoers entry (/etc/sudoers, /etc/sudoers.d) granting it, and who added it",
                    user: Some(user.to_vec()),
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: serde_json::Map::new(),
                });
            }
            Auth::Su { ok, to, from } => {
                let accounts = &self.cfg.accounts;
                let mut key = from.to_vec();
                key.push(0);
                key.extend_from_slice(to);
                if !ok {
                    let summary = format!("failed su from {} to {}", lossy(from), lossy(to));
                    self.agg("logs.su_failed", key, q(), || Agg {
                        severity: Severity::Low,
                        confidence: Confidence::Low,
                        technique: "T1110",
                        summary,
                        remediation: "find out who tried to switch user",
                        user: Some(from.to_vec()),
                        count: 0,
                        first: quote(0, 0, time, b""),
                        last: time,
                        attrs: serde_json::Map::new(),
                    });
                } else if accounts.is_system(from) {
                    let summary = format!("system account {} switched to {} with su", lossy(from), lossy(to));
                    self.agg("logs.su_by_system_account", key, q(), || Agg {
                        severity: Severity::High,
                        confidence: Confidence::Medium,
                        technique: "T1548",
                        summary,
                        remediation: "a service account should never su: look at the service (web shell?)",
                        user: Some(from.to_vec()),
                        count: 0,
                        first: quote(0, 0, time, b""),
                        last: time,
                        attrs: serde_json::Map::new(),
                    });
                }
            }
            _ => {}
        }
    }

    /// Feeds one login record (wtmp `failed = false`, btmp `failed = true`).
    pub fn utmp(&mut self, source: SourceId, rec: &UtmpRecord, failed: bool) {
        let Ok(time) = Timestamp::new(
            rec.sec,
            i32::try_from(rec.usec.clamp(0, 999_999) * 1000).unwrap_or(0),
        ) else {
            return;
        };
        let text = render_utmp(rec, failed);
        self.observe(source, time, rec.offset, &text);
        let addr = utmp_addr(rec);
        if failed {
            if let Some(addr) = addr {
                let q = quote(source, rec.offset, time, &text);
                self.failure(&addr, &rec.user, false, 1, || q);
            }
            return;
        }
        if rec.kind == 7 {
            let q = quote(source, rec.offset, time, &text);
            self.success(time, &addr.unwrap_or_default(), &rec.user, b"", "wtmp", q);
        }
    }

    /// Reports what is wrong with a login-record file.
    pub fn utmp_anomalies(&mut self, source: SourceId, file: &UtmpFile) {
        let path = self
            .sources
            .get(source)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        let name = lossy(&path);
        let zeroed: Vec<u64> = file
            .anomalies
            .iter()
            .filter_map(|a| match a {
                Anomaly::Zeroed { index } => Some(*index),
                _ => None,
            })
            .collect();
        let target = self.cfg.target.clone();
        if !zeroed.is_empty() {
            self.anomalies.push(
                Finding::new(
                    "logins.wtmp_zeroed",
                    Severity::High,
                    Confidence::High,
                    format!("{} all-zero record(s) in {name}: login history wiped (log cleaner)", zeroed.len()),
                    "compare with auth.log and a backup of the file; treat the wiped period as hidden activity",
                    target.clone(),
                )
                .technique("T1070.002")
                .path(path.clone())
                .evidence(format!("zeroed records at indexes {:?}", zeroed.iter().take(20).collect::<Vec<_>>()).into_bytes())
                .attr("count", zeroed.len())
                .attr("record_size", file.layout.size()),
            );
        }
        for a in &file.anomalies {
            let f = match a {
                Anomaly::Zeroed { .. } => continue,
                Anomaly::Truncated { tail } => Finding::new(
                    "logins.truncated",
                    Severity::Medium,
                    Confidence::Medium,
                    format!("{name} ends with {tail} byte(s) that are not a whole record: cut or damaged"),
                    "compare with a backup; an editor or log cleaner may have rewritten the file",
                    target.clone(),
                )
                .evidence(format!("{tail} trailing bytes").into_bytes()),
                Anomaly::Garbage { index, kind } => Finding::new(
                    "logins.garbage",
                    Severity::Medium,
                    Confidence::Medium,
                    format!("record {index} of {name} is not a valid login record (type {kind})"),
                    "compare with a backup; the file was edited or damaged",
                    target.clone(),
                )
                .evidence(format!("record {index}, ut_type {kind}").into_bytes()),
                Anomaly::Backwards { index, sec, prev_sec } => Finding::new(
                    "logins.time_backwards",
                    Severity::Medium,
                    Confidence::Low,
                    format!("record {index} of {name} is earlier than the record before it (clock set back, or records inserted)"),
                    "compare with auth.log around both times",
                    target.clone(),
                )
                .evidence(format!("record {index}: {sec} < previous {prev_sec}").into_bytes()),
            };
            self.anomalies.push(f.technique("T1070.002").path(path.clone()));
        }
    }

    /// Feeds one access-log line.
    pub fn access(&mut self, source: SourceId, line: u64, raw: &[u8], a: &Access<'_>) {
        let time = a.time;
        let q = || quote(source, line, time, raw);
        let ok = (200..300).contains(&a.status);
        let path = normalize(a.path);
        let file = path_only(&path).to_vec();
        if a.method == b"POST" && is_upload_path(&file) && (200..400).contains(&a.status) {
            self.uploads.push(time);
        }
        if is_upload_path(&file) && is_script(&file) && ok && !self.upload_scripts_seen.contains(&file) {
            self.upload_scripts_seen.insert(file.clone());
            let after_upload = self.uploads.iter().any(|u| *u <= time);
            let severity = if after_upload {
                Severity::High
            } else {
                Severity::Medium
            };
            let summary = format!(
                "script {} under an upload directory answered {}{}",
                lossy(&file),
                a.status,
                if after_upload {
                    " after an upload to the site"
                } else {
                    ""
                }
            );
            self.agg("web.upload_then_script", file.clone(), q(), || Agg {
                severity,
                confidence: Confidence::Medium,
                technique: "T1505.003",
                summary,
                remediation: "quarantine the file and read it: uploaded scripts are how web shells arrive",
                user: None,
                count: 0,
                first: quote(0, 0, time, b""),
                last: time,
                attrs: [("src_ip".to_owned(), json!(lossy(a.client)))]
                    .into_iter()
                    .collect(),
            });
        }
        for attack in attacks(a) {
            let (check, technique) = attack.check();
            if attack == Attack::WebShell {
                if !ok {
                    continue;
                }
                let summary = format!(
                    "request to the web-shell name {} answered {}",
                    lossy(&file),
                    a.status
                );
                self.agg(check, file.clone(), q(), || Agg {
                    severity: Severity::High,
                    confidence: Confidence::Medium,
                    technique,
                    summary,
                    remediation: "quarantine the file it served and read it; look for who uploaded it",
                    user: None,
                    count: 0,
                    first: quote(0, 0, time, b""),
                    last: time,
                    attrs: [("src_ip".to_owned(), json!(lossy(a.client)))]
                        .into_iter()
                        .collect(),
                });
                continue;
            }
            let summary = format!("{} from {}", attack.describe(), lossy(a.client));
            self.agg(check, a.client.to_vec(), q(), || Agg {
                severity: Severity::Medium,
                confidence: Confidence::Medium,
                technique,
                summary,
                remediation: "check whether any of these requests succeeded (status, response size, application logs)",
                user: None,
                count: 0,
                first: quote(0, 0, time, b""),
                last: time,
                attrs: [("src_ip".to_owned(), json!(lossy(a.client)))].into_iter().collect(),
            });
            if ok && let Some(agg) = self.aggs.get_mut(&(check, a.client.to_vec())) {
                let n = agg.attrs.get("answered_2xx").and_then(Value::as_u64).unwrap_or(0);
                agg.attrs.insert("answered_2xx".into(), json!(n + 1));
            }
        }
    }

    fn source_path(&self, id: SourceId) -> Vec<u8> {
        self.sources.get(id).map(|s| s.path.clone()).unwrap_or_default()
    }

    fn with_quote(&self, f: Finding, q: &Quote) -> Finding {
        f.path(self.source_path(q.source))
            .evidence(q.text.clone())
            .attr("line", q.line)
            .attr("time", t(q.time))
    }

    /// The findings, most severe first.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = Vec::new();
        let target = self.cfg.target.clone();
        // Brute force, ranked by failures.
        let mut ranked: Vec<(&Vec<u8>, &Brute)> = self
            .brute
            .iter()
            .filter(|(_, b)| b.failures >= self.cfg.brute_threshold)
            .collect();
        ranked.sort_by(|a, b| b.1.failures.cmp(&a.1.failures).then(a.0.cmp(b.0)));
        let total = ranked.len();
        for (rank, (addr, b)) in ranked.iter().enumerate() {
            let users: Vec<String> = b.users.iter().map(|u| lossy(u)).collect();
            let technique = if b.users.len() > 3 {
                "T1110.003"
            } else {
                "T1110.001"
            };
            let f = Finding::new(
                "logs.ssh_bruteforce",
                Severity::Medium,
                Confidence::High,
                format!(
                    "{} failed logins from {} for {}{} account name(s) between {} and {} (rank {} of {total})",
                    b.failures,
                    lossy(addr),
                    b.users.len(),
                    if b.users_overflow { "+" } else { "" },
                    t(b.first),
                    t(b.last),
                    rank + 1
                ),
                "block the address; make sure no account it tried has a weak password; look for a success from it",
                target.clone(),
            )
            .technique(technique)
            .attr("src_ip", lossy(addr))
            .attr("failures", b.failures)
            .attr("invalid_user_failures", b.invalid)
            .attr("users", users)
            .attr("rank", rank + 1)
            .attr("first_time", t(b.first))
            .attr("last_time", t(b.last));
            out.push(self.with_quote(f, &b.sample));
        }
        // Successful logins.
        let latest = self.sources.iter().filter_map(|s| s.max).max();
        let window_start = self
            .cfg
            .incident_start
            .or_else(|| latest.and_then(|l| l.checked_sub(jiff::SignedDuration::from_hours(7 * 24)).ok()));
        let baseline: HashSet<&[u8]> = self
            .successes
            .iter()
            .filter(|s| window_start.is_some_and(|w| s.time < w) && !s.addr.is_empty())
            .map(|s| s.addr.as_slice())
            .collect();
        let mut reported_new: HashSet<(&[u8], &[u8])> = HashSet::new();
        let mut reported_root: HashSet<(&[u8], &[u8])> = HashSet::new();
        for s in &self.successes {
            let who = format!(
                "{} from {}",
                lossy(&s.user),
                if s.addr.is_empty() {
                    "a local terminal".to_owned()
                } else {
                    lossy(&s.addr)
                }
            );
            let base = |f: Finding| {
                self.with_quote(f.user(s.user.clone()), &s.quote)
                    .attr("src_ip", lossy(&s.addr))
                    .attr("via", s.via)
                    .attr("method", lossy(&s.method))
            };
            let brute = self
                .brute
                .get(&s.addr)
                .filter(|b| !s.addr.is_empty() && b.first < s.time);
            if let Some(b) = brute {
                let forced = b.failures >= self.cfg.brute_threshold;
                out.push(base(
                    Finding::new(
                        "logs.bruteforce_then_success",
                        if forced { Severity::Critical } else { Severity::High },
                        Confidence::High,
                        format!(
                            "successful login of {who} after {} failed login(s) from that address since {}: likely entry vector",
                            b.failures,
                            t(b.first)
                        ),
                        "treat the account as compromised: lock it, kill its sessions, look at what it did after this login",
                        target.clone(),
                    )
                    .technique("T1110")
                    .attr("failures_total", b.failures)
                    .attr("failures_before", s.failures_before)
                    .attr("first_failure", t(b.first)),
                ));
            } else if !s.addr.is_empty()
                && window_start.is_some_and(|w| s.time >= w)
                && !baseline.contains(s.addr.as_slice())
                && reported_new.insert((s.addr.as_slice(), s.user.as_slice()))
            {
                let has_baseline = !baseline.is_empty();
                out.push(base(
                    Finding::new(
                        "logs.login_new_source",
                        if has_baseline { Severity::Medium } else { Severity::Low },
                        Confidence::Low,
                        if has_baseline {
                            format!("successful login of {who}: an address with no successful login before the incident window")
                        } else {
                            format!("successful login of {who} (the logs hold no earlier logins to compare with)")
                        },
                        "ask the account's owner whether this was them",
                        target.clone(),
                    )
                    .technique("T1078"),
                ));
            }
            if s.user == b"root"
                && !s.addr.is_empty()
                && reported_root.insert((s.addr.as_slice(), s.method.as_slice()))
            {
                let password = s.method.starts_with(b"password") || s.method.starts_with(b"keyboard");
                out.push(base(
                    Finding::new(
                        "logs.root_login",
                        if password { Severity::High } else { Severity::Medium },
                        Confidence::Medium,
                        format!("root logged in remotely ({who}{})", if s.method.is_empty() { String::new() } else { format!(", {}", lossy(&s.method)) }),
                        "disable remote root login (PermitRootLogin no) once contained; confirm this login was the team's",
                        target.clone(),
                    )
                    .technique("T1078.003"),
                ));
            }
            let accounts = &self.cfg.accounts;
            if accounts.known {
                if let Some(why) = accounts.should_not_log_in(&s.user) {
                    out.push(base(
                        Finding::new(
                            "logs.login_by_system_account",
                            Severity::High,
                            Confidence::High,
                            format!("{who} logged in although {why}"),
                            "find how the account got a password or key (authorized_keys, shadow) and lock it",
                            target.clone(),
                        )
                        .technique("T1078.003"),
                    ));
                } else if !accounts.users.contains_key(&s.user) {
                    out.push(base(
                        Finding::new(
                            "logs.login_unknown_account",
                            Severity::Medium,
                            Confidence::Medium,
                            format!(
                                "{who} logged in, but the account is not in /etc/passwd (deleted afterwards?)"
                            ),
                            "look for the account in backups and in useradd/userdel lines",
                            target.clone(),
                        )
                        .technique("T1078"),
                    ));
                }
            }
        }
        // Aggregated checks.
        for ((check, _), a) in &self.aggs {
            let summary = if a.count > 1 {
                format!("{} ({} times until {})", a.summary, a.count, t(a.last))
            } else {
                a.summary.clone()
            };
            let mut f = Finding::new(
                check,
                a.severity,
                a.confidence,
                summary,
                a.remediation,
                target.clone(),
            )
            .technique(a.technique)
            .attr("count", a.count)
            .attr("first_time", t(a.first.time))
            .attr("last_time", t(a.last));
            if let Some(u) = &a.user {
                f = f.user(u.clone());
            }
            for (k, v) in &a.attrs {
                f = f.attr(k, v.clone());
            }
            out.push(self.with_quote(f, &a.first));
        }
        // Tampering: time going backwards, gaps while other logs kept writing, logs ending early.
        for s in &self.sources {
            if let Some((q, max)) = &s.backwards_sample {
                let f = Finding::new(
                    "logs.time_backwards",
                    Severity::Medium,
                    Confidence::Low,
                    format!("{} line(s) of {} are more than an hour earlier than a line before them (first: {} after {})",
                        s.backwards, lossy(&s.path), t(q.time), t(*max)),
                    "check for lines inserted by hand or a clock set back; compare with other logs",
                    target.clone(),
                )
                .technique("T1070.002")
                .attr("count", s.backwards);
                out.push(self.with_quote(f, q));
            }
            for (from, to, q) in &s.gaps {
                let (a, b) = (
                    from.as_second().div_euclid(3600) + 1,
                    to.as_second().div_euclid(3600),
                );
                let busy: Vec<&SourceState> = self
                    .sources
                    .iter()
                    .filter(|o| o.family != s.family && (a..b).filter(|h| o.hours.contains(h)).count() >= 2)
                    .collect();
                if let Some(other) = busy.first() {
                    let f = Finding::new(
                        "logs.gap",
                        Severity::Medium,
                        Confidence::Low,
                        format!(
                            "{} is silent from {} to {} while {} kept writing",
                            lossy(&s.path),
                            t(*from),
                            t(*to),
                            lossy(&other.path)
                        ),
                        "look for deleted lines: compare with a backup or remote syslog copy of the log",
                        target.clone(),
                    )
                    .technique("T1070.002")
                    .attr("gap_start", t(*from))
                    .attr("gap_end", t(*to));
                    out.push(self.with_quote(f, q));
                }
            }
        }
        let mut families: BTreeMap<&str, (Timestamp, Vec<u8>)> = BTreeMap::new();
        for s in &self.sources {
            if let Some(m) = s.max {
                let e = families.entry(s.family.as_str()).or_insert((m, s.path.clone()));
                if m > e.0 {
                    *e = (m, s.path.clone());
                }
            }
        }
        for (family, (end, path)) in &families {
            let later = families
                .iter()
                .filter(|(f, (e, _))| f != &family && e.as_second() - end.as_second() > 24 * 3600)
                .max_by_key(|(_, (e, _))| *e);
            if let Some((_, (other_end, other_path))) = later {
                out.push(
                    Finding::new(
                        "logs.log_ends_early",
                        Severity::Medium,
                        Confidence::Low,
                        format!(
                            "{} ends at {} while {} runs on to {}: lines may have been cut",
                            lossy(path),
                            t(*end),
                            lossy(other_path),
                            t(*other_end)
                        ),
                        "compare with a backup or remote syslog copy; check the file's ctime",
                        target.clone(),
                    )
                    .technique("T1070.002")
                    .path(path.clone())
                    .evidence(format!("last line at {}", t(*end)).into_bytes())
                    .attr("time", t(*end)),
                );
            }
        }
        out.extend(self.anomalies);
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.check.cmp(&b.check))
                .then_with(|| rank_of(a).cmp(&rank_of(b)))
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }
}

fn rank_of(f: &Finding) -> u64 {
    f.attrs.get("rank").and_then(Value::as_u64).unwrap_or(0)
}

/// The remote address of a record: `ut_addr_v6` when set, else the host field.
fn utmp_addr(rec: &UtmpRecord) -> Option<Vec<u8>> {
    match rec.addr {
        Some(ip) => Some(ip.to_string().into_bytes()),
        None if !rec.host.is_empty() && rec.host.first() != Some(&b':') => Some(rec.host.clone()),
        None => None,
    }
}

/// A one-line text of a login record (the message of its event and the evidence of its findings).
pub fn render_utmp(rec: &UtmpRecord, failed: bool) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(if failed {
        b"failed login "
    } else {
        kind_name(rec.kind).as_bytes()
    });
    if !failed {
        s.push(b' ');
    }
    s.extend_from_slice(&rec.user);
    s.extend_from_slice(b" on ");
    s.extend_from_slice(&rec.line);
    if !rec.host.is_empty() {
        s.extend_from_slice(b" from ");
        s.extend_from_slice(&rec.host);
    }
    if let Some(ip) = rec.addr {
        s.extend_from_slice(format!(" [{ip}]").as_bytes());
    }
    s.extend_from_slice(format!(" pid {}", rec.pid).as_bytes());
    s
}
