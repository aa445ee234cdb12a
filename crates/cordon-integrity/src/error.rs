//! The one error type of integrity checks: every variant names what and where.

use std::path::PathBuf;

/// Why an integrity operation failed as a whole. Problems with single files are not errors: they
/// are counted and reported in the results, and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed on `path`.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "read", "write" …).
        what: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A reading of the examined system failed.
    #[error(transparent)]
    Host(#[from] cordon_host::Error),
    /// A file given as input (baseline, IOC list, rule file, .deb) is malformed.
    #[error("{}: {what}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, with a line number where it has one.
        what: String,
    },
    /// No YARA rule file could be compiled, or none was given.
    #[error("no usable YARA rules: {what}")]
    NoRules {
        /// Why (every rule file's error, one per line).
        what: String,
    },
    /// The target has no dpkg database.
    #[error("{}: no dpkg database (var/lib/dpkg/status) on this system", root.display())]
    NoPackageDb {
        /// The root examined.
        root: PathBuf,
    },
}

impl Error {
    /// An [`Error::Io`].
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
