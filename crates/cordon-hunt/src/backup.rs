//! Checking backups before trusting them: each backup (a directory tree or a tar archive) is
//! searched for the incident's own indicators and hunted like a live system, and the newest clean
//! one is named as the restore candidate.
//!
//! Tar archives are read as a stream and never extracted: member names are only compared, never
//! used as paths here, and suspicious members (`..`, absolute names, links pointing out, device
//! nodes) are reported. In a tar the hunt is narrower than on a tree: the launch-point files,
//! account files and web scripts among its members are judged line by line with the same
//! heuristics.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use cordon_core::{Confidence, Finding, Severity};
use cordon_host::Target;
use regex::Regex;

use crate::indicators::{Indicator, matches_content, present};
use crate::{Error, HuntOptions, heuristics, hunt};

/// Largest tar member read into memory for checking.
const MEMBER_CAP: u64 = 4 * 1024 * 1024;

/// What one backup holds.
#[derive(Debug)]
pub struct BackupResult {
    /// The backup.
    pub path: PathBuf,
    /// `directory` or `tar`.
    pub kind: &'static str,
    /// When it was taken: from a date in its name, else its modification time (UTC, RFC 3339).
    pub date: String,
    /// Incident indicators found in it.
    pub indicators: Vec<Indicator>,
    /// Other findings (the hunt's) at medium or above.
    pub findings: Vec<Finding>,
    /// What could not be read, unsafe tar members.
    pub notes: Vec<String>,
}

impl BackupResult {
    /// Clean: none of the incident's indicators, nothing high or critical.
    pub fn clean(&self) -> bool {
        self.indicators.is_empty() && !self.findings.iter().any(|f| f.severity >= Severity::High)
    }
}

static DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(20\d\d)-?(\d\d)-?(\d\d)(?:[T_.-]?(\d\d)[:h]?(\d\d))?").ok());

/// The date a backup was taken.
pub fn backup_date(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(c) = DATE.as_ref().and_then(|re| re.captures(&name)) {
        let g = |i: usize| c.get(i).map_or("00", |m| m.as_str());
        return format!("{}-{}-{}T{}:{}:00Z", g(1), g(2), g(3), g(4), g(5));
    }
    let mtime = std::fs::symlink_metadata(path).and_then(|m| m.modified()).ok();
    mtime
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| format!("{t:.0}"))
        .unwrap_or_else(|| "unknown".into())
}

/// Checks one backup for the incident's `indicators`.
pub fn check(path: &Path, indicators: &[Indicator], opts: &HuntOptions) -> Result<BackupResult, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Backup {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    if meta.is_dir() {
        let target = Target::offline(path);
        let report = hunt(&target, opts)?;
        let fs = crate::fs::RootFs::open(&target)?;
        Ok(BackupResult {
            path: path.to_owned(),
            kind: "directory",
            date: backup_date(path),
            indicators: present(&fs, indicators),
            findings: report
                .findings
                .into_iter()
                .filter(|f| f.severity >= Severity::Medium)
                .collect(),
            notes: report
                .notes
                .into_iter()
                .filter(|n| !n.starts_with("offline target"))
                .collect(),
        })
    } else {
        check_tar(path, indicators)
    }
}

fn open_tar(path: &Path) -> Result<Box<dyn Read>, Error> {
    let bad = |why: String| Error::Backup {
        path: path.to_owned(),
        why,
    };
    let opened = cordon_host::open::open_regular(path).map_err(|e| bad(e.to_string()))?;
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".gz") || name.ends_with(".tgz") {
        Box::new(flate2::read::GzDecoder::new(opened.file))
    } else if name.ends_with(".zst") || name.ends_with(".tzst") {
        Box::new(zstd::Decoder::new(opened.file).map_err(|e| bad(e.to_string()))?)
    } else {
        Box::new(opened.file)
    })
}

/// Normalises a member name to the examined system's absolute path, or says why it is unsafe.
fn member_path(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    if raw.starts_with(b"/") {
        return Err("absolute member name");
    }
    let mut out = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("member name climbs out with '..'"),
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        Err("empty member name")
    } else {
        Ok(out)
    }
}

/// Files of a tar whose lines are judged like launch points.
fn is_launch_file(p: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"/etc/cron",
        b"/var/spool/cron/",
        b"/etc/systemd/system/",
        b"/usr/lib/systemd/system/",
        b"/etc/profile.d/",
        b"/etc/rc.local",
        b"/etc/update-motd.d/",
        b"/etc/udev/rules.d/",
        b"/etc/apt/apt.conf.d/",
        b"/etc/ld.so.preload",
        b"/etc/modprobe.d/",
        b"/etc/pam.d/",
        b"/etc/init.d/",
        b"/etc/sudoers",
    ];
    PREFIXES.iter().any(|x| p.starts_with(x))
        || p.ends_with(b"/.ssh/authorized_keys")
        || p.ends_with(b"/.bashrc")
}

fn check_tar(path: &Path, indicators: &[Indicator]) -> Result<BackupResult, Error> {
    let bad = |why: String| Error::Backup {
        path: path.to_owned(),
        why,
    };
    let mut archive = tar::Archive::new(open_tar(path)?);
    let mut notes = Vec::new();
    let mut findings = Vec::new();
    let mut found: Vec<Indicator> = Vec::new();
    let wanted: HashMap<&[u8], Vec<&Indicator>> = indicators.iter().fold(HashMap::new(), |mut m, i| {
        m.entry(i.path()).or_default().push(i);
        m
    });
    let target = path.display().to_string();
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                notes.push(format!("the archive is damaged after this point: {e}"));
                break;
            }
        };
        let raw = entry.path_bytes().into_owned();
        let shown = cordon_core::escape_terminal(&raw);
        let inner = match member_path(&raw) {
            Ok(p) => p,
            Err(why) => {
                notes.push(format!("unsafe member {shown}: {why} (not followed)"));
                continue;
            }
        };
        let kind = entry.header().entry_type();
        if kind.is_block_special() || kind.is_character_special() || kind.is_fifo() {
            notes.push(format!("member {shown} is a device node or FIFO (never opened)"));
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(link) = entry.link_name_bytes().map(|l| l.into_owned())
                && (link.starts_with(b"/") || link.windows(2).any(|w| w == b".."))
            {
                notes.push(format!(
                    "link {shown} points outside the archive ({}); not followed",
                    cordon_core::escape_terminal(&link)
                ));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let interesting =
            wanted.contains_key(inner.as_slice()) || is_launch_file(&inner) || inner == b"/etc/passwd";
        if let Some(inds) = wanted.get(inner.as_slice()) {
            for i in inds.iter().filter(|i| matches!(i, Indicator::File { .. })) {
                found.push((*i).clone());
            }
        }
        if !interesting {
            continue;
        }
        let mut bytes = Vec::new();
        if let Err(e) = (&mut entry).take(MEMBER_CAP).read_to_end(&mut bytes) {
            notes.push(format!("member {shown} could not be read: {e}"));
            continue;
        }
        if let Some(inds) = wanted.get(inner.as_slice()) {
            for i in inds.iter().filter(|i| !matches!(i, Indicator::File { .. })) {
                if matches_content(i, &bytes) {
                    found.push((*i).clone());
                }
            }
        }
        if inner == b"/etc/passwd" {
            for l in bytes.split(|&b| b == b'\n') {
                let f: Vec<&[u8]> = l.split(|&b| b == b':').collect();
                if let [name, _, b"0", ..] = f.as_slice()
                    && *name != b"root"
                {
                    findings.push(
                        Finding::new(
                            "account.extra_uid0",
                            Severity::Critical,
                            Confidence::High,
                            format!(
                                "account {} in the backup has user id 0",
                                String::from_utf8_lossy(name)
                            ),
                            "do not restore this backup's account files",
                            &target,
                        )
                        .technique("T1136.001")
                        .path("/etc/passwd")
                        .user(name.to_vec()),
                    );
                }
            }
        } else if is_launch_file(&inner) {
            for (n, line) in crate::launch::logical_lines(&bytes) {
                for s in heuristics::judge(&line) {
                    findings.push(
                        Finding::new(
                            &format!("backup.{}", s.id),
                            s.severity,
                            s.confidence,
                            format!(
                                "{}:{n} in the backup {}",
                                cordon_core::escape_terminal(&inner),
                                s.why
                            ),
                            "do not restore this file; find when it first appears in the backups",
                            &target,
                        )
                        .technique(s.technique)
                        .path(inner.clone())
                        .evidence(line.clone()),
                    );
                }
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(BackupResult {
        path: path.to_owned(),
        kind: "tar",
        date: backup_date(path),
        indicators: found,
        findings: findings
            .into_iter()
            .filter(|f| f.severity >= Severity::Medium)
            .collect(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_normalised_or_refused() {
        assert_eq!(member_path(b"./etc/passwd").unwrap(), b"/etc/passwd");
        assert_eq!(member_path(b"etc//cron.d/x").unwrap(), b"/etc/cron.d/x");
        assert!(member_path(b"../../etc/shadow").is_err());
        assert!(member_path(b"/etc/shadow").is_err());
        assert!(member_path(b"etc/../../x").is_err());
    }

    #[test]
    fn dates_come_from_names() {
        assert_eq!(
            backup_date(Path::new("/b/web01-2026-11-20")),
            "2026-11-20T00:00:00Z"
        );
        assert_eq!(
            backup_date(Path::new("/b/daily.20261119_0300.tar.zst")),
            "2026-11-19T03:00:00Z"
        );
    }
}
