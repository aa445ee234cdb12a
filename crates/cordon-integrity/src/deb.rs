//! Package verification against original `.deb` archives.
//!
//! A `.deb` is an `ar` archive (`debian-binary`, `control.tar[.gz|.xz|.zst]`, `data.tar[.gz|.xz|.zst]`);
//! `data.tar` holds every installed file with its content, mode and symlink target. The `ar` and
//! `tar` crates read the containers, `xz2`/`zstd`/`flate2` decompress; nothing of dpkg is run.
//! Each regular member is hashed with SHA-256 while it streams past and compared with the file on
//! the examined system; modes (setuid!) and symlink targets are compared too. Only paths the dpkg
//! database says the package installed are compared (path excludes, `Replaces:` take-overs) and
//! diversions are followed.
//!
//! The archives are hostile input like everything else: a member path with `..` or a leading `/`
//! is refused, declared sizes are capped and checked against what the archive really holds, and a
//! truncated or corrupt archive ends that package's verification with a problem, not the run.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Read;
use std::os::fd::{AsFd as _, BorrowedFd};
use std::path::{Path, PathBuf};

use cordon_host::dpkg::{Package, PackageDb};
use cordon_host::open::{open_regular_at, open_root};
use rayon::prelude::*;

use crate::Error;
use crate::hash::{Algo, hash_file, hash_reader};
use crate::packages::{
    Diversions, MD5SUMS_CAP, Status, VerifyItem, VerifyReport, diverted_path, parse_diversions,
    parse_statoverride, read_small,
};
use crate::rootfs::{Lookup, describe, lookup};

/// Largest uncompressed `control.tar` read.
pub const CONTROL_CAP: u64 = 64 * 1024 * 1024;
/// Largest single member of `data.tar` accepted (declared size).
pub const MEMBER_CAP: u64 = 16 * 1024 * 1024 * 1024;
/// Largest uncompressed `data.tar` read (a decompression bomb stops here).
pub const DATA_CAP: u64 = 64 * 1024 * 1024 * 1024;

/// Name, version and architecture from a `.deb`'s `control` file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DebId {
    /// `Package:`.
    pub package: String,
    /// `Version:`.
    pub version: String,
    /// `Architecture:`.
    pub arch: String,
}

/// One member of `data.tar`, as far as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// A regular file: SHA-256 and size of its content.
    File {
        /// Hex SHA-256.
        sha256: String,
        /// Bytes.
        size: u64,
    },
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    /// A hard link to an earlier member (absolute path).
    Hardlink(Vec<u8>),
    /// A directory.
    Dir,
    /// Devices, FIFOs.
    Other,
}

/// One member of `data.tar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Absolute path (`./usr/bin/ls` → `/usr/bin/ls`).
    pub path: Vec<u8>,
    /// Permission bits (`0o7777` part of the mode).
    pub mode: u32,
    /// What it is.
    pub kind: MemberKind,
}

fn malformed(path: &Path, what: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.to_owned(),
        what: what.into(),
    }
}

/// Counts the bytes read through it.
struct Counting<'a, R: Read> {
    inner: &'a mut R,
    n: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Normalises a tar member path: strips `./`, refuses absolute paths, `..` components and NULs.
pub fn member_path(raw: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut rest = raw;
    while let Some(r) = rest.strip_prefix(b"./") {
        rest = r;
    }
    if rest == b"." || rest.is_empty() {
        return Ok(None);
    }
    if rest.starts_with(b"/") {
        return Err("absolute member path".into());
    }
    if rest.contains(&0) {
        return Err("NUL in member path".into());
    }
    let mut out = Vec::with_capacity(rest.len() + 1);
    for comp in rest.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => return Err("path traversal (`..`) in member path".into()),
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(out))
}

fn decoder<'a>(name: &[u8], inner: Box<dyn Read + 'a>) -> Result<Box<dyn Read + 'a>, String> {
    if name.ends_with(b".tar.xz") || name.ends_with(b".tar.lzma") {
        Ok(Box::new(xz2::read::XzDecoder::new_multi_decoder(inner)))
    } else if name.ends_with(b".tar.zst") {
        zstd::Decoder::new(inner)
            .map(|d| Box::new(d) as Box<dyn Read>)
            .map_err(|e| e.to_string())
    } else if name.ends_with(b".tar.gz") {
        Ok(Box::new(flate2::read::GzDecoder::new(inner)))
    } else if name.ends_with(b".tar") {
        Ok(inner)
    } else {
        Err(format!(
            "unsupported compression of {}",
            String::from_utf8_lossy(name)
        ))
    }
}

/// Reads `control` from `control.tar.*` and calls `data` on each member of `data.tar.*` (with a
/// reader of its content). `what` names the archive in errors. Problems with single members (refused
/// paths) are passed to `problem`.
pub fn read_deb(
    file: &mut std::fs::File,
    what: &Path,
    want_data: bool,
    on_member: &mut dyn FnMut(Member),
    problem: &mut dyn FnMut(String),
) -> Result<DebId, Error> {
    let file_len = file.metadata().map_err(|e| Error::io("stat", what, e))?.len();
    let mut ar = ar::Archive::new(file);
    let mut id: Option<DebId> = None;
    let mut first = true;
    let mut buf = Vec::new();
    while let Some(entry) = ar.next_entry() {
        let mut entry = entry.map_err(|e| malformed(what, format!("ar archive: {e}")))?;
        let name = entry.header().identifier().to_vec();
        let declared = entry.header().size();
        if declared > file_len {
            return Err(malformed(
                what,
                format!(
                    "member {} declares {declared} bytes, the file has {file_len}",
                    String::from_utf8_lossy(&name)
                ),
            ));
        }
        if first {
            first = false;
            if name != b"debian-binary" {
                return Err(malformed(what, "not a .deb: first member is not debian-binary"));
            }
        }
        let mut counted = Counting {
            inner: &mut entry,
            n: 0,
        };
        if name.starts_with(b"control.tar") {
            let dec = decoder(&name, Box::new(&mut counted)).map_err(|e| malformed(what, e))?;
            let mut tar = tar::Archive::new(dec.take(CONTROL_CAP));
            let entries = tar
                .entries()
                .map_err(|e| malformed(what, format!("control.tar: {e}")))?;
            for e in entries {
                let mut e = e.map_err(|e| malformed(what, format!("control.tar: {e}")))?;
                let path = e.path_bytes().into_owned();
                if member_path(&path) == Ok(Some(b"/control".to_vec())) {
                    let mut text = Vec::new();
                    e.by_ref()
                        .take(1024 * 1024)
                        .read_to_end(&mut text)
                        .map_err(|e| malformed(what, format!("control: {e}")))?;
                    id = Some(
                        parse_control(&text)
                            .ok_or_else(|| malformed(what, "control lacks Package/Version"))?,
                    );
                }
            }
            if !want_data {
                return id.ok_or_else(|| malformed(what, "no control file"));
            }
        } else if name.starts_with(b"data.tar") {
            if id.is_none() {
                return Err(malformed(what, "data.tar before control.tar"));
            }
            let dec = decoder(&name, Box::new(&mut counted)).map_err(|e| malformed(what, e))?;
            let mut limited = dec.take(DATA_CAP);
            read_data(&mut limited, what, &mut buf, on_member, problem)?;
        }
        // Drain what the readers left (tar padding), then check the member was all there.
        std::io::copy(&mut counted, &mut std::io::sink())
            .map_err(|e| malformed(what, format!("reading {}: {e}", String::from_utf8_lossy(&name))))?;
        if counted.n != declared {
            return Err(malformed(
                what,
                format!(
                    "truncated: member {} declares {declared} bytes, the archive holds {}",
                    String::from_utf8_lossy(&name),
                    counted.n
                ),
            ));
        }
    }
    id.ok_or_else(|| malformed(what, "no control.tar member"))
}

fn read_data(
    data: &mut dyn Read,
    what: &Path,
    buf: &mut Vec<u8>,
    on_member: &mut dyn FnMut(Member),
    problem: &mut dyn FnMut(String),
) -> Result<(), Error> {
    let mut tar = tar::Archive::new(data);
    let entries = tar
        .entries()
        .map_err(|e| malformed(what, format!("data.tar: {e}")))?;
    for e in entries {
        let mut e = e.map_err(|e| malformed(what, format!("data.tar: {e}")))?;
        let raw = e.path_bytes().into_owned();
        let path = match member_path(&raw) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(why) => {
                problem(format!(
                    "{}: member {:?} refused: {why}",
                    what.display(),
                    String::from_utf8_lossy(&raw)
                ));
                continue;
            }
        };
        let header = e.header();
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let declared = header
            .size()
            .map_err(|e| malformed(what, format!("data.tar header: {e}")))?;
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if declared > MEMBER_CAP {
                    return Err(malformed(
                        what,
                        format!(
                            "member {} declares {declared} bytes (cap {MEMBER_CAP}); archive refused",
                            String::from_utf8_lossy(&path)
                        ),
                    ));
                }
                let (d, n) = hash_reader(&mut e, &[Algo::Sha256], buf)
                    .map_err(|err| malformed(what, format!("data.tar member: {err}")))?;
                if n != declared {
                    return Err(malformed(
                        what,
                        format!(
                            "truncated: member {} declares {declared} bytes, {n} present",
                            String::from_utf8_lossy(&path)
                        ),
                    ));
                }
                MemberKind::File {
                    sha256: d.sha256.unwrap_or_default(),
                    size: n,
                }
            }
            tar::EntryType::Symlink => {
                MemberKind::Symlink(e.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default())
            }
            tar::EntryType::Link => {
                let target = e.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                match member_path(&target) {
                    Ok(Some(t)) => MemberKind::Hardlink(t),
                    _ => {
                        problem(format!(
                            "{}: hard link {} to {:?} refused",
                            what.display(),
                            String::from_utf8_lossy(&path),
                            String::from_utf8_lossy(&target)
                        ));
                        continue;
                    }
                }
            }
            tar::EntryType::Directory => MemberKind::Dir,
            _ => MemberKind::Other,
        };
        on_member(Member { path, mode, kind });
    }
    Ok(())
}

/// `Package`, `Version`, `Architecture` of a control file.
pub fn parse_control(text: &[u8]) -> Option<DebId> {
    let pkgs = cordon_host::dpkg::parse_status(text);
    let p = pkgs.into_iter().next()?;
    if p.version.is_empty() {
        return None;
    }
    Some(DebId {
        package: p.name,
        version: p.version,
        arch: p.arch,
    })
}

/// The `.deb` files of a directory, by (package, version, architecture), read from their control
/// files (file names are not trusted). Unreadable or malformed archives are listed as problems.
pub fn index_debs(dir: &Path) -> Result<(HashMap<DebId, PathBuf>, Vec<String>), Error> {
    let d = open_root(dir)?;
    let mut names = Vec::new();
    let mut listing =
        rustix::fs::Dir::read_from(&d.fd).map_err(|e| Error::io("list", dir, std::io::Error::from(e)))?;
    while let Some(entry) = listing.read() {
        let entry = entry.map_err(|e| Error::io("list", dir, std::io::Error::from(e)))?;
        if entry.file_name().to_bytes().ends_with(b".deb") {
            names.push(entry.file_name().to_owned());
        }
    }
    names.sort();
    let results: Vec<Result<(DebId, PathBuf), String>> = names
        .par_iter()
        .map(|name| {
            let path = dir.join(std::ffi::OsStr::from_encoded_bytes_unchecked_safe(name));
            let mut f = open_at(d.fd.as_fd(), name, &path).map_err(|e| e.to_string())?;
            read_deb(&mut f, &path, false, &mut |_| {}, &mut |_| {})
                .map(|id| (id, path))
                .map_err(|e| e.to_string())
        })
        .collect();
    let mut index = HashMap::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok((id, path)) => {
                index.insert(id, path);
            }
            Err(e) => problems.push(e),
        }
    }
    Ok((index, problems))
}

trait OsStrFromCStr {
    fn from_encoded_bytes_unchecked_safe(c: &CStr) -> &std::ffi::OsStr;
}

impl OsStrFromCStr for std::ffi::OsStr {
    fn from_encoded_bytes_unchecked_safe(c: &CStr) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt as _;
        std::ffi::OsStr::from_bytes(c.to_bytes())
    }
}

fn open_at(dir: BorrowedFd<'_>, name: &CStr, path: &Path) -> Result<std::fs::File, Error> {
    open_regular_at(dir, name)
        .map(|o| o.file)
        .map_err(|e| Error::io("open", path, e.into()))
}

struct Ctx<'a> {
    root: BorrowedFd<'a>,
    db: &'a PackageDb,
    div: &'a Diversions,
    overrides: &'a HashMap<Vec<u8>, u32>,
}

/// Verifies every installed package of the system rooted at `root` against the `.deb` files in
/// `debs` (matched by package, exact version and architecture read from each archive).
pub fn verify_against_debs(root: &Path, debs: &Path, only: &[String]) -> Result<VerifyReport, Error> {
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
    let (index, problems) = index_debs(debs)?;
    report.problems.extend(problems);
    let div = match read_small(rfd, b"/var/lib/dpkg/diversions", MD5SUMS_CAP) {
        Ok(b) => parse_diversions(&b.unwrap_or_default()),
        Err(e) => {
            report.problems.push(e);
            Diversions::new()
        }
    };
    let overrides = match read_small(rfd, b"/var/lib/dpkg/statoverride", MD5SUMS_CAP) {
        Ok(b) => parse_statoverride(&b.unwrap_or_default()),
        Err(e) => {
            report.problems.push(e);
            HashMap::new()
        }
    };
    let mut todo: Vec<(&Package, &PathBuf)> = Vec::new();
    let mut names: Vec<&String> = db
        .packages
        .keys()
        .filter(|n| only.is_empty() || only.contains(n))
        .collect();
    names.sort();
    for name in names {
        let Some(pkg) = db.packages.get(name) else {
            continue;
        };
        report.packages += 1;
        let key = DebId {
            package: pkg.name.clone(),
            version: pkg.version.clone(),
            arch: pkg.arch.clone(),
        };
        match index.get(&key) {
            Some(p) => todo.push((pkg, p)),
            None => report.unverified_packages.push(pkg.name.clone()),
        }
    }
    let ctx = Ctx {
        root: rfd,
        db: &db,
        div: &div,
        overrides: &overrides,
    };
    let results: Vec<PkgResult> = todo
        .par_iter()
        .map(|(pkg, deb)| verify_one(&ctx, pkg, deb))
        .collect();
    for r in results {
        report.items.extend(r.items);
        report.problems.extend(r.problems);
        report.files_checked += r.files;
        report.bytes_hashed += r.bytes;
        report.atime_touched += r.touched;
    }
    report
        .items
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.package.cmp(&b.package)));
    Ok(report)
}

#[derive(Default)]
struct PkgResult {
    items: Vec<VerifyItem>,
    problems: Vec<String>,
    files: u64,
    bytes: u64,
    touched: u64,
}

fn verify_one(ctx: &Ctx<'_>, pkg: &Package, deb: &Path) -> PkgResult {
    let mut out = PkgResult::default();
    let mut f = match cordon_host::open::open_regular(deb) {
        Ok(o) => o.file,
        Err(e) => {
            out.problems.push(e.to_string());
            return out;
        }
    };
    let reference = deb
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut members: Vec<Member> = Vec::new();
    let mut problems = Vec::new();
    let res = read_deb(&mut f, deb, true, &mut |m| members.push(m), &mut |p| {
        problems.push(p)
    });
    out.problems.extend(problems);
    if let Err(e) = res {
        out.problems
            .push(format!("{e}; {} not verified against its .deb", pkg.name));
        return out;
    }
    let hashes: HashMap<&[u8], &str> = members
        .iter()
        .filter_map(|m| match &m.kind {
            MemberKind::File { sha256, .. } => Some((m.path.as_slice(), sha256.as_str())),
            _ => None,
        })
        .collect();
    let mut buf = Vec::new();
    for m in &members {
        if matches!(m.kind, MemberKind::Dir | MemberKind::Other) {
            continue;
        }
        // Only what dpkg says this package installed (path excludes, files taken over by others).
        if ctx.db.owner(&m.path) != Some(pkg.name.as_str()) {
            continue;
        }
        let (at, diverted) = diverted_path(&m.path, &pkg.name, ctx.div);
        let conffile = pkg.conffiles.iter().any(|(p, _)| *p == m.path);
        let item = |status: Status,
                    algo: Option<Algo>,
                    expected: Option<String>,
                    actual: Option<String>,
                    detail: Option<String>| VerifyItem {
            path: m.path.clone(),
            status,
            package: pkg.name.clone(),
            version: pkg.version.clone(),
            conffile,
            algorithm: algo,
            expected,
            actual,
            detail: if diverted {
                Some(format!(
                    "diverted to {}{}",
                    String::from_utf8_lossy(at),
                    detail.map(|d| format!("; {d}")).unwrap_or_default()
                ))
            } else {
                detail
            },
            reference: reference.clone(),
        };
        out.files += 1;
        let expected_sha = match &m.kind {
            MemberKind::File { sha256, .. } => Some(sha256.as_str()),
            MemberKind::Hardlink(t) => hashes.get(t.as_slice()).copied(),
            _ => None,
        };
        if let Some(expected) = expected_sha {
            let want_mode = ctx.overrides.get(&m.path).map_or(m.mode, |o| o & 0o7777);
            match lookup(ctx.root, at) {
                Lookup::File { mut file, noatime } => {
                    out.touched += u64::from(!noatime);
                    let mode = rustix::fs::fstat(&file)
                        .map(|s| s.st_mode & 0o7777)
                        .unwrap_or(want_mode);
                    match hash_file(&mut file, &[Algo::Sha256], &mut buf) {
                        Ok(d) => {
                            out.bytes += d.bytes;
                            let actual = d.digests.sha256.unwrap_or_default();
                            if d.unstable {
                                out.items.push(item(
                                    Status::ChangedWhileHashed,
                                    Some(Algo::Sha256),
                                    Some(expected.to_owned()),
                                    Some(actual),
                                    None,
                                ));
                            } else if actual != expected {
                                out.items.push(item(
                                    Status::Changed,
                                    Some(Algo::Sha256),
                                    Some(expected.to_owned()),
                                    Some(actual),
                                    None,
                                ));
                            }
                        }
                        Err(e) => {
                            out.items
                                .push(item(Status::Unreadable, None, None, None, Some(e.to_string())))
                        }
                    }
                    if mode != want_mode && !conffile {
                        out.items.push(item(
                            Status::ModeChanged,
                            None,
                            Some(format!("{want_mode:04o}")),
                            Some(format!("{mode:04o}")),
                            None,
                        ));
                    }
                }
                Lookup::Missing => out.items.push(item(
                    Status::Missing,
                    Some(Algo::Sha256),
                    Some(expected.to_owned()),
                    None,
                    None,
                )),
                Lookup::Other { meta, link } => {
                    let (status, detail) = match link {
                        Some(l) => (
                            Status::ReplacedBySymlink,
                            format!("symbolic link to {}", String::from_utf8_lossy(&l)),
                        ),
                        None => (
                            Status::NotRegular,
                            format!("a {}", cordon_host::open::file_type_name(meta.file_type())),
                        ),
                    };
                    out.items.push(item(
                        status,
                        Some(Algo::Sha256),
                        Some(expected.to_owned()),
                        None,
                        Some(detail),
                    ));
                }
                Lookup::Error(e) => {
                    out.items
                        .push(item(Status::Unreadable, None, None, None, Some(e.to_string())))
                }
            }
        } else if let MemberKind::Symlink(target) = &m.kind {
            match describe(ctx.root, at) {
                Lookup::Other { link: Some(l), .. } if l == *target => {}
                Lookup::Other { link: Some(l), .. } => out.items.push(item(
                    Status::LinkChanged,
                    None,
                    Some(String::from_utf8_lossy(target).into_owned()),
                    Some(String::from_utf8_lossy(&l).into_owned()),
                    None,
                )),
                Lookup::Missing => out.items.push(item(
                    Status::Missing,
                    None,
                    Some(String::from_utf8_lossy(target).into_owned()),
                    None,
                    None,
                )),
                Lookup::Error(e) => {
                    out.items
                        .push(item(Status::Unreadable, None, None, None, Some(e.to_string())))
                }
                Lookup::Other { meta, .. } => out.items.push(item(
                    Status::LinkChanged,
                    None,
                    Some(String::from_utf8_lossy(target).into_owned()),
                    None,
                    Some(format!(
                        "a {} where the package has a symbolic link",
                        cordon_host::open::file_type_name(meta.file_type())
                    )),
                )),
                Lookup::File { .. } => {}
            }
        } else if let MemberKind::Hardlink(t) = &m.kind {
            out.problems.push(format!(
                "{}: hard link {} to {} which is not a regular member",
                deb.display(),
                String::from_utf8_lossy(&m.path),
                String::from_utf8_lossy(t)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_are_normalised_and_traversal_refused() {
        assert_eq!(member_path(b"./usr/bin/ls"), Ok(Some(b"/usr/bin/ls".to_vec())));
        assert_eq!(member_path(b"./"), Ok(None));
        assert_eq!(member_path(b"usr//bin/./x"), Ok(Some(b"/usr/bin/x".to_vec())));
        assert!(member_path(b"./usr/../../etc/shadow").is_err());
        assert!(member_path(b"/etc/passwd").is_err());
        assert!(member_path(b"a\0b").is_err());
    }

    #[test]
    fn control_fields() {
        let id =
            parse_control(b"Package: ls\nVersion: 1:2.3\nArchitecture: amd64\nDescription: x\n").unwrap();
        assert_eq!(id.package, "ls");
        assert_eq!(id.version, "1:2.3");
        assert!(parse_control(b"Package: x\n").is_none());
        assert!(parse_control(b"\x00\xff").is_none());
    }
}
