//! Where containment keeps what it takes off the host: one directory per applied action inside the
//! case (`<case>/contain/<ID>/`), on the responder's media. Files are copied with SHA-256 computed while
//! streaming and `fsync`ed before the original is changed, so an interrupted action never loses bytes.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::examined::{raw_bytes, raw_text};

/// A file saved into an action's store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(from = "StoredFileRecord", into = "StoredFileRecord")]
pub struct StoredFile {
    /// Where it came from on the host (or under `--root`): any bytes, recorded as text with an
    /// `original_b64` companion when they are not UTF-8.
    pub original: PathBuf,
    /// Its path inside the store directory (relative to the case directory when recorded by the binary).
    pub stored: PathBuf,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Why it was saved: "shadow backup", "authorized_keys moved aside", "quarantined file".
    pub role: String,
}

/// How a [`StoredFile`] is recorded: a host path is any bytes, which JSON text cannot hold (and
/// serialising such a `PathBuf` fails, after the file was already taken off the host).
#[derive(Serialize, Deserialize)]
struct StoredFileRecord {
    original: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_b64: Option<String>,
    stored: PathBuf,
    sha256: String,
    size: u64,
    role: String,
}

impl From<StoredFile> for StoredFileRecord {
    fn from(f: StoredFile) -> Self {
        let (original, original_b64) = raw_text(f.original.as_os_str().as_bytes());
        StoredFileRecord {
            original,
            original_b64,
            stored: f.stored,
            sha256: f.sha256,
            size: f.size,
            role: f.role,
        }
    }
}

impl From<StoredFileRecord> for StoredFile {
    fn from(r: StoredFileRecord) -> Self {
        let original = raw_bytes(&r.original, r.original_b64.as_deref(), "original path")
            .unwrap_or_else(|_| r.original.clone().into_bytes());
        StoredFile {
            original: PathBuf::from(OsString::from_vec(original)),
            stored: r.stored,
            sha256: r.sha256,
            size: r.size,
            role: r.role,
        }
    }
}

/// Copies `reader` into `store/name` (created exclusively), hashing while streaming, then `fsync`s.
/// A copy that fails part-way is removed: nothing half-written stays in the case.
pub fn save(
    reader: &mut impl Read,
    store: &Path,
    name: &str,
    original: &Path,
    role: &str,
) -> Result<StoredFile, Error> {
    std::fs::create_dir_all(store).map_err(|e| Error::io("create the store directory", store, e))?;
    let dest = store.join(name);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&dest)
        .map_err(|e| Error::io("create", &dest, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let copied = (|| {
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", original, e)),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            out.write_all(chunk).map_err(|e| Error::io("write", &dest, e))?;
            size += n as u64;
        }
        out.sync_all().map_err(|e| Error::io("fsync", &dest, e))
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&dest);
        return Err(e);
    }
    Ok(StoredFile {
        original: original.to_path_buf(),
        stored: dest,
        sha256: hex::encode(hasher.finalize()),
        size,
        role: role.to_string(),
    })
}

/// SHA-256 of a file in the store, to check it before putting it back.
pub fn sha256_of(path: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    sha256_reader(&mut f).map_err(|e| Error::io("read", path, e))
}

/// SHA-256 (hex) of everything `reader` yields, read in 1 MiB chunks.
pub(crate) fn sha256_reader(reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A disk that fails part-way through a copy leaves no half copy in the case.
    #[test]
    fn a_copy_that_fails_half_way_is_not_left_in_the_store() {
        struct Failing(u8);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.0 += 1;
                match (self.0, buf.first_mut()) {
                    (1, Some(b)) => {
                        *b = b'x';
                        Ok(1)
                    }
                    _ => Err(std::io::Error::other("bad sector")),
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("C4");
        let e = save(
            &mut Failing(0),
            &store,
            "001-x",
            Path::new("/x"),
            "quarantined file",
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad sector"), "{e}");
        assert!(!store.join("001-x").exists());
    }

    #[test]
    fn a_host_path_that_is_not_utf8_is_recorded_and_read_back() {
        let f = StoredFile {
            original: PathBuf::from(OsString::from_vec(b"/var/www/\xff\x1b[2J.php".to_vec())),
            stored: PathBuf::from("/case/contain/C3/001-__2J.php"),
            sha256: "00".into(),
            size: 1,
            role: "quarantined file".into(),
        };
        let json = serde_json::to_value(&f).unwrap();
        assert!(json.get("original_b64").is_some(), "{json}");
        assert_eq!(serde_json::from_value::<StoredFile>(json).unwrap(), f);
        let plain = StoredFile {
            original: PathBuf::from("/etc/shadow"),
            ..f
        };
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(json["original"], "/etc/shadow");
        assert!(json.get("original_b64").is_none());
    }
}
