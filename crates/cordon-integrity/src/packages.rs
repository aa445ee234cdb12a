//! Package verification against the dpkg database of the examined system (`debsums -a` semantics).
//!
//! Every installed package's `/var/lib/dpkg/info/<pkg>[:<arch>].md5sums` gives the MD5 of each file
//! it installed (conffiles excepted); `status` gives the MD5 of each conffile as installed. Each file
//! is opened inside the target root without following its final component, hashed, and compared.
//! Files a package lost to another package's `dpkg-divert` are looked for at the diverted name.
//!
//! The reference lives on the suspect disk: an attacker with root can rewrite an md5sums line along
//! with the binary. [`crate::deb`] verifies against original `.deb` files instead.
//!
//! The md5sums format (`<md5>  <path relative to />`, one a line) and the diversions format (three
//! lines per record) are parsed here from raw bytes; no crate reads them, and `dpkg` itself must not
//! be run on a suspect system.

use std::collections::HashMap;
use std::os::fd::AsFd as _;
use std::path::Path;

use cordon_core::{Confidence, Finding, Severity};
use cordon_host::dpkg::{Package, PackageDb};
use cordon_host::open::{open_in_root, open_root};
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::Error;
use crate::hash::{Algo, hash_file};
use crate::rootfs::{Lookup, lookup};

/// Largest `*.md5sums` file read.
pub const MD5SUMS_CAP: u64 = 64 * 1024 * 1024;

/// What is wrong with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Content differs from the reference.
    Changed,
    /// Not there.
    Missing,
    /// A symbolic link where the package installed a regular file.
    ReplacedBySymlink,
    /// Something else (directory, FIFO, device …) where the package installed a regular file.
    NotRegular,
    /// Permission bits (setuid, setgid, sticky, rwx) differ from the package.
    ModeChanged,
    /// A symlink of the package points somewhere else, or is no longer a symlink.
    LinkChanged,
    /// Could not be read (permission, I/O error).
    Unreadable,
    /// Changed while it was being hashed: no trustworthy digest.
    ChangedWhileHashed,
}

impl Status {
    /// The name in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Missing => "missing",
            Status::ReplacedBySymlink => "replaced_by_symlink",
            Status::NotRegular => "not_regular",
            Status::ModeChanged => "mode_changed",
            Status::LinkChanged => "link_changed",
            Status::Unreadable => "unreadable",
            Status::ChangedWhileHashed => "changed_while_hashed",
        }
    }
}

/// One file that did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyItem {
    /// Path on the examined system (as the package lists it).
    pub path: Vec<u8>,
    /// What is wrong.
    pub status: Status,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// True for a conffile (admins edit those; lower severity).
    pub conffile: bool,
    /// Algorithm of `expected` and `actual`.
    pub algorithm: Option<Algo>,
    /// Reference value (hash, mode in octal, link target).
    pub expected: Option<String>,
    /// Value found.
    pub actual: Option<String>,
    /// Extra words (errno, diverted name …).
    pub detail: Option<String>,
    /// What the reference was: `dpkg-db` or the `.deb` file name.
    pub reference: String,
}

/// The result of a verification run.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Files that did not verify, sorted by path.
    pub items: Vec<VerifyItem>,
    /// Packages examined.
    pub packages: usize,
    /// Files compared.
    pub files_checked: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Installed packages with no reference (no md5sums file, or no `.deb`).
    pub unverified_packages: Vec<String>,
    /// Problems with the reference data (malformed lines, unreadable files); the run went on.
    pub problems: Vec<String>,
    /// Files opened without `O_NOATIME` (their atime may have changed).
    pub atime_touched: u64,
}

/// One `md5sums` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Md5Line {
    /// Absolute path (a `/` is prefixed).
    pub path: Vec<u8>,
    /// Lowercase hex MD5.
    pub md5: String,
}

/// Parses a `*.md5sums` file: `<32 hex digits><space(s)><path>`. Malformed lines are returned with
/// their 1-based number and the reason, and skipped.
pub fn parse_md5sums(bytes: &[u8]) -> (Vec<Md5Line>, Vec<(usize, String)>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some(hash) = line.get(..32) else {
            bad.push((i + 1, "line shorter than an MD5".to_owned()));
            continue;
        };
        if !hash.iter().all(u8::is_ascii_hexdigit) {
            bad.push((i + 1, "does not start with 32 hex digits".to_owned()));
            continue;
        }
        let rest = line.get(32..).unwrap_or_default();
        if !rest.starts_with(b" ") {
            bad.push((i + 1, "no space after the MD5".to_owned()));
            continue;
        }
        let mut path = rest;
        while let Some(r) = path.strip_prefix(b" ") {
            path = r;
        }
        // A `*` marks binary mode in md5sum output; dpkg does not write it but tools do.
        if let Some(r) = path.strip_prefix(b"*") {
            path = r;
        }
        while let Some(r) = path.strip_prefix(b"/") {
            path = r;
        }
        if path.is_empty() || path.contains(&0) {
            bad.push((i + 1, "no path".to_owned()));
            continue;
        }
        let mut abs = b"/".to_vec();
        abs.extend_from_slice(path);
        out.push(Md5Line {
            path: abs,
            md5: String::from_utf8_lossy(hash).to_ascii_lowercase(),
        });
    }
    (out, bad)
}

/// `dpkg-divert` records: original path → (diverted-to path, diverting package).
pub type Diversions = HashMap<Vec<u8>, (Vec<u8>, String)>;

/// Parses `/var/lib/dpkg/diversions` (three lines per record: from, to, package; `:` = local).
pub fn parse_diversions(bytes: &[u8]) -> Diversions {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let mut out = HashMap::new();
    for chunk in lines.chunks(3) {
        if let [from, to, pkg] = chunk
            && from.starts_with(b"/")
            && to.starts_with(b"/")
        {
            out.insert(
                from.to_vec(),
                (to.to_vec(), String::from_utf8_lossy(pkg).into_owned()),
            );
        }
    }
    out
}

/// `dpkg-statoverride` records: path → mode (the owner names are not compared).
pub fn parse_statoverride(bytes: &[u8]) -> HashMap<Vec<u8>, u32> {
    let mut out = HashMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let parts: Vec<&[u8]> = line.splitn(4, |&b| b == b' ').collect();
        if let [_user, _group, mode, path] = parts.as_slice()
            && let Ok(mode) = u32::from_str_radix(&String::from_utf8_lossy(mode), 8)
        {
            out.insert(path.to_vec(), mode);
        }
    }
    out
}

/// Reads a small file of the examined system, capped; `None` when it is not there.
pub(crate) fn read_small(
    root: std::os::fd::BorrowedFd<'_>,
    path: &[u8],
    cap: u64,
) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read as _;
    match open_in_root(root, path, false) {
        Ok((fd, _)) => {
            let mut bytes = Vec::new();
            std::fs::File::from(fd)
                .take(cap.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{}: {e}", String::from_utf8_lossy(path)))?;
            if bytes.len() as u64 > cap {
                return Err(format!(
                    "{}: larger than {cap} bytes; not read",
                    String::from_utf8_lossy(path)
                ));
            }
            Ok(Some(bytes))
        }
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(format!("{}: {e}", String::from_utf8_lossy(path))),
    }
}

/// The path the file of `package` listed as `path` is found at now (diversions applied).
pub fn diverted_path<'a>(path: &'a [u8], package: &str, div: &'a Diversions) -> (&'a [u8], bool) {
    match div.get(path) {
        Some((to, by)) if by != package => (to.as_slice(), true),
        _ => (path, false),
    }
}

struct Work<'p> {
    pkg: &'p Package,
    path: Vec<u8>,
    check_at: Vec<u8>,
    diverted: bool,
    md5: String,
    conffile: bool,
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Skip conffiles (`debsums` without `-a`).
    pub no_conffiles: bool,
    /// Only these packages (all when empty).
    pub only: Vec<String>,
}

/// Verifies every installed package of the system rooted at `root` against its dpkg database.
pub fn verify_against_db(root: &Path, opts: &VerifyOptions) -> Result<VerifyReport, Error> {
    let root_dir = open_root(root)?;
    let rfd = root_dir.fd.as_fd();
    let db = PackageDb::load(rfd);
    if !db.present {
        return Err(Error::NoPackageDb { root: root.into() });
    }
    let mut report = VerifyReport {
        problems: db.problems.clone(),
        ..VerifyReport::default()
    };
    let div = match read_small(rfd, b"/var/lib/dpkg/diversions", MD5SUMS_CAP) {
        Ok(b) => parse_diversions(&b.unwrap_or_default()),
        Err(e) => {
            report.problems.push(e);
            Diversions::new()
        }
    };
    let mut names: Vec<&String> = db
        .packages
        .keys()
        .filter(|n| opts.only.is_empty() || opts.only.contains(n))
        .collect();
    names.sort();
    let mut work: Vec<Work<'_>> = Vec::new();
    for name in names {
        let Some(pkg) = db.packages.get(name) else {
            continue;
        };
        report.packages += 1;
        let mut found = false;
        for file in [
            format!("/var/lib/dpkg/info/{}:{}.md5sums", pkg.name, pkg.arch),
            format!("/var/lib/dpkg/info/{}.md5sums", pkg.name),
        ] {
            match read_small(rfd, file.as_bytes(), MD5SUMS_CAP) {
                Ok(Some(bytes)) => {
                    found = true;
                    let (lines, bad) = parse_md5sums(&bytes);
                    for (n, why) in bad {
                        report.problems.push(format!("{file}:{n}: {why}; line skipped"));
                    }
                    let conffiles: Vec<&[u8]> = pkg.conffiles.iter().map(|(p, _)| p.as_slice()).collect();
                    for l in lines {
                        // A conffile's hash belongs in `status`; debsums skips such lines too.
                        if conffiles.contains(&l.path.as_slice()) {
                            continue;
                        }
                        let (at, diverted) = diverted_path(&l.path, &pkg.name, &div);
                        work.push(Work {
                            pkg,
                            check_at: at.to_vec(),
                            diverted,
                            path: l.path,
                            md5: l.md5,
                            conffile: false,
                        });
                    }
                    break;
                }
                Ok(None) => {}
                Err(e) => report.problems.push(e),
            }
        }
        if !found {
            report.unverified_packages.push(pkg.name.clone());
        }
        if !opts.no_conffiles {
            for (path, md5) in &pkg.conffiles {
                if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
                    // `newconffile` (unpacked, not configured) and junk: nothing to compare with.
                    continue;
                }
                let (at, diverted) = diverted_path(path, &pkg.name, &div);
                work.push(Work {
                    pkg,
                    path: path.clone(),
                    check_at: at.to_vec(),
                    diverted,
                    md5: md5.to_ascii_lowercase(),
                    conffile: true,
                });
            }
        }
    }
    report.files_checked = work.len() as u64;
    let results: Vec<(Option<VerifyItem>, u64, bool)> = work
        .par_iter()
        .map_init(Vec::new, |buf, w| check_md5(rfd, w, buf))
        .collect();
    for (item, bytes, touched) in results {
        report.bytes_hashed += bytes;
        report.atime_touched += u64::from(touched);
        if let Some(i) = item {
            report.items.push(i);
        }
    }
    report
        .items
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.package.cmp(&b.package)));
    Ok(report)
}

fn check_md5(
    root: std::os::fd::BorrowedFd<'_>,
    w: &Work<'_>,
    buf: &mut Vec<u8>,
) -> (Option<VerifyItem>, u64, bool) {
    let item = |status: Status, actual: Option<String>, detail: Option<String>| VerifyItem {
        path: w.path.clone(),
        status,
        package: w.pkg.name.clone(),
        version: w.pkg.version.clone(),
        conffile: w.conffile,
        algorithm: Some(Algo::Md5),
        expected: Some(w.md5.clone()),
        actual,
        detail: match (w.diverted, detail) {
            (true, Some(d)) => Some(format!(
                "diverted to {}; {d}",
                String::from_utf8_lossy(&w.check_at)
            )),
            (true, None) => Some(format!("diverted to {}", String::from_utf8_lossy(&w.check_at))),
            (false, d) => d,
        },
        reference: "dpkg-db".to_owned(),
    };
    match lookup(root, &w.check_at) {
        Lookup::File { mut file, noatime } => match hash_file(&mut file, &[Algo::Md5], buf) {
            Ok(d) => {
                let actual = d.digests.md5.unwrap_or_default();
                let out = if d.unstable {
                    Some(item(Status::ChangedWhileHashed, Some(actual), None))
                } else if actual != w.md5 {
                    Some(item(Status::Changed, Some(actual), None))
                } else {
                    None
                };
                (out, d.bytes, !noatime)
            }
            Err(e) => (
                Some(item(Status::Unreadable, None, Some(e.to_string()))),
                0,
                !noatime,
            ),
        },
        Lookup::Missing => (Some(item(Status::Missing, None, None)), 0, false),
        Lookup::Other { meta, link } => {
            let status = if link.is_some() {
                Status::ReplacedBySymlink
            } else {
                Status::NotRegular
            };
            let detail = match link {
                Some(l) => format!("symbolic link to {}", String::from_utf8_lossy(&l)),
                None => format!("a {}", cordon_host::open::file_type_name(meta.file_type())),
            };
            (Some(item(status, None, Some(detail))), 0, false)
        }
        Lookup::Error(e) => (
            Some(item(Status::Unreadable, None, Some(e.to_string()))),
            0,
            false,
        ),
    }
}

fn is_system_program_path(p: &[u8]) -> bool {
    [
        &b"/bin/"[..],
        b"/sbin/",
        b"/usr/bin/",
        b"/usr/sbin/",
        b"/lib/",
        b"/lib64/",
        b"/usr/lib/",
        b"/usr/lib64/",
        b"/usr/libexec/",
        b"/usr/local/bin/",
    ]
    .iter()
    .any(|d| p.starts_with(d))
}

/// True when the mode found has a setuid bit the packaged mode lacks.
fn setuid_added(item: &VerifyItem) -> bool {
    let parse = |s: &Option<String>| s.as_deref().and_then(|v| u32::from_str_radix(v, 8).ok());
    match (parse(&item.expected), parse(&item.actual)) {
        (Some(want), Some(have)) => have & !want & 0o4000 != 0,
        _ => false,
    }
}

/// The finding for one item, with the JSON-contract fields (`status`, `package`, `version`,
/// `expected`, `actual`) as attributes.
pub fn to_finding(item: &VerifyItem, target: &str) -> Finding {
    let path = String::from_utf8_lossy(&item.path).into_owned();
    let program = is_system_program_path(&item.path);
    let (severity, confidence, summary, remediation) = match item.status {
        Status::Changed if item.conffile => (
            Severity::Low,
            Confidence::Low,
            format!(
                "configuration file of {} differs from the packaged one",
                item.package
            ),
            "review the change line by line (admins edit conffiles; attackers add to them)",
        ),
        Status::Changed if program => (
            Severity::High,
            Confidence::High,
            format!(
                "program file of {} {} does not match its package",
                item.package, item.version
            ),
            "treat as trojaned: keep a copy as evidence, reinstall the package from trusted media",
        ),
        Status::Changed => (
            Severity::Medium,
            Confidence::Medium,
            format!(
                "file of {} {} does not match its package",
                item.package, item.version
            ),
            "compare with the packaged file; reinstall the package from trusted media",
        ),
        Status::ReplacedBySymlink => (
            Severity::High,
            Confidence::High,
            format!("file of {} was replaced by a symbolic link", item.package),
            "see where the link points; reinstall the package",
        ),
        Status::ModeChanged if setuid_added(item) => (
            Severity::High,
            Confidence::High,
            format!("a setuid bit was added to a file of {}", item.package),
            "treat as a privilege-escalation backdoor: restore the packaged mode, find who set it",
        ),
        Status::ModeChanged => (
            Severity::Low,
            Confidence::Low,
            format!(
                "permissions of a file of {} differ from the package",
                item.package
            ),
            "maintainer scripts set some modes (setgid helpers); compare with a clean install",
        ),
        Status::LinkChanged => (
            Severity::High,
            Confidence::Medium,
            format!("symbolic link of {} points elsewhere than packaged", item.package),
            "see where the link points; reinstall the package",
        ),
        Status::NotRegular => (
            Severity::Medium,
            Confidence::Medium,
            format!("file of {} is no longer a regular file", item.package),
            "see what replaced it; reinstall the package",
        ),
        Status::Missing if program => (
            Severity::Medium,
            Confidence::Low,
            format!("program file of {} is missing", item.package),
            "find out who removed it; reinstall the package",
        ),
        Status::Missing => (
            Severity::Low,
            Confidence::Low,
            format!("file of {} is missing", item.package),
            "usually harmless (docs, locales); reinstall the package if it matters",
        ),
        Status::ChangedWhileHashed => (
            Severity::Low,
            Confidence::Low,
            format!(
                "file of {} changed while it was being read; not verified",
                item.package
            ),
            "run the verification again, ideally on a read-only image",
        ),
        Status::Unreadable => (
            Severity::Low,
            Confidence::Low,
            format!("file of {} could not be read; not verified", item.package),
            "run as root, or on an image",
        ),
    };
    let check = format!("package.{}", item.status.as_str());
    let mut f = Finding::new(&check, severity, confidence, summary, remediation, target)
        .path(item.path.clone())
        .evidence(
            format!(
                "{path}: {} (expected {}, found {})",
                item.status.as_str(),
                item.expected.as_deref().unwrap_or("-"),
                item.actual.as_deref().unwrap_or("-")
            )
            .into_bytes(),
        );
    if matches!(
        item.status,
        Status::Changed | Status::ReplacedBySymlink | Status::LinkChanged | Status::ModeChanged
    ) && !item.conffile
    {
        f = f.technique("T1036.005");
    }
    for (k, v) in item_attrs(item) {
        f = f.attr(&k, v);
    }
    f
}

/// The JSON-contract fields of an item.
pub fn item_attrs(item: &VerifyItem) -> Vec<(String, Value)> {
    vec![
        ("status".into(), json!(item.status.as_str())),
        ("package".into(), json!(item.package)),
        ("version".into(), json!(item.version)),
        ("conffile".into(), json!(item.conffile)),
        ("algorithm".into(), json!(item.algorithm.map(Algo::as_str))),
        ("expected".into(), json!(item.expected)),
        ("actual".into(), json!(item.actual)),
        ("detail".into(), json!(item.detail)),
        ("reference".into(), json!(item.reference)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5sums_lines_good_and_bad() {
        let text =
            b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/x\nzz\nd41d8cd98f00b204e9800998ecf8427eusr/bin/y\n\
                     D41D8CD98F00B204E9800998ECF8427E */usr/bin/z\nnothexnothexnothexnothexnothexno  a\n\
                     d41d8cd98f00b204e9800998ecf8427e   \n";
        let (ok, bad) = parse_md5sums(text);
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].path, b"/usr/bin/x");
        assert_eq!(ok[1].path, b"/usr/bin/z");
        assert_eq!(ok[1].md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![2, 3, 5, 6]);
    }

    #[test]
    fn diversions_and_overrides() {
        let d = parse_diversions(b"/usr/bin/x\n/usr/bin/x.distrib\nother\n/bad\n");
        assert_eq!(d.len(), 1);
        assert_eq!(diverted_path(b"/usr/bin/x", "pkg", &d).0, b"/usr/bin/x.distrib");
        assert_eq!(diverted_path(b"/usr/bin/x", "other", &d).0, b"/usr/bin/x");
        let s = parse_statoverride(b"root crontab 2755 /usr/bin/crontab\njunk\nroot root 99x /x\n");
        assert_eq!(s.get(&b"/usr/bin/crontab"[..]), Some(&0o2755));
        assert_eq!(s.len(), 1);
    }
}
