//! The one error type of the timeline crate.

use std::path::PathBuf;

/// Why building a timeline or running the log detections failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the examined system failed.
    #[error(transparent)]
    Host(#[from] cordon_host::Error),
    /// Reading a log's content failed part-way (decompression error, I/O error).
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Walking a directory tree of the examined system failed at its start.
    #[error("walk {path}: {source}")]
    Walk {
        /// The start of the walk (as the examined system writes it).
        path: String,
        /// The errno.
        #[source]
        source: std::io::Error,
    },
    /// Writing an export failed.
    #[error("write {what}: {source}")]
    Write {
        /// What was being written (`jsonl`, `csv`, `bodyfile`).
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A time zone file of the examined system could not be used.
    #[error("time zone {name}: {what}")]
    TimeZone {
        /// The zone name.
        name: String,
        /// What was wrong.
        what: String,
    },
}
