//! `case verify`: is this case exactly what cordon wrote?
//!
//! Four checks, cheapest first: SQLite's own `integrity_check`; the journal hash chain from entry 1
//! to the head recorded in `meta` (and, given a seal, to the sealed head); the evidence, file and
//! custody tables against the journal entries that created them; and every evidence file re-hashed
//! against its recorded SHA-256.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use cordon_core::bytes_json::decode_b64;
use serde_json::Value;

use crate::case::{Case, EVIDENCE_DIR};
use crate::evidence::{case_path, files_digest, hash_file};
use crate::journal::{GENESIS, check_link};
use crate::seal::Seal;
use crate::{EntryFilter, Error};

/// What is wrong with one evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The item.
    pub evidence_id: i64,
    /// The file, relative to the case directory.
    pub path: Vec<u8>,
    /// What is wrong.
    pub why: String,
}

/// The outcome of a seal check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealCheck {
    /// Entries 1..N are intact and entry N's hash is the sealed head.
    Holds,
    /// It does not, and why.
    Broken(String),
}

/// Everything `case verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Lines of `PRAGMA integrity_check` other than `ok`.
    pub integrity: Vec<String>,
    /// Journal entries read.
    pub entries: i64,
    /// The first broken journal entry: (seq, why).
    pub chain_break: Option<(i64, String)>,
    /// The recorded head does not match the last entry (entries dropped from the end).
    pub head_problem: Option<String>,
    /// Evidence, file or custody rows that disagree with the journal.
    pub table_problems: Vec<String>,
    /// Items checked.
    pub evidence_items: usize,
    /// Files re-hashed.
    pub evidence_files: usize,
    /// Bytes re-hashed.
    pub bytes: u64,
    /// Files that are missing or changed.
    pub file_problems: Vec<FileProblem>,
    /// Files under `evidence/` that no item registers (interrupted copies, files put there by hand).
    pub unregistered: Vec<Vec<u8>>,
    /// The seal check, when a seal was given.
    pub seal: Option<SealCheck>,
    /// Items whose every file matched.
    pub intact_items: Vec<i64>,
}

impl VerifyReport {
    /// True when nothing is broken (unregistered files are a warning, not a failure).
    pub fn ok(&self) -> bool {
        self.integrity.is_empty()
            && self.chain_break.is_none()
            && self.head_problem.is_none()
            && self.table_problems.is_empty()
            && self.file_problems.is_empty()
            && !matches!(self.seal, Some(SealCheck::Broken(_)))
    }
}

impl Case {
    /// Runs every check. Reads only; the caller journals the outcome.
    pub fn verify(&self, seal: Option<&Seal>) -> Result<VerifyReport, Error> {
        let mut report = VerifyReport::default();
        self.check_integrity(&mut report)?;
        let journal_facts = self.check_chain(&mut report, seal)?;
        self.check_tables(&mut report, &journal_facts)?;
        self.check_files(&mut report)?;
        Ok(report)
    }

    fn check_integrity(&self, report: &mut VerifyReport) -> Result<(), Error> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(Error::sql("integrity check"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(Error::sql("integrity check"))?;
        for line in rows {
            let line = line.map_err(Error::sql("integrity check"))?;
            if line != "ok" {
                report.integrity.push(line);
            }
        }
        Ok(())
    }

    fn check_chain(&self, report: &mut VerifyReport, seal: Option<&Seal>) -> Result<JournalFacts, Error> {
        let mut facts = JournalFacts::default();
        let mut expected_seq = 1i64;
        let mut prev = GENESIS.to_owned();
        let mut sealed_hash = None;
        let result = self.for_each_entry(&EntryFilter::default(), |entry| {
            report.entries += 1;
            if report.chain_break.is_none() {
                if let Some(why) = check_link(&entry, expected_seq, &prev) {
                    report.chain_break = Some((entry.seq, why));
                } else if seal.is_some_and(|s| s.entries == entry.seq) {
                    sealed_hash = Some(entry.hash.clone());
                }
            }
            if entry.kind.starts_with("evidence") || entry.data.contains("\"custody\"") {
                facts.absorb(entry.seq, &entry.data_json());
            }
            expected_seq = entry.seq + 1;
            prev = entry.hash;
            Ok(())
        });
        if let Err(e) = result {
            // A row whose columns have been changed to the wrong type cannot even be read.
            report.chain_break = Some((expected_seq, format!("entry {expected_seq} cannot be read: {e}")));
        }
        let head_seq = self
            .meta("head_seq")?
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        let head_hash = self.meta("head_hash")?.unwrap_or_default();
        if report.chain_break.is_none() && (head_seq != expected_seq - 1 || head_hash != prev) {
            report.head_problem = Some(format!(
                "the journal ends at entry {} but the case recorded its head as entry {head_seq}: entries were \
                 removed from the end or the head record was changed",
                expected_seq - 1
            ));
        }
        if let Some(seal) = seal {
            report.seal = Some(check_seal(seal, &self.info()?.id, sealed_hash.as_deref(), report));
        }
        Ok(facts)
    }

    fn check_tables(&self, report: &mut VerifyReport, facts: &JournalFacts) -> Result<(), Error> {
        let items = self.evidence_items()?;
        report.evidence_items = items.len();
        for item in &items {
            let Some(reg) = facts.registrations.get(&item.id) else {
                report.table_problems.push(format!(
                    "evidence E{:04} has no registering journal entry",
                    item.id
                ));
                continue;
            };
            if reg.seq != item.journal_seq {
                report.table_problems.push(format!(
                    "evidence E{:04} claims journal entry {} but was registered by entry {}",
                    item.id, item.journal_seq, reg.seq
                ));
            }
            let files = self.evidence_files(item.id)?;
            let same = reg.str("label") == Some(item.label.as_str())
                && reg.str("kind") == Some(item.kind.as_str())
                && reg.bytes("path").as_deref() == Some(item.path.as_slice())
                && reg.bytes("source").as_deref() == Some(item.source.as_slice())
                && reg.str("files_sha256") == Some(files_digest(&files).as_str());
            if !same {
                report.table_problems.push(format!(
                    "evidence E{:04} (its label, path, source or file list) differs from what journal entry {} recorded",
                    item.id, reg.seq
                ));
            }
        }
        for id in facts.registrations.keys() {
            if !items.iter().any(|i| i.id == *id) {
                report.table_problems.push(format!(
                    "evidence E{id:04} was registered in the journal but its row is gone"
                ));
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT evidence_id, journal_seq, action FROM custody")
            .map_err(Error::sql("read custody"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(Error::sql("read custody"))?;
        let table: BTreeSet<(i64, i64, String)> = rows
            .collect::<Result<_, _>>()
            .map_err(Error::sql("read custody"))?;
        for missing in facts.custody.difference(&table) {
            report.table_problems.push(format!(
                "custody event '{}' of E{:04} (journal entry {}) is missing from the custody table",
                missing.2, missing.0, missing.1
            ));
        }
        for extra in table.difference(&facts.custody) {
            report.table_problems.push(format!(
                "custody event '{}' of E{:04} claims journal entry {}, which does not record it",
                extra.2, extra.0, extra.1
            ));
        }
        Ok(())
    }

    fn check_files(&self, report: &mut VerifyReport) -> Result<(), Error> {
        let mut registered = BTreeSet::new();
        for item in self.evidence_items()? {
            let mut intact = true;
            for f in self.evidence_files(item.id)? {
                registered.insert(f.path.clone());
                report.evidence_files += 1;
                let path = case_path(self.dir(), &f.path);
                let why = match hash_file(&path) {
                    Ok((sha, size)) => {
                        report.bytes += size;
                        if sha != f.sha256 {
                            Some(format!(
                                "content changed: SHA-256 is {sha}, recorded {}",
                                f.sha256
                            ))
                        } else if size != f.size {
                            Some(format!("size is {size}, recorded {}", f.size))
                        } else {
                            None
                        }
                    }
                    Err(e) => Some(format!("cannot be read: {e}")),
                };
                if let Some(why) = why {
                    intact = false;
                    report.file_problems.push(FileProblem {
                        evidence_id: item.id,
                        path: f.path,
                        why,
                    });
                }
            }
            if intact {
                report.intact_items.push(item.id);
            }
        }
        let root = self.dir().join(EVIDENCE_DIR);
        walk_files(&root, self.dir(), &mut |rel| {
            if !registered.contains(rel) {
                report.unregistered.push(rel.to_vec());
            }
        });
        Ok(())
    }
}

fn check_seal(seal: &Seal, case_id: &str, sealed_hash: Option<&str>, report: &VerifyReport) -> SealCheck {
    if seal.case_id != case_id {
        return SealCheck::Broken(format!(
            "the seal is for case {}, this is case {case_id}",
            seal.case_id
        ));
    }
    if let Some((seq, why)) = &report.chain_break
        && *seq <= seal.entries
    {
        return SealCheck::Broken(format!("entry {seq}, within the sealed range, is broken: {why}"));
    }
    match sealed_hash {
        None => SealCheck::Broken(format!("entry {} no longer exists", seal.entries)),
        Some(h) if h == seal.head => SealCheck::Holds,
        Some(h) => SealCheck::Broken(format!(
            "entry {} hashes to {h}, the seal says {}: the journal was rewritten since it was sealed",
            seal.entries, seal.head
        )),
    }
}

/// Recursively lists files under `dir`, as paths relative to `base`, without following symlinks.
fn walk_files(dir: &Path, base: &Path, f: &mut dyn FnMut(&[u8])) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk_files(&path, base, f),
            Ok(_) => {
                if let Ok(rel) = path.strip_prefix(base) {
                    f(rel.as_os_str().as_bytes());
                }
            }
            Err(_) => {}
        }
    }
}

/// What the journal says about evidence: registrations and custody events.
#[derive(Debug, Default)]
struct JournalFacts {
    registrations: BTreeMap<i64, Registration>,
    custody: BTreeSet<(i64, i64, String)>,
}

#[derive(Debug)]
struct Registration {
    seq: i64,
    data: Value,
}

impl Registration {
    fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// A raw-bytes field: the `_b64` companion when present, else the text.
    fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        match self.data.get(format!("{key}_b64")).and_then(Value::as_str) {
            Some(b64) => decode_b64(b64).ok(),
            None => self.str(key).map(|s| s.as_bytes().to_vec()),
        }
    }
}

impl JournalFacts {
    fn absorb(&mut self, seq: i64, data: &Value) {
        if let Some(id) = data.get("evidence_id").and_then(Value::as_i64) {
            self.registrations.insert(
                id,
                Registration {
                    seq,
                    data: data.clone(),
                },
            );
        }
        for c in data
            .get("custody")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(action)) = (
                c.get("evidence_id").and_then(Value::as_i64),
                c.get("action").and_then(Value::as_str),
            ) {
                self.custody.insert((id, seq, action.to_owned()));
            }
        }
    }
}
