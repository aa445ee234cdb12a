//! The examined system's bytes and paths, handled the same way by every containment action.
//!
//! Names, paths and command lines read from a host may be any bytes, an attacker's included. They
//! become text only through these functions: escaped for a terminal when shown, or kept as lossy
//! text plus a `_b64` companion when recorded (FORMATS.md), so that a record gives back the exact
//! bytes. A path of the examined system is joined under its root here, and `cordon_host`'s read
//! errors become this crate's. [`account`](crate::account), [`quarantine`](crate::quarantine) and
//! [`freeze`](crate::freeze) all need these, so they live in none of the three.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cordon_core::escape_terminal;

use crate::Error;

/// Bytes of the examined system, escaped for a terminal.
pub(crate) fn show(bytes: &[u8]) -> String {
    escape_terminal(bytes)
}

/// A local path, escaped for a terminal.
pub(crate) fn show_local(p: &Path) -> String {
    escape_terminal(p.as_os_str().as_bytes())
}

/// Lossy text, plus base64 when the bytes are not UTF-8 (the `_b64` companion of FORMATS.md).
pub(crate) fn raw_text(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

/// [`raw_text`] of bytes that may be absent: both halves `None` when they are.
pub(crate) fn raw_text_opt(bytes: Option<&[u8]>) -> (Option<String>, Option<String>) {
    match bytes {
        Some(b) => {
            let (t, b64) = raw_text(b);
            (Some(t), b64)
        }
        None => (None, None),
    }
}

/// The bytes behind a [`raw_text`] pair.
pub(crate) fn raw_bytes(text: &str, b64: Option<&str>, what: &str) -> Result<Vec<u8>, Error> {
    match b64 {
        None => Ok(text.as_bytes().to_vec()),
        Some(b) => cordon_core::bytes_json::decode_b64(b)
            .map_err(|e| Error::Unexpected(format!("the record's {what} is not valid base64: {e}"))),
    }
}

/// `root` joined with a path of the examined system.
pub(crate) fn local_path(root: &Path, path: &[u8]) -> PathBuf {
    let mut rel = path;
    while let Some(rest) = rel.strip_prefix(b"/") {
        rel = rest;
    }
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

/// A read error of `cordon_host` as this crate's error.
pub(crate) fn host_error(e: cordon_host::Error) -> Error {
    match e {
        cordon_host::Error::Io { what, path, source } => Error::Io { what, path, source },
        other @ cordon_host::Error::NotRegular { .. } => Error::Refused(other.to_string()),
        other => Error::Unexpected(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn raw_text_round_trips() {
        for b in [&b"plain"[..], b"\xff\xfe\x1b[2J"] {
            let (t, b64) = raw_text(b);
            assert_eq!(raw_bytes(&t, b64.as_deref(), "x").unwrap(), b);
        }
        assert!(raw_text(b"ok").1.is_none());
    }

    #[test]
    fn joins_paths_under_the_root() {
        assert_eq!(
            local_path(Path::new("/mnt/r"), b"//etc/x"),
            Path::new("/mnt/r/etc/x")
        );
    }
}
