//! Where containment keeps what it takes off the host: one directory per applied action inside the
//! case (`<case>/contain/<ID>/`), on the responder's media. Files are copied with SHA-256 computed while
//! streaming and `fsync`ed before the original is changed, so an interrupted action never loses bytes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// A file saved into an action's store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredFile {
    /// Where it came from on the host (or under `--root`).
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

/// Copies `reader` into `store/name` (created exclusively), hashing while streaming, then `fsync`s.
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
    out.sync_all().map_err(|e| Error::io("fsync", &dest, e))?;
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
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}
