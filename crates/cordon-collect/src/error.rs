//! The one error type of a collection. Only problems with the *destination* (or a bad request) stop
//! a collection; an unreadable file or a vanished process of the examined system is recorded in the
//! bundle (`errors.jsonl`, `collection.log`) and the collection goes on.

use std::path::PathBuf;

/// Why a collection stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the bundle failed (disk full, read-only, removed). Files listed in `manifest.sha256`
    /// up to this point are complete and still verify.
    #[error("writing {path} in the evidence bundle: {source}")]
    Write {
        /// The bundle file (relative to the bundle directory) being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The output directory cannot be used.
    #[error("output directory {path}: {what}")]
    Destination {
        /// The output directory.
        path: PathBuf,
        /// What is wrong with it.
        what: &'static str,
    },
    /// The output directory lies on storage of the examined system.
    #[error("refusing to write evidence to {path}: {why}; collect to separate media")]
    SuspectStorage {
        /// The output directory.
        path: PathBuf,
        /// How the two share storage.
        why: String,
    },
    /// The examined system's root could not be opened at all.
    #[error("cannot open the examined system: {0}")]
    Target(#[from] cordon_host::Error),
    /// A tier name that is not T0–T7.
    #[error("unknown tier {name:?}; expected T0, T1, T3, T4, T5, T6 or T7")]
    UnknownTier {
        /// What was given.
        name: String,
    },
}

impl Error {
    /// A [`Error::Write`].
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// True when the destination ran out of space.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Write { source, .. } if source.kind() == std::io::ErrorKind::StorageFull
            || source.raw_os_error() == Some(28))
    }
}
