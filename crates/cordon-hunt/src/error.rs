//! The one error type of the hunt: only what stops a hunt from starting. Everything that fails on
//! one file or one process is a note in the report, never an error.

use std::path::PathBuf;

/// Why a hunt could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root of the examined system cannot be opened.
    #[error("cannot open the root of the examined system {path}: {source}")]
    Root {
        /// The root directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: cordon_host::Error,
    },
    /// A backup cannot be read at all.
    #[error("backup {path}: {why}")]
    Backup {
        /// The backup.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// An allowlist line is malformed.
    #[error("allowlist line {line}: {why}")]
    Allowlist {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}
