//! The one error type of host reads: every variant says which path and what was being done.

use std::path::PathBuf;

/// Why a read of the examined system failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed on `path`.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("open", "read", "stat" …).
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a regular file, and reading it could hang or have side effects.
    #[error("{path} is a {kind}, not a regular file; not opened")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead ("FIFO", "socket", "symbolic link" …).
        kind: &'static str,
    },
    /// A file's content could not be parsed.
    #[error("{path}: {what}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
}

impl Error {
    /// An [`Error::Io`] from a rustix errno.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, errno: rustix::io::Errno) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source: errno.into(),
        }
    }

    /// An [`Error::Io`] from a std error.
    pub fn std_io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// True when the OS said "permission denied" (the caller reports a partial result).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
    }
}
