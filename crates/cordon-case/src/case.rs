//! Creating, finding and opening a case, and appending to its journal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cordon_core::{Clock, format_utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};

use crate::journal::{self, Entry, EntryFilter, SELECT_ENTRIES, entry_from_row};
use crate::{Error, placement, schema, tasks};

/// File name of the database inside a case directory.
pub const DB_FILE: &str = "case.sqlite";
/// Where evidence files live, relative to the case directory.
pub const EVIDENCE_DIR: &str = "evidence";
/// Where reports are written, relative to the case directory.
pub const REPORTS_DIR: &str = "reports";

/// Who acts on the case: the operating-system account and host running cordon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Login name (from the local passwd file) or `uid N`.
    pub user: String,
    /// Real user id.
    pub uid: u32,
    /// Host name.
    pub host: String,
}

impl Actor {
    /// The form stored in the journal: `user@host`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// What `case init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Short title ("web01 compromise").
    pub title: String,
    /// The incident handler's name.
    pub handler: String,
    /// Root of the suspect system whose storage the case must not be on.
    pub suspect_root: PathBuf,
    /// Create the case even on the suspect's storage (journaled as a warning).
    pub allow_suspect_disk: bool,
}

/// The case's identity, as recorded at `case init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInfo {
    /// UUID (v7) of the case.
    pub id: String,
    /// Title.
    pub title: String,
    /// Incident handler.
    pub handler: String,
    /// When the case was opened (canonical UTC).
    pub created_at: String,
}

/// An open case.
#[derive(Debug)]
pub struct Case {
    dir: PathBuf,
    pub(crate) conn: Connection,
}

impl Case {
    /// Creates a case directory with its database, seeds the playbook and journals the creation.
    pub fn init(dir: &Path, opts: &InitOptions, clock: &dyn Clock, actor: &Actor) -> Result<Case, Error> {
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyACase { path: dir.to_owned() });
        }
        let placement_warning = match placement::check(dir, &opts.suspect_root)? {
            None => None,
            Some(why) if opts.allow_suspect_disk => Some(why),
            Some(why) => {
                return Err(Error::OnSuspectDisk {
                    case_dir: dir.to_owned(),
                    suspect_root: opts.suspect_root.clone(),
                    why,
                });
            }
        };
        for sub in [EVIDENCE_DIR, REPORTS_DIR] {
            std::fs::create_dir_all(dir.join(sub)).map_err(Error::io("create directory", dir.join(sub)))?;
        }
        let path = dir.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(Error::sql("create case.sqlite"))?;
        let mut case = Case {
            dir: dir.to_owned(),
            conn,
        };
        case.configure()?;
        schema::migrate(&mut case.conn)?;

        let id = uuid::Uuid::now_v7().to_string();
        let suspect_root = opts.suspect_root.to_string_lossy().into_owned();
        case.transaction(|tx| {
            let now = format_utc(clock.now());
            for (key, value) in [
                ("case_id", id.as_str()),
                ("title", opts.title.as_str()),
                ("handler", opts.handler.as_str()),
                ("created_at", now.as_str()),
                ("created_by", actor.label().as_str()),
                ("suspect_root", suspect_root.as_str()),
                ("cordon_version", env!("CARGO_PKG_VERSION")),
            ] {
                tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![key, value])
                    .map_err(Error::sql("write case metadata"))?;
            }
            let entry = journal::append(
                tx,
                &now,
                &actor.label(),
                "case.init",
                format!("case opened: {}", opts.title).as_bytes(),
                &json!({"case_id": id, "title": opts.title, "handler": opts.handler,
                        "suspect_root": suspect_root, "cordon_version": env!("CARGO_PKG_VERSION")}),
            )?;
            tasks::seed(tx, &now, entry.seq)?;
            if let Some(why) = &placement_warning {
                journal::append(
                    tx,
                    &now,
                    &actor.label(),
                    "warning",
                    format!(
                        "case created on the suspect system's own storage ({why}) because --allow-suspect-disk \
                         was given: deleted-file evidence on that disk may have been overwritten"
                    )
                    .as_bytes(),
                    &json!({"check": "case.placement", "why": why, "overridden": true}),
                )?;
            }
            Ok(())
        })?;
        Ok(case)
    }

    /// Opens an existing case directory.
    pub fn open(dir: &Path) -> Result<Case, Error> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(Error::NotACase { path: dir.to_owned() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(Error::sql("open case.sqlite"))?;
        let mut case = Case {
            dir: dir.to_owned(),
            conn,
        };
        case.configure()?;
        let app_id: i64 = case
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(Error::sql("read application id"))?;
        if app_id != schema::APPLICATION_ID {
            return Err(Error::NotACase { path: dir.to_owned() });
        }
        schema::migrate(&mut case.conn)?;
        Ok(case)
    }

    fn configure(&self) -> Result<(), Error> {
        self.conn
            .busy_timeout(Duration::from_secs(60))
            .map_err(Error::sql("set busy timeout"))?;
        // A rollback journal keeps the case one self-contained file at rest (no -wal beside it to lose
        // when the directory is copied); FULL makes every committed entry survive a power cut.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                 PRAGMA trusted_schema = OFF;",
            )
            .map_err(Error::sql("configure connection"))?;
        Ok(())
    }

    /// The case directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` in an IMMEDIATE transaction (the write lock is taken up front, so concurrent cordon
    /// processes queue instead of deadlocking) and commits it.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::sql("begin transaction"))?;
        let out = f(&tx)?;
        tx.commit().map_err(Error::sql("commit"))?;
        Ok(out)
    }

    /// Appends one entry in its own transaction. The time is read after the write lock is held, so
    /// entry times never go backwards along the chain because of a queued writer.
    pub fn append(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        kind: &str,
        text: &[u8],
        data: &Value,
    ) -> Result<Entry, Error> {
        self.transaction(|tx| journal::append(tx, &format_utc(clock.now()), &actor.label(), kind, text, data))
    }

    /// Appends an entry inside a transaction the caller holds (for changes that journal themselves).
    pub fn append_in(
        tx: &Transaction<'_>,
        clock: &dyn Clock,
        actor: &Actor,
        kind: &str,
        text: &[u8],
        data: &Value,
    ) -> Result<Entry, Error> {
        journal::append(tx, &format_utc(clock.now()), &actor.label(), kind, text, data)
    }

    /// The case's identity.
    pub fn info(&self) -> Result<CaseInfo, Error> {
        Ok(CaseInfo {
            id: self.meta("case_id")?.unwrap_or_default(),
            title: self.meta("title")?.unwrap_or_default(),
            handler: self.meta("handler")?.unwrap_or_default(),
            created_at: self.meta("created_at")?.unwrap_or_default(),
        })
    }

    /// One value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(Error::sql("read case metadata"))
    }

    /// Calls `f` for every entry matching `filter`, in chain order, without loading them all.
    pub fn for_each_entry(
        &self,
        filter: &EntryFilter,
        mut f: impl FnMut(Entry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut sql = format!("{SELECT_ENTRIES} WHERE 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(since) = &filter.since {
            args.push(since.clone());
            sql.push_str(&format!(" AND time >= ?{}", args.len()));
        }
        if let Some(kind) = &filter.kind {
            args.push(kind.clone());
            let n = args.len();
            sql.push_str(&format!(
                " AND (kind = ?{n} OR substr(kind, 1, length(?{n}) + 1) = ?{n} || '.')"
            ));
        }
        sql.push_str(" ORDER BY seq");
        let mut stmt = self.conn.prepare(&sql).map_err(Error::sql("query journal"))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(Error::sql("query journal"))?;
        while let Some(row) = rows.next().map_err(Error::sql("read journal"))? {
            f(entry_from_row(row).map_err(Error::sql("read journal entry"))?)?;
        }
        Ok(())
    }

    /// The last entry, if any.
    pub fn head(&self) -> Result<Option<Entry>, Error> {
        self.conn
            .query_row(
                &format!("{SELECT_ENTRIES} ORDER BY seq DESC LIMIT 1"),
                [],
                entry_from_row,
            )
            .optional()
            .map_err(Error::sql("read journal head"))
    }

    /// The most recent entry whose kind is one of `kinds`.
    pub fn last_of_kinds(&self, kinds: &[&str]) -> Result<Option<Entry>, Error> {
        let placeholders = (1..=kinds.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!("{SELECT_ENTRIES} WHERE kind IN ({placeholders}) ORDER BY seq DESC LIMIT 1");
        self.conn
            .query_row(&sql, rusqlite::params_from_iter(kinds.iter()), entry_from_row)
            .optional()
            .map_err(Error::sql("query journal"))
    }
}

/// Finds the case directory: the explicit one (from `--case` or `CORDON_CASE`), else the current
/// directory or the nearest parent holding `case.sqlite`.
pub fn find_case_dir(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf, Error> {
    if let Some(dir) = explicit {
        return if dir.join(DB_FILE).is_file() {
            Ok(dir.to_owned())
        } else {
            Err(Error::NotACase { path: dir.to_owned() })
        };
    }
    cwd.ancestors()
        .find(|d| d.join(DB_FILE).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::NotACase { path: cwd.to_owned() })
}
