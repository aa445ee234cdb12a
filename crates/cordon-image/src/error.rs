//! The crate's one error type.

use std::path::PathBuf;

/// What went wrong, with the path or value involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on a path failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the image failed (destination full, I/O error): the image is incomplete.
    #[error("writing the image to {} failed after {written} bytes: {source}", path.display())]
    Destination {
        /// The output file being written.
        path: PathBuf,
        /// Bytes of image data handed to the writer before the failure.
        written: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The source is not something that can be imaged.
    #[error("{} is a {kind}, not a block device or regular file", path.display())]
    NotImageable {
        /// The path given.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The destination is on the storage being imaged.
    #[error("refusing to write the image of {} to {}: {why}", source_path.display(), dest.display())]
    SameStorage {
        /// The source.
        source_path: PathBuf,
        /// The destination.
        dest: PathBuf,
        /// Why they share storage.
        why: String,
    },
    /// An output file already exists (nothing is ever overwritten).
    #[error("{} already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// A value given by the user does not parse.
    #[error("invalid {what} {value:?}: {why}")]
    Invalid {
        /// What was being parsed.
        what: &'static str,
        /// The value.
        value: String,
        /// Why it was rejected.
        why: &'static str,
    },
    /// Physical memory could not be read from any source; each attempt says why.
    #[error("physical memory cannot be read on this system:\n{}", reasons.join("\n"))]
    MemoryRefused {
        /// One line per source tried.
        reasons: Vec<String>,
    },
    /// A structure read from the system (ELF header of /proc/kcore, /proc/iomem) is malformed.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was parsed.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A safe open or mount-table read from cordon-host failed.
    #[error(transparent)]
    Host(#[from] cordon_host::Error),
    /// The acquisition was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A worker thread stopped unexpectedly.
    #[error("internal worker {0} stopped unexpectedly")]
    Worker(&'static str),
}

impl Error {
    /// A closure that wraps an I/O error for `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }
}
