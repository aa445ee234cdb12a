//! The one error type of the case store.

use std::path::PathBuf;

/// Why a case operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused or failed.
    #[error("case database: {what}: {source}")]
    Sqlite {
        /// What was being done.
        what: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation on the case media failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading a file to register as evidence failed.
    #[error(transparent)]
    Host(#[from] cordon_host::Error),
    /// No case directory where one was expected.
    #[error("{path} is not a cordon case (no case.sqlite); create one with `cordon case init DIR`")]
    NotACase {
        /// The directory.
        path: PathBuf,
    },
    /// `case init` on a directory that already holds a case.
    #[error("{path} already holds a cordon case")]
    AlreadyACase {
        /// The directory.
        path: PathBuf,
    },
    /// The case directory would be on the suspect system's own storage.
    #[error(
        "refusing to create the case in {case_dir}: {why}, the same storage as the suspect system ({suspect_root}). \
         Writing there overwrites unallocated blocks that may still hold deleted files the attacker left \
         behind. Put the case on external media (a USB disk, a network share mounted from a clean host), \
         or pass --allow-suspect-disk if you accept that loss"
    )]
    OnSuspectDisk {
        /// The requested case directory.
        case_dir: PathBuf,
        /// The suspect system's root.
        suspect_root: PathBuf,
        /// What storage they share.
        why: String,
    },
    /// The database is not a case of a schema this cordon knows.
    #[error("case.sqlite has schema version {found}; this cordon knows up to {known}")]
    Schema {
        /// Version in the file.
        found: i64,
        /// Newest version known.
        known: i64,
    },
    /// No task with that id or key.
    #[error("no task {0:?} (see `cordon task list`)")]
    NoSuchTask(String),
    /// The journal holds entries past the head the case recorded: it was changed outside cordon, and
    /// appending would hide that.
    #[error(
        "the journal holds entries after its recorded head (entry {head}): it was changed outside cordon; \
         nothing more is appended — run `cordon case verify` and preserve this case as it is"
    )]
    JournalTampered {
        /// The recorded head.
        head: i64,
    },
    /// A report section name that is not one of `sections::SECTIONS`.
    #[error(
        "no report section {0:?} (summary, scope, impact, root_cause, recovery, lessons, recommendations)"
    )]
    NoSuchSection(String),
    /// A seal line that cannot be read.
    #[error("not a cordon seal line: {0}")]
    BadSeal(String),
    /// A journal kind that is not lowercase words joined by dots.
    #[error("journal kind {0:?} must be lowercase letters, digits, '-' and '.'")]
    BadKind(String),
    /// JSON (de)serialisation of journal data failed.
    #[error("journal data: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub(crate) fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| Error::Sqlite { what, source }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }
}
