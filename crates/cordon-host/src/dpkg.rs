//! The dpkg database of the examined system: installed packages and the files they own.
//!
//! `/var/lib/dpkg/status` is a sequence of RFC 822-style paragraphs (`deb-control(5)`); each
//! `/var/lib/dpkg/info/<package>[:<arch>].list` lists the paths a package installed, one a line. No
//! crate reads these from raw bytes without running `dpkg`, which we must not execute on a suspect
//! system, so the few lines below parse them. Paths stay raw bytes.
//!
//! Debian's merged `/usr` means a file listed as `/bin/ls` is found at `/usr/bin/ls` (and the reverse
//! for newer packages): [`PackageDb::owner`] tries both spellings.

use std::collections::HashMap;
use std::os::fd::AsFd;

use crate::open::open_in_root;

/// Largest `status` file read (a big server's is a few MiB).
pub const STATUS_CAP: u64 = 256 * 1024 * 1024;
/// Largest `.list` file read.
pub const LIST_CAP: u64 = 64 * 1024 * 1024;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Name.
    pub name: String,
    /// Architecture (`amd64`, `all`).
    pub arch: String,
    /// Version.
    pub version: String,
    /// `Status:` (`install ok installed`).
    pub status: String,
    /// Conffiles: path and MD5 (hex) as recorded at installation.
    pub conffiles: Vec<(Vec<u8>, String)>,
}

/// What was learned from the database, and what could not be read.
#[derive(Debug, Default)]
pub struct PackageDb {
    /// Installed packages (status `install ok installed`), by name.
    pub packages: HashMap<String, Package>,
    owners: HashMap<Vec<u8>, String>,
    /// Problems met (unreadable `.list` files, malformed paragraphs).
    pub problems: Vec<String>,
    /// False when there is no dpkg database at all (not a Debian-family system).
    pub present: bool,
}

impl PackageDb {
    /// Reads the database below `root` (a descriptor of the examined system's `/`).
    pub fn load(root: impl AsFd) -> PackageDb {
        let root = root.as_fd();
        let mut db = PackageDb::default();
        let status = match read_in_root(root, b"/var/lib/dpkg/status", STATUS_CAP) {
            Ok(s) => s,
            Err(e) => {
                db.problems.push(format!("/var/lib/dpkg/status: {e}"));
                return db;
            }
        };
        db.present = true;
        for pkg in parse_status(&status) {
            if pkg.status.ends_with(" installed") {
                // Conffiles count as owned even when only a maintainer script created them.
                for (path, _) in &pkg.conffiles {
                    db.owners.entry(path.clone()).or_insert_with(|| pkg.name.clone());
                }
                db.packages.insert(pkg.name.clone(), pkg);
            }
        }
        // dpkg-divert moves a package's file aside (`/usr/bin/x` → `/usr/bin/x.distrib`); both names
        // belong to a package. The file holds three lines per diversion: from, to, package.
        if let Ok(div) = read_in_root(root, b"/var/lib/dpkg/diversions", LIST_CAP) {
            let lines: Vec<&[u8]> = div.split(|&b| b == b'\n').collect();
            for chunk in lines.chunks(3) {
                if let [from, to, pkg] = chunk {
                    let pkg = String::from_utf8_lossy(pkg).into_owned();
                    db.owners.entry(from.to_vec()).or_insert_with(|| pkg.clone());
                    db.owners.entry(to.to_vec()).or_insert(pkg);
                }
            }
        }
        let Ok(info) = open_in_root(root, b"/var/lib/dpkg/info", true) else {
            db.problems.push("/var/lib/dpkg/info: cannot be opened".into());
            return db;
        };
        let Ok(mut dir) = rustix::fs::Dir::read_from(&info.0) else {
            return db;
        };
        let mut lists = Vec::new();
        while let Some(Ok(entry)) = dir.read() {
            let name = entry.file_name().to_bytes();
            if let Some(stem) = name.strip_suffix(b".list") {
                lists.push((
                    entry.file_name().to_owned(),
                    String::from_utf8_lossy(stem).into_owned(),
                ));
            }
        }
        for (file, stem) in lists {
            let pkg = stem.split(':').next().unwrap_or(&stem).to_owned();
            match read_at_capped(&info.0, &file, LIST_CAP) {
                Ok(bytes) => {
                    for line in bytes.split(|&b| b == b'\n').filter(|l| l.starts_with(b"/")) {
                        db.owners.entry(line.to_vec()).or_insert_with(|| pkg.clone());
                    }
                }
                Err(e) => db.problems.push(format!("/var/lib/dpkg/info/{stem}.list: {e}")),
            }
        }
        db
    }

    /// The package that installed `path` (a path of the examined system), trying the merged-`/usr`
    /// spelling too.
    pub fn owner(&self, path: &[u8]) -> Option<&str> {
        if let Some(p) = self.owners.get(path) {
            return Some(p);
        }
        let alias = usrmerge_alias(path)?;
        self.owners.get(&alias).map(String::as_str)
    }

    /// Number of owned paths known.
    pub fn owned_paths(&self) -> usize {
        self.owners.len()
    }
}

/// `/bin/x` ↔ `/usr/bin/x` (and sbin, lib, lib32, lib64, libx32).
fn usrmerge_alias(path: &[u8]) -> Option<Vec<u8>> {
    const DIRS: [&[u8]; 6] = [b"/bin/", b"/sbin/", b"/lib/", b"/lib32/", b"/lib64/", b"/libx32/"];
    if let Some(rest) = path.strip_prefix(b"/usr") {
        if DIRS.iter().any(|d| rest.starts_with(d)) {
            return Some(rest.to_vec());
        }
    } else if DIRS.iter().any(|d| path.starts_with(d)) {
        let mut out = b"/usr".to_vec();
        out.extend_from_slice(path);
        return Some(out);
    }
    None
}

/// Parses the paragraphs of a dpkg `status` file. Malformed paragraphs (no `Package:`) are skipped.
pub fn parse_status(bytes: &[u8]) -> Vec<Package> {
    let mut out = Vec::new();
    for para in split_paragraphs(bytes) {
        let mut pkg = Package {
            name: String::new(),
            arch: String::new(),
            version: String::new(),
            status: String::new(),
            conffiles: Vec::new(),
        };
        let mut field: &[u8] = b"";
        for line in para.split(|&b| b == b'\n') {
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                if field.eq_ignore_ascii_case(b"Conffiles") {
                    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').filter(|p| !p.is_empty()).collect();
                    if let [path, md5, ..] = parts.as_slice() {
                        pkg.conffiles
                            .push((path.to_vec(), String::from_utf8_lossy(md5).into_owned()));
                    }
                }
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let value = String::from_utf8_lossy(value.get(1..).unwrap_or_default())
                .trim()
                .to_owned();
            field = name;
            match name {
                b"Package" => pkg.name = value,
                b"Architecture" => pkg.arch = value,
                b"Version" => pkg.version = value,
                b"Status" => pkg.status = value,
                _ => {}
            }
        }
        if !pkg.name.is_empty() {
            out.push(pkg);
        }
    }
    out
}

fn split_paragraphs(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        while rest.starts_with(b"\n") {
            rest = rest.get(1..).unwrap_or_default();
        }
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(rest.len(), |p| p + 1);
        let (para, tail) = rest.split_at(end);
        rest = tail;
        Some(para)
    })
}

fn read_in_root(
    root: std::os::fd::BorrowedFd<'_>,
    inner: &[u8],
    cap: u64,
) -> Result<Vec<u8>, rustix::io::Errno> {
    use std::io::Read as _;
    let (fd, _) = open_in_root(root, inner, false)?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            e.raw_os_error()
                .map_or(rustix::io::Errno::IO, rustix::io::Errno::from_raw_os_error)
        })?;
    Ok(bytes)
}

fn read_at_capped(
    dir: &rustix::fd::OwnedFd,
    name: &std::ffi::CStr,
    cap: u64,
) -> Result<Vec<u8>, rustix::io::Errno> {
    use std::io::Read as _;
    let opened = crate::open::open_regular_at(dir, name)?;
    let mut bytes = Vec::new();
    opened.file.take(cap).read_to_end(&mut bytes).map_err(|e| {
        e.raw_os_error()
            .map_or(rustix::io::Errno::IO, rustix::io::Errno::from_raw_os_error)
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_paragraphs_with_conffiles_and_skips_junk() {
        let status = b"Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2\n\
Conffiles:\n /etc/ssh/moduli 4bd6e2a5f4b7bd4d2ab2b1ba3b1c4b5a\n /etc/pam.d/sshd 8b4c7a0f2d6b0e0e6c5a2d1b8b8a8e8e obsolete\n\
Description: secure shell\n multi-line\n\n\nPackage: removed\nStatus: deinstall ok config-files\n\ngarbage without colon\n\n";
        let pkgs = parse_status(status);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "openssh-server");
        assert_eq!(pkgs[0].version, "1:9.2p1-2");
        assert_eq!(pkgs[0].conffiles.len(), 2);
        assert_eq!(pkgs[0].conffiles[0].0, b"/etc/ssh/moduli");
        assert_eq!(pkgs[1].status, "deinstall ok config-files");
    }

    #[test]
    fn usrmerge_aliases_both_ways() {
        assert_eq!(usrmerge_alias(b"/bin/ls").unwrap(), b"/usr/bin/ls");
        assert_eq!(usrmerge_alias(b"/usr/sbin/sshd").unwrap(), b"/sbin/sshd");
        assert_eq!(usrmerge_alias(b"/usr/share/doc"), None);
        assert_eq!(usrmerge_alias(b"/etc/passwd"), None);
    }
}
