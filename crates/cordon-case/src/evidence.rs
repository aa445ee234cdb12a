//! The evidence registry and its chain of custody.
//!
//! An evidence item is one thing the case holds: a file the responder handed over (`evidence add`), a
//! collection bundle, a disk image. Each item has files under `evidence/`, each with the SHA-256 taken
//! while it was written, and custody events — received, acquired, verified — each of which is a
//! journal entry. The `evidence`, `evidence_file` and `custody` tables are indexes; the journal entry
//! that created an item carries a digest of its file list, so `case verify` can tell when a row was
//! changed behind cordon's back.

use std::io::{Read, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use cordon_core::bytes_json::insert_bytes;
use cordon_core::{Clock, format_utc};
use rusqlite::types::ValueRef;
use rusqlite::{Row, Transaction, params};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::case::{Actor, Case, EVIDENCE_DIR};
use crate::{Error, journal};

/// One file of an evidence item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Path relative to the case directory (raw bytes: copied files keep the suspect's names).
    pub path: Vec<u8>,
    /// SHA-256, lowercase hex, taken while the file was written.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// What registering an item needs.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Short human label (file name, "collection of web01").
    pub label: String,
    /// `manual`, `collect`, `image` …
    pub kind: String,
    /// Where the item lives, relative to the case directory (a file or a directory).
    pub path: Vec<u8>,
    /// The responder's note.
    pub note: Vec<u8>,
    /// Where it came from (a path, a device, "live system").
    pub source: Vec<u8>,
    /// The host it came from.
    pub source_host: String,
    /// How it was obtained (tool, version, method).
    pub method: String,
    /// Custody action that brought it into the case: `received` or `acquired`.
    pub action: String,
    /// Its files.
    pub files: Vec<FileRecord>,
    /// Extra facts for the journal entry (source metadata, collection statistics).
    pub details: Value,
}

/// A registered item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    /// Numeric id (`E0001` when shown).
    pub id: i64,
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: String,
    /// Path relative to the case directory.
    pub path: Vec<u8>,
    /// Note.
    pub note: Vec<u8>,
    /// Source.
    pub source: Vec<u8>,
    /// Source host.
    pub source_host: String,
    /// When it entered the case.
    pub acquired_at: String,
    /// Who brought it in.
    pub acquired_by: String,
    /// Method.
    pub method: String,
    /// The journal entry that registered it.
    pub journal_seq: i64,
}

/// One custody event of an item: a journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyEvent {
    /// The journal entry.
    pub seq: i64,
    /// When.
    pub time: String,
    /// Who.
    pub actor: String,
    /// `received`, `acquired`, `verified` …
    pub action: String,
    /// The entry's text.
    pub text: Vec<u8>,
}

/// The digest of a file list that the registering journal entry carries: SHA-256 over the lines
/// `<sha256>  <path>\n`, sorted by path bytes.
pub fn files_digest(files: &[FileRecord]) -> String {
    let mut sorted: Vec<&FileRecord> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.sha256.as_bytes());
        h.update(b"  ");
        h.update(&f.path);
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Copies `reader` into a new file at `dest`, hashing while streaming, and syncs it to the media.
pub fn copy_hashing(reader: &mut impl std::io::Read, dest: &Path) -> Result<(String, u64), Error> {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(Error::io("create", dest))?;
    let digest = stream(reader, &mut |chunk| out.write_all(chunk)).map_err(Error::io("copy to", dest))?;
    out.sync_all().map_err(Error::io("sync", dest))?;
    Ok(digest)
}

/// SHA-256 and size of everything `reader` yields.
pub fn hash_reader(reader: &mut impl Read) -> Result<(String, u64), std::io::Error> {
    stream(reader, &mut |_| Ok(()))
}

/// Reads `reader` to its end in 1 MiB chunks, hashing each and handing it to `sink`.
fn stream(
    reader: &mut impl Read,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(String, u64), std::io::Error> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        h.update(chunk);
        sink(chunk)?;
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}

/// SHA-256 and size of a file on the case media.
pub fn hash_file(path: &Path) -> Result<(String, u64), Error> {
    let mut f = std::fs::File::open(path).map_err(Error::io("open", path))?;
    hash_reader(&mut f).map_err(Error::io("read", path))
}

/// A file name safe to use inside the case (letters, digits, `.`, `-`, `_`; at most 100 bytes).
fn safe_name(name: &[u8]) -> String {
    let s: String = name
        .iter()
        .take(100)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                b as char
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { "file".to_owned() } else { s }
}

fn bytes_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    match r.get_ref(i)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "bytes".into(),
            other.data_type(),
        )),
    }
}

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<EvidenceItem> {
    Ok(EvidenceItem {
        id: r.get(0)?,
        label: r.get(1)?,
        kind: r.get(2)?,
        path: bytes_col(r, 3)?,
        note: bytes_col(r, 4)?,
        source: bytes_col(r, 5)?,
        source_host: r.get(6)?,
        acquired_at: r.get(7)?,
        acquired_by: r.get(8)?,
        method: r.get(9)?,
        journal_seq: r.get(10)?,
    })
}

const SELECT_ITEMS: &str = "SELECT id, label, kind, path, note, source, source_host, acquired_at, acquired_by, \
                            method, journal_seq FROM evidence";

/// The journal data of a registration: what `case verify` compares the tables with.
pub(crate) fn registration_data(id: i64, item: &NewItem) -> Value {
    let mut m = Map::new();
    m.insert("evidence_id".into(), json!(id));
    m.insert("label".into(), json!(item.label));
    m.insert("kind".into(), json!(item.kind));
    insert_bytes(&mut m, "path", &item.path);
    insert_bytes(&mut m, "source", &item.source);
    m.insert("source_host".into(), json!(item.source_host));
    m.insert("method".into(), json!(item.method));
    m.insert("files".into(), json!(item.files.len()));
    m.insert(
        "bytes".into(),
        json!(item.files.iter().map(|f| f.size).sum::<u64>()),
    );
    m.insert("files_sha256".into(), json!(files_digest(&item.files)));
    if let [only] = item.files.as_slice() {
        m.insert("sha256".into(), json!(only.sha256));
    }
    m.insert(
        "custody".into(),
        json!([{"evidence_id": id, "action": item.action}]),
    );
    m.insert("details".into(), item.details.clone());
    Value::Object(m)
}

impl Case {
    /// Registers an item whose files are already in place under the case directory (a collection
    /// bundle, an image), in one transaction with its journal entry and first custody event.
    pub fn register_evidence(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        item: &NewItem,
    ) -> Result<EvidenceItem, Error> {
        self.transaction(|tx| register_in(tx, clock, actor, item))
    }

    /// Copies a file the responder gathered (screenshot, e-mail, photo of the console) into the case,
    /// hashing it on the way, and registers it with a `received` custody event.
    pub fn add_evidence_file(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        source: &Path,
        note: &[u8],
    ) -> Result<EvidenceItem, Error> {
        let resolved = std::fs::canonicalize(source).map_err(Error::io("resolve", source))?;
        let mut opened = cordon_host::open::open_regular(&resolved)?;
        let evidence_dir = self.dir().join(EVIDENCE_DIR);
        let incoming = evidence_dir.join(format!(".incoming-{}", uuid::Uuid::now_v7()));
        let (sha256, size) = copy_hashing(&mut opened.file, &incoming)?;
        let name = source
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let st = &opened.stat;
        let details = json!({
            "source_size": st.st_size, "source_mode": format!("{:o}", st.st_mode), "source_uid": st.st_uid,
            "source_gid": st.st_gid, "source_mtime": st.st_mtime, "source_mtime_nsec": st.st_mtime_nsec,
            "source_inode": st.st_ino, "source_noatime": opened.noatime,
        });
        let label = String::from_utf8_lossy(&name).into_owned();
        let dir = self.dir().to_owned();
        let result = self.transaction(|tx| {
            let next_id: i64 = tx
                .query_row("SELECT coalesce(max(id), 0) + 1 FROM evidence", [], |r| r.get(0))
                .map_err(Error::sql("allocate evidence id"))?;
            let file_name = format!("E{next_id:04}-{}", safe_name(&name));
            let rel = format!("{EVIDENCE_DIR}/{file_name}");
            let item = NewItem {
                label,
                kind: "manual".into(),
                path: rel.clone().into_bytes(),
                note: note.to_vec(),
                source: resolved.as_os_str().as_bytes().to_vec(),
                source_host: cordon_host::identity::hostname(),
                method: format!(
                    "cordon {} evidence add (copied, SHA-256 while streaming)",
                    env!("CARGO_PKG_VERSION")
                ),
                action: "received".into(),
                files: vec![FileRecord {
                    path: rel.clone().into_bytes(),
                    sha256: sha256.clone(),
                    size,
                }],
                details: details.clone(),
            };
            let registered = register_in(tx, clock, actor, &item)?;
            std::fs::rename(&incoming, dir.join(&rel))
                .map_err(Error::io("move into place", dir.join(&rel)))?;
            Ok(registered)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&incoming);
        }
        result
    }

    /// Every item, oldest first.
    pub fn evidence_items(&self) -> Result<Vec<EvidenceItem>, Error> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_ITEMS} ORDER BY id"))
            .map_err(Error::sql("list evidence"))?;
        let rows = stmt
            .query_map([], item_from_row)
            .map_err(Error::sql("list evidence"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("read evidence"))
    }

    /// The files of one item.
    pub fn evidence_files(&self, id: i64) -> Result<Vec<FileRecord>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, sha256, size FROM evidence_file WHERE evidence_id = ?1 ORDER BY path")
            .map_err(Error::sql("list evidence files"))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(FileRecord {
                    path: bytes_col(r, 0)?,
                    sha256: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })
            .map_err(Error::sql("list evidence files"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("read evidence file"))
    }

    /// The custody chain of one item, oldest first.
    pub fn custody(&self, id: i64) -> Result<Vec<CustodyEvent>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT j.seq, j.time, j.actor, c.action, j.text FROM custody c JOIN journal j ON j.seq = c.journal_seq
                 WHERE c.evidence_id = ?1 ORDER BY j.seq",
            )
            .map_err(Error::sql("read custody"))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(CustodyEvent {
                    seq: r.get(0)?,
                    time: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    text: bytes_col(r, 4)?,
                })
            })
            .map_err(Error::sql("read custody"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("read custody"))
    }

    /// Journals the outcome of `case verify`, with a `verified` custody event for every item whose
    /// files all matched their recorded SHA-256.
    pub fn record_verification(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        text: &str,
        mut data: Map<String, Value>,
        intact: &[i64],
    ) -> Result<(), Error> {
        self.transaction(|tx| {
            let custody: Vec<Value> = intact
                .iter()
                .map(|id| json!({"evidence_id": id, "action": "verified"}))
                .collect();
            data.insert("custody".into(), Value::Array(custody));
            let entry = journal::append(
                tx,
                &format_utc(clock.now()),
                &actor.label(),
                "case.verify",
                text.as_bytes(),
                &Value::Object(data),
            )?;
            for id in intact {
                tx.execute(
                    "INSERT INTO custody (evidence_id, journal_seq, action) VALUES (?1, ?2, 'verified')",
                    params![id, entry.seq],
                )
                .map_err(Error::sql("record custody"))?;
            }
            Ok(())
        })
    }
}

fn register_in(
    tx: &Transaction<'_>,
    clock: &dyn Clock,
    actor: &Actor,
    item: &NewItem,
) -> Result<EvidenceItem, Error> {
    let now = format_utc(clock.now());
    let id: i64 = tx
        .query_row("SELECT coalesce(max(id), 0) + 1 FROM evidence", [], |r| r.get(0))
        .map_err(Error::sql("allocate evidence id"))?;
    let mut text = format!("E{id:04} {}: {}", item.action, item.label).into_bytes();
    if !item.note.is_empty() {
        text.extend_from_slice(b" \xe2\x80\x94 ");
        text.extend_from_slice(&item.note);
    }
    let entry = journal::append(
        tx,
        &now,
        &actor.label(),
        "evidence.add",
        &text,
        &registration_data(id, item),
    )?;
    tx.execute(
        "INSERT INTO evidence (id, label, kind, path, note, source, source_host, acquired_at, acquired_by, method, journal_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![id, item.label, item.kind, item.path, item.note, item.source, item.source_host, now, actor.label(), item.method, entry.seq],
    )
    .map_err(Error::sql("register evidence"))?;
    let mut stmt = tx
        .prepare("INSERT INTO evidence_file (evidence_id, path, sha256, size) VALUES (?1, ?2, ?3, ?4)")
        .map_err(Error::sql("register evidence files"))?;
    for f in &item.files {
        stmt.execute(params![id, f.path, f.sha256, f.size as i64])
            .map_err(Error::sql("register evidence file"))?;
    }
    tx.execute(
        "INSERT INTO custody (evidence_id, journal_seq, action) VALUES (?1, ?2, ?3)",
        params![id, entry.seq, item.action],
    )
    .map_err(Error::sql("record custody"))?;
    Ok(EvidenceItem {
        id,
        label: item.label.clone(),
        kind: item.kind.clone(),
        path: item.path.clone(),
        note: item.note.clone(),
        source: item.source.clone(),
        source_host: item.source_host.clone(),
        acquired_at: now,
        acquired_by: actor.label(),
        method: item.method.clone(),
        journal_seq: entry.seq,
    })
}

/// Absolute path of a case-relative path.
pub fn case_path(case_dir: &Path, rel: &[u8]) -> PathBuf {
    case_dir.join(std::ffi::OsStr::from_bytes(rel))
}
