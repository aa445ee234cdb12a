//! The database schema and its migrations, keyed by SQLite's `user_version`.
//!
//! Tables that hold state (evidence, custody, tasks) are indexes over what the journal records: each
//! row names the journal entry that created it, and `case verify` checks them against it.

use rusqlite::Connection;

use crate::Error;

/// `PRAGMA application_id` of a cordon case ("cord").
pub const APPLICATION_ID: i64 = 0x636f_7264;

/// One migration a schema version; index 0 brings an empty file to version 1. Version 2 adds findings
/// and timeline events; version 3 the human-written sections of the report.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE journal (
    seq    INTEGER PRIMARY KEY,
    time   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    text   BLOB NOT NULL,
    data   TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
);
CREATE INDEX journal_kind ON journal(kind);
CREATE INDEX journal_time ON journal(time);
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    path        TEXT NOT NULL,
    note        BLOB NOT NULL,
    source      BLOB NOT NULL,
    source_host TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    acquired_by TEXT NOT NULL,
    method      TEXT NOT NULL,
    journal_seq INTEGER NOT NULL REFERENCES journal(seq)
);
CREATE TABLE evidence_file (
    evidence_id INTEGER NOT NULL REFERENCES evidence(id),
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (evidence_id, path)
);
CREATE TABLE custody (
    evidence_id INTEGER NOT NULL REFERENCES evidence(id),
    journal_seq INTEGER NOT NULL REFERENCES journal(seq),
    action      TEXT NOT NULL,
    PRIMARY KEY (evidence_id, journal_seq)
);
CREATE TABLE task (
    id          INTEGER PRIMARY KEY,
    key         TEXT UNIQUE,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    hint        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    done_at     TEXT,
    done_by     TEXT,
    journal_seq INTEGER REFERENCES journal(seq)
);
"#,
    r#"
CREATE TABLE finding (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    check_id      TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    target        TEXT NOT NULL,
    json          TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    times_seen    INTEGER NOT NULL,
    journal_seq   INTEGER NOT NULL REFERENCES journal(seq)
);
CREATE INDEX finding_severity ON finding(severity_rank);
CREATE TABLE event (
    id          INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    json        TEXT NOT NULL,
    journal_seq INTEGER NOT NULL REFERENCES journal(seq)
);
CREATE INDEX event_time ON event(time);
"#,
    r#"
CREATE TABLE report_section (
    name        TEXT PRIMARY KEY,
    text        BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    journal_seq INTEGER NOT NULL REFERENCES journal(seq)
);
"#,
];

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest`], each step in its own transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(Error::sql("read schema version"))?;
    if current > latest() {
        return Err(Error::Schema {
            found: current,
            known: latest(),
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(Error::sql("begin migration"))?;
        tx.execute_batch(sql).map_err(Error::sql("migrate schema"))?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(Error::sql("set schema version"))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(Error::sql("set application id"))?;
        tx.commit().map_err(Error::sql("commit migration"))?;
    }
    Ok(())
}
