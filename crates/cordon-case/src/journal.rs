//! The append-only, hash-chained journal.
//!
//! Each entry's hash is SHA-256 over a length-prefixed encoding of its fields and the previous
//! entry's hash (`docs/journal.md` is the normative description; [`entry_hash`] implements it).
//! Editing, deleting, inserting or reordering entries breaks the chain; dropping entries from the end
//! is caught by the head recorded in `meta` and, out of band, by a seal (`seal.rs`).

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::Error;

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation tag, the first field of every hash input.
pub const HASH_DOMAIN: &[u8] = b"cordon-journal-v1";

/// One journal entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// UTC time, RFC 3339 with nine fractional digits.
    pub time: String,
    /// Who did it: `user@host`.
    pub actor: String,
    /// What sort of entry (`note`, `command`, `evidence.add` …).
    pub kind: String,
    /// Free text, raw bytes as given.
    pub text: Vec<u8>,
    /// Structured data: a JSON document, kept as the exact text that was hashed.
    pub data: String,
    /// Hash of the previous entry (hex), or [`GENESIS`].
    pub prev: String,
    /// This entry's hash (hex).
    pub hash: String,
}

impl Entry {
    /// The data parsed as JSON (`null` if it does not parse, which `case verify` reports).
    pub fn data_json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// SHA-256 over `HASH_DOMAIN, seq, time, actor, kind, text, data, prev`, each preceded by its length
/// as an 8-byte big-endian integer; `seq` is written in decimal ASCII. Returned as lowercase hex.
pub fn entry_hash(
    seq: i64,
    time: &str,
    actor: &str,
    kind: &str,
    text: &[u8],
    data: &str,
    prev: &str,
) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    for field in [
        HASH_DOMAIN,
        seq.as_bytes(),
        time.as_bytes(),
        actor.as_bytes(),
        kind.as_bytes(),
        text,
        data.as_bytes(),
        prev.as_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    hex::encode(h.finalize())
}

/// Kinds are short machine words: lowercase ASCII letters, digits, `-` and `.`.
pub fn check_kind(kind: &str) -> Result<(), Error> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadKind(kind.to_owned()))
    }
}

/// Appends an entry inside `tx` (which must have been begun IMMEDIATE, so that the read of the head
/// and the insert are atomic with respect to other writers).
pub(crate) fn append(
    tx: &Transaction<'_>,
    time: &str,
    actor: &str,
    kind: &str,
    text: &[u8],
    data: &Value,
) -> Result<Entry, Error> {
    check_kind(kind)?;
    // The head recorded in `meta` is the source of truth, not the last row: if rows were deleted from
    // the end, the next entry still follows the recorded head, so the gap stays visible forever instead
    // of being papered over by a new, valid-looking link.
    let recorded = head_from_meta(tx)?;
    let last_row: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(Error::sql("read journal head"))?;
    if let (Some((head, _)), Some((last, _))) = (&recorded, &last_row)
        && last > head
    {
        return Err(Error::JournalTampered { head: *head });
    }
    let (seq, prev) = match recorded.or(last_row) {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let data = serde_json::to_string(data)?;
    let hash = entry_hash(seq, time, actor, kind, text, &data, &prev);
    tx.execute(
        "INSERT INTO journal (seq, time, actor, kind, text, data, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, time, actor, kind, text, data, prev, hash],
    )
    .map_err(Error::sql("append journal entry"))?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('head_seq', ?1), ('head_hash', ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![seq.to_string(), hash],
    )
    .map_err(Error::sql("record journal head"))?;
    Ok(Entry {
        seq,
        time: time.to_owned(),
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        text: text.to_vec(),
        data,
        prev,
        hash,
    })
}

fn head_from_meta(tx: &Transaction<'_>) -> Result<Option<(i64, String)>, Error> {
    let get = |key: &str| -> Result<Option<String>, Error> {
        tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(Error::sql("read journal head"))
    };
    match (get("head_seq")?, get("head_hash")?) {
        (Some(seq), Some(hash)) => Ok(seq.parse::<i64>().ok().map(|seq| (seq, hash))),
        _ => Ok(None),
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only entries at or after this canonical UTC time.
    pub since: Option<String>,
    /// Only entries of this kind (or of its sub-kinds: `evidence` matches `evidence.add`).
    pub kind: Option<String>,
}

/// Reads one stored row as an [`Entry`], accepting any storage class for `text` (a BLOB normally).
/// Columns of the wrong type are an error, which `case verify` reports as tampering.
pub(crate) fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let text = match r.get_ref(4)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        other => {
            return Err(rusqlite::Error::InvalidColumnType(
                4,
                "text".into(),
                other.data_type(),
            ));
        }
    };
    Ok(Entry {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        text,
        data: r.get(5)?,
        prev: r.get(6)?,
        hash: r.get(7)?,
    })
}

/// The SQL that reads entries in chain order.
pub(crate) const SELECT_ENTRIES: &str = "SELECT seq, time, actor, kind, text, data, prev, hash FROM journal";

/// What is wrong with an entry, checked against the one before it.
pub fn check_link(entry: &Entry, expected_seq: i64, expected_prev: &str) -> Option<String> {
    if entry.seq != expected_seq {
        return Some(if entry.seq > expected_seq {
            format!(
                "entry {expected_seq} is missing (the next stored entry is {})",
                entry.seq
            )
        } else {
            format!("entry {} appears out of order", entry.seq)
        });
    }
    if entry.prev != expected_prev {
        return Some(format!(
            "entry {} does not follow entry {}: its prev is {} but that entry's hash is {}",
            entry.seq,
            expected_seq - 1,
            short(&entry.prev),
            short(expected_prev)
        ));
    }
    let recomputed = entry_hash(
        entry.seq,
        &entry.time,
        &entry.actor,
        &entry.kind,
        &entry.text,
        &entry.data,
        &entry.prev,
    );
    if recomputed != entry.hash {
        return Some(format!(
            "entry {} was altered: its stored hash is {} but its content hashes to {}",
            entry.seq,
            short(&entry.hash),
            short(&recomputed)
        ));
    }
    None
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_documented_encoding() {
        // The same vector is in docs/journal.md; an independent implementation must reproduce it.
        let h = entry_hash(
            1,
            "2026-11-24T22:37:58.123456789Z",
            "root@web01",
            "note",
            b"pulled the cable",
            "{}",
            GENESIS,
        );
        let mut manual = Sha256::new();
        for f in [
            &b"cordon-journal-v1"[..],
            b"1",
            b"2026-11-24T22:37:58.123456789Z",
            b"root@web01",
            b"note",
            b"pulled the cable",
            b"{}",
            GENESIS.as_bytes(),
        ] {
            manual.update((f.len() as u64).to_be_bytes());
            manual.update(f);
        }
        assert_eq!(h, hex::encode(manual.finalize()));
        assert_eq!(
            h,
            "c398ff31f5e7bf4fa5beb529b47dc00b5c33f7a4403e6c709122ad78b515a763"
        );
    }

    #[test]
    fn kinds_are_machine_words() {
        assert!(check_kind("evidence.add").is_ok());
        assert!(check_kind("Note").is_err());
        assert!(check_kind("a b").is_err());
        assert!(check_kind("").is_err());
    }
}
