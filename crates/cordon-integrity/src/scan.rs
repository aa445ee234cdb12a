//! The sweep: walk a tree of the examined system and match every regular file against IOCs (hash,
//! name, path, IPs/domains/URLs in text) and YARA rules, in parallel; on a live host, sockets and
//! process command lines are matched against the network indicators too.
//!
//! The walk is `cordon_host::walk` (no atime change, no symlink following, pseudo and network
//! filesystems skipped); each file is opened inside the target root, read up to a cap, and
//! re-checked to be the inode the walk saw. Files that verify against their package's md5sums can be
//! skipped (`skip_verified`): security tools contain malware strings, the classic false positive.

use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::sync::atomic::{AtomicU64, Ordering};

use cordon_core::{Confidence, Finding, Severity};
use cordon_host::Target;
use cordon_host::dpkg::PackageDb;
use cordon_host::meta::FileMeta;
use cordon_host::open::{open_in_root, open_root};
use cordon_host::walk::{Event, Visit, WalkOptions, walk};
use rayon::prelude::*;
use serde_json::json;

use crate::Error;
use crate::hash::{Algo, MultiHasher};
use crate::ioc::IocSet;
use crate::packages::{parse_md5sums, read_small};
use crate::rootfs::usrmerge_alias;
use crate::yara::{FileVars, RuleSet, YaraMatch, scan_bytes};

/// What and how to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Paths of the examined system to walk (default `/`).
    pub starts: Vec<Vec<u8>>,
    /// Files larger than this are matched by name only.
    pub max_file_size: u64,
    /// Directories never entered (`dev`, `ino`): the case directory.
    pub exclude_dirs: HashSet<(u32, u32, u64)>,
    /// Files never scanned (`dev`, `ino`): cordon's own executable, the rule and IOC files.
    pub exclude_files: HashSet<(u32, u32, u64)>,
    /// Skip files whose content matches their package's md5sums.
    pub skip_verified: bool,
    /// Walk into other mounted filesystems (pseudo and network ones are always skipped).
    pub cross_mounts: bool,
    /// Per-file YARA timeout.
    pub timeout: std::time::Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            starts: vec![b"/".to_vec()],
            max_file_size: 64 * 1024 * 1024,
            exclude_dirs: HashSet::new(),
            exclude_files: HashSet::new(),
            skip_verified: false,
            cross_mounts: false,
            timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// Counters of a scan.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Matches.
    pub findings: Vec<Finding>,
    /// Regular files looked at.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Files over the size cap (name/path matching only).
    pub too_large: u64,
    /// Files skipped because they verified against their package.
    pub verified_skipped: u64,
    /// Files that could not be read or changed type during the walk.
    pub errors: u64,
    /// Messages about those (first 100).
    pub problems: Vec<String>,
}

/// Progress: files done and files found so far.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

struct FileTask {
    path: Vec<u8>,
    meta: FileMeta,
}

/// Scans `target`. `rules` and `iocs` may each be absent, not both.
pub fn scan(
    target: &Target,
    rules: Option<&RuleSet>,
    iocs: Option<&IocSet>,
    opts: &ScanOptions,
    progress: Progress<'_>,
) -> Result<ScanReport, Error> {
    let root_dir = open_root(target.root())?;
    let rfd = root_dir.fd.as_fd();
    let mut report = ScanReport::default();
    let label = target.label();

    let mut wopts = WalkOptions {
        cross_mounts: opts.cross_mounts,
        exclude: opts.exclude_dirs.clone(),
        ..WalkOptions::default()
    };
    if let Ok(mounts) = cordon_host::mounts::read_own_mountinfo() {
        wopts.skip_mounts = mounts
            .iter()
            .filter(|m| cordon_host::mounts::is_pseudo_or_network(&m.fs_type))
            .map(|m| m.id)
            .collect();
    }
    let mut tasks = Vec::new();
    let mut problems = Vec::new();
    for start in &opts.starts {
        let res = walk(rfd, start, &wopts, &mut |ev| {
            match ev {
                Event::Entry(e)
                    if e.meta.is_file()
                        && !opts
                            .exclude_files
                            .contains(&(e.meta.dev.0, e.meta.dev.1, e.meta.ino)) =>
                {
                    tasks.push(FileTask {
                        path: e.path.to_vec(),
                        meta: e.meta.clone(),
                    });
                    if tasks.len().is_multiple_of(4096) {
                        progress(0, tasks.len() as u64);
                    }
                }
                Event::Error { path, what, errno } if problems.len() < 100 => {
                    problems.push(format!("{what} {}: {errno}", String::from_utf8_lossy(path)));
                }
                _ => {}
            }
            Visit::Continue
        });
        if let Err(e) = res {
            problems.push(format!("{}: {e}", String::from_utf8_lossy(start)));
        }
    }
    report.problems = problems;

    let verified = if opts.skip_verified {
        package_md5s(rfd)
    } else {
        HashMap::new()
    };
    let owners = owner_names(rfd);
    let mut algos: Vec<Algo> = iocs.map(IocSet::hash_algos).unwrap_or_default();
    if opts.skip_verified && !algos.contains(&Algo::Md5) {
        algos.push(Algo::Md5);
    }
    let total = tasks.len() as u64;
    let done = AtomicU64::new(0);
    let results: Vec<FileResult> = tasks
        .par_iter()
        .map_init(
            || {
                let scanner = rules.map(|r| {
                    let mut s = yara_x::Scanner::new(&r.rules);
                    s.set_timeout(opts.timeout);
                    s
                });
                (scanner, Vec::new())
            },
            |(scanner, buf), t| {
                let r = scan_file(
                    rfd,
                    t,
                    scanner.as_mut(),
                    iocs,
                    &algos,
                    &verified,
                    &owners,
                    opts,
                    buf,
                    &label,
                );
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(256) || n == total {
                    progress(n, total);
                }
                r
            },
        )
        .collect();
    for r in results {
        report.files += 1;
        report.bytes += r.bytes;
        report.too_large += u64::from(r.too_large);
        report.verified_skipped += u64::from(r.verified);
        if let Some(e) = r.error {
            report.errors += 1;
            if report.problems.len() < 100 {
                report.problems.push(e);
            }
        }
        report.findings.extend(r.findings);
    }
    if target.is_live()
        && let Some(iocs) = iocs
        && iocs.wants_text()
    {
        report.findings.extend(live_matches(iocs, &label));
    }
    Ok(report)
}

#[derive(Default)]
struct FileResult {
    findings: Vec<Finding>,
    bytes: u64,
    too_large: bool,
    verified: bool,
    error: Option<String>,
}

/// path → expected MD5 from every md5sums file of the examined system.
fn package_md5s(root: std::os::fd::BorrowedFd<'_>) -> HashMap<Vec<u8>, String> {
    let mut out = HashMap::new();
    let db = PackageDb::load(root);
    for p in db.packages.values() {
        for file in [
            format!("/var/lib/dpkg/info/{}:{}.md5sums", p.name, p.arch),
            format!("/var/lib/dpkg/info/{}.md5sums", p.name),
        ] {
            if let Ok(Some(bytes)) = read_small(root, file.as_bytes(), crate::packages::MD5SUMS_CAP) {
                for l in parse_md5sums(&bytes).0 {
                    if let Some(alias) = usrmerge_alias(&l.path) {
                        out.insert(alias, l.md5.clone());
                    }
                    out.insert(l.path, l.md5);
                }
                break;
            }
        }
    }
    out
}

fn owner_names(root: std::os::fd::BorrowedFd<'_>) -> HashMap<u32, String> {
    let Ok(Some(bytes)) = read_small(root, b"/etc/passwd", 16 * 1024 * 1024) else {
        return HashMap::new();
    };
    cordon_host::accounts::parse_passwd(&bytes)
        .0
        .into_iter()
        .map(|e| (e.uid, String::from_utf8_lossy(&e.name).into_owned()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn scan_file(
    root: std::os::fd::BorrowedFd<'_>,
    t: &FileTask,
    scanner: Option<&mut yara_x::Scanner<'_>>,
    iocs: Option<&IocSet>,
    algos: &[Algo],
    verified: &HashMap<Vec<u8>, String>,
    owners: &HashMap<u32, String>,
    opts: &ScanOptions,
    buf: &mut Vec<u8>,
    label: &str,
) -> FileResult {
    let mut out = FileResult::default();
    let path_text = String::from_utf8_lossy(&t.path).into_owned();
    if let Some(iocs) = iocs {
        for i in iocs.match_path(&t.path) {
            if let Some(ioc) = iocs.iocs.get(i) {
                out.findings.push(ioc_finding(ioc, &t.path, label, None, b""));
            }
        }
    }
    if t.meta.size > opts.max_file_size {
        out.too_large = true;
        return out;
    }
    let mut file = match open_in_root(root, &t.path, false) {
        Ok((fd, _)) => std::fs::File::from(fd),
        Err(e) => {
            out.error = Some(format!("open {path_text}: {e}"));
            return out;
        }
    };
    match rustix::fs::fstat(&file) {
        Ok(st) if st.st_ino == t.meta.ino => {}
        _ => {
            out.error = Some(format!("{path_text}: replaced during the scan; not scanned"));
            return out;
        }
    }
    buf.clear();
    if let Err(e) = (&mut file).take(opts.max_file_size).read_to_end(buf) {
        out.error = Some(format!("read {path_text}: {e}"));
        return out;
    }
    out.bytes = buf.len() as u64;
    let digests = if algos.is_empty() {
        crate::hash::Digests::default()
    } else {
        let mut h = MultiHasher::new(algos);
        h.update(buf);
        h.finish()
    };
    if opts.skip_verified
        && let Some(want) = verified.get(&t.path)
        && digests.md5.as_deref() == Some(want.as_str())
    {
        out.verified = true;
        return out;
    }
    if let Some(iocs) = iocs {
        for algo in algos {
            if let Some(i) = digests.get(*algo).and_then(|d| iocs.match_hash(d))
                && let Some(ioc) = iocs.iocs.get(i)
            {
                out.findings.push(ioc_finding(ioc, &t.path, label, None, b""));
            }
        }
        let head = buf.get(..buf.len().min(8192)).unwrap_or_default();
        if iocs.wants_text() && !head.contains(&0) {
            let mut seen = HashSet::new();
            for hit in iocs.match_text(buf) {
                if !seen.insert(hit.ioc) {
                    continue;
                }
                if let Some(ioc) = iocs.iocs.get(hit.ioc) {
                    out.findings.push(ioc_finding(
                        ioc,
                        &t.path,
                        label,
                        Some(hit.offset),
                        line_at(buf, hit.offset),
                    ));
                }
            }
        }
    }
    if let Some(scanner) = scanner {
        let name = path_text.rsplit('/').next().unwrap_or_default().to_owned();
        let ext = name
            .rfind('.')
            .map(|i| name.get(i..).unwrap_or_default().to_ascii_lowercase())
            .unwrap_or_default();
        let filetype = if buf.starts_with(b"\x7fELF") {
            "ELF"
        } else if buf.starts_with(b"#!") {
            "SCRIPT"
        } else {
            ""
        };
        let owner = owners.get(&t.meta.uid).map(String::as_str).unwrap_or_default();
        let vars = FileVars {
            filename: &name,
            filepath: &path_text,
            extension: &ext,
            filetype,
            owner,
            md5: digests.md5.as_deref().unwrap_or_default(),
        };
        match scan_bytes(scanner, buf, &vars) {
            Ok(matches) => {
                for m in matches {
                    out.findings.push(yara_finding(&m, &t.path, label, buf));
                }
            }
            Err(e) => out.error = Some(format!("yara {path_text}: {e}")),
        }
    }
    out
}

/// The line around `offset`, at most 200 bytes.
fn line_at(buf: &[u8], offset: usize) -> &[u8] {
    let start = buf
        .get(..offset)
        .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |p| p + 1);
    let start = start.max(offset.saturating_sub(100));
    let end = buf
        .get(offset..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
        .map_or(buf.len(), |p| offset + p);
    let end = end.min(offset + 100).min(buf.len());
    buf.get(start..end).unwrap_or_default()
}

fn ioc_finding(
    ioc: &crate::ioc::Ioc,
    path: &[u8],
    label: &str,
    offset: Option<usize>,
    evidence: &[u8],
) -> Finding {
    use crate::ioc::IocKind as K;
    let (check, severity, confidence, what) = match ioc.kind {
        K::Md5 | K::Sha1 | K::Sha256 => (
            "ioc.hash",
            Severity::Critical,
            Confidence::High,
            "has the hash of a known-bad file",
        ),
        K::FileName => (
            "ioc.filename",
            Severity::Medium,
            Confidence::Low,
            "has a known-bad file name",
        ),
        K::PathGlob => (
            "ioc.path",
            Severity::High,
            Confidence::Medium,
            "is at a known-bad path",
        ),
        _ => (
            "ioc.network",
            Severity::High,
            Confidence::Medium,
            "mentions a known-bad address",
        ),
    };
    let mut f = Finding::new(
        check,
        severity,
        confidence,
        format!(
            "{} {what} ({} {})",
            String::from_utf8_lossy(path),
            ioc.kind.as_str(),
            ioc.value
        ),
        "keep a copy as evidence; find how it got there and what it talked to",
        label,
    )
    .path(path.to_vec())
    .evidence(if evidence.is_empty() {
        ioc.value.as_bytes().to_vec()
    } else {
        evidence.to_vec()
    })
    .attr("ioc", json!(ioc.value))
    .attr("ioc_type", json!(ioc.kind.as_str()))
    .attr("ioc_source", json!(ioc.source))
    .attr("ioc_note", json!(ioc.note));
    if let Some(o) = offset {
        f = f.attr("offset", json!(o));
    }
    f
}

fn yara_finding(m: &YaraMatch, path: &[u8], label: &str, buf: &[u8]) -> Finding {
    let severity = m
        .meta("severity")
        .and_then(|s| Severity::parse(&s.to_ascii_lowercase()))
        .or_else(|| {
            m.meta("score")
                .and_then(|s| s.parse::<i64>().ok())
                .map(|s| match s {
                    s if s >= 80 => Severity::High,
                    s if s >= 60 => Severity::Medium,
                    _ => Severity::Low,
                })
        })
        .unwrap_or(Severity::High);
    let first = m.patterns.first().and_then(|(_, o)| o.first()).copied();
    let evidence = first
        .map(|o| line_at(buf, o).to_vec())
        .unwrap_or_else(|| m.rule.as_bytes().to_vec());
    let mut f = Finding::new(
        "yara.match",
        severity,
        Confidence::Medium,
        format!(
            "{} matches YARA rule {}{}",
            String::from_utf8_lossy(path),
            m.rule,
            m.meta("description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        "keep a copy as evidence; read the rule and the matched bytes before acting",
        label,
    )
    .path(path.to_vec())
    .evidence(evidence)
    .attr("rule", json!(m.rule))
    .attr("namespace", json!(m.namespace))
    .attr("tags", json!(m.tags))
    .attr(
        "patterns",
        json!(
            m.patterns
                .iter()
                .map(|(id, offs)| json!({"id": id, "offsets": offs}))
                .collect::<Vec<_>>()
        ),
    );
    if let Some(t) = m.meta("mitre_attack").or_else(|| m.meta("technique")) {
        f = f.technique(t);
    }
    f
}

/// Live host: connected sockets whose remote address is an indicator, and process command lines
/// that mention one.
fn live_matches(iocs: &IocSet, label: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for table in [
        "/proc/net/tcp",
        "/proc/net/tcp6",
        "/proc/net/udp",
        "/proc/net/udp6",
    ] {
        let Ok(f) = cordon_host::open::read_capped(std::path::Path::new(table), 64 * 1024 * 1024) else {
            continue;
        };
        for s in cordon_host::net::parse_inet(&f.bytes) {
            for i in iocs.match_ip(s.remote) {
                if let Some(ioc) = iocs.iocs.get(i) {
                    out.push(
                        Finding::new(
                            "ioc.socket",
                            Severity::Critical,
                            Confidence::High,
                            format!(
                                "a socket is connected to known-bad {}:{} ({})",
                                s.remote, s.remote_port, ioc.value
                            ),
                            "capture the connection (collect), then contain the host",
                            label,
                        )
                        .evidence(
                            format!(
                                "{table} {}:{} -> {}:{} inode {}",
                                s.local, s.local_port, s.remote, s.remote_port, s.inode
                            )
                            .into_bytes(),
                        )
                        .attr("ioc", json!(ioc.value))
                        .attr("ioc_source", json!(ioc.source)),
                    );
                }
            }
        }
    }
    if let Ok(pids) = cordon_host::procfs::list_pids(std::path::Path::new("/proc")) {
        for pid in pids {
            let p = std::path::PathBuf::from(format!("/proc/{pid}/cmdline"));
            let Ok(f) = cordon_host::open::read_capped(&p, 1024 * 1024) else {
                continue;
            };
            let cmd: Vec<u8> = f.bytes.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
            let mut seen = HashSet::new();
            for hit in iocs.match_text(&cmd) {
                if seen.insert(hit.ioc)
                    && let Some(ioc) = iocs.iocs.get(hit.ioc)
                {
                    out.push(
                        Finding::new(
                            "ioc.cmdline",
                            Severity::High,
                            Confidence::Medium,
                            format!(
                                "process {pid} has a known-bad address in its command line ({})",
                                ioc.value
                            ),
                            "collect the process (memory, exe, fds), then contain",
                            label,
                        )
                        .pid(i64::from(pid))
                        .evidence(cmd.clone())
                        .attr("ioc", json!(ioc.value))
                        .attr("ioc_source", json!(ioc.source)),
                    );
                }
            }
        }
    }
    out
}

/// Runs `f` on a pool of `threads` workers (all cores when `None`), so a benchmark can match the
/// parallelism of the tool it is compared with.
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    match threads.and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok()) {
        Some(pool) => pool.install(f),
        None => f(),
    }
}
