//! Errors of containment actions. Each says what was being done and leaves nothing half-applied.

use std::path::PathBuf;

/// Why a containment action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is unsafe or invalid; nothing was changed.
    #[error("refused: {0}")]
    Refused(String),
    /// A netlink exchange with nf_tables failed; the kernel applied nothing from that batch.
    #[error("nf_tables: could not {what}: {}", describe_errno(*errno))]
    Netlink {
        /// What was being done.
        what: String,
        /// The kernel's errno, if any.
        errno: Option<i32>,
    },
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Something on the host is not what the plan or the record expected.
    #[error("{0}")]
    Unexpected(String),
}

impl Error {
    /// Wraps an I/O error with the file and the step.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Explains the errnos nf_tables returns in words a sysadmin can act on.
fn describe_errno(errno: Option<i32>) -> String {
    match errno {
        None => "no answer".to_string(),
        Some(1) => "operation not permitted (EPERM): run as root (CAP_NET_ADMIN)".to_string(),
        Some(2) => "no such object (ENOENT)".to_string(),
        Some(17) => "it already exists (EEXIST): `cordon contain status` shows what is in force".to_string(),
        Some(93) | Some(95) | Some(97) => {
            format!(
                "nf_tables is not supported by this kernel (errno {})",
                errno.unwrap_or(0)
            )
        }
        Some(11) => "timed out waiting for the kernel (EAGAIN)".to_string(),
        Some(e) => format!("{} (errno {e})", std::io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_refusals_read_as_advice() {
        let e = Error::Netlink {
            what: "install table inet cordon".into(),
            errno: Some(95),
        };
        assert!(e.to_string().contains("not supported by this kernel"), "{e}");
        let e = Error::Netlink {
            what: "install table inet cordon".into(),
            errno: Some(1),
        };
        assert!(e.to_string().contains("run as root"), "{e}");
        let e = Error::Netlink {
            what: "install table inet cordon".into(),
            errno: Some(17),
        };
        assert!(e.to_string().contains("already exists"), "{e}");
    }
}
