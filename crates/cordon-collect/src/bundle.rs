//! The evidence bundle on the destination: every file is hashed while it is written, and listed in
//! `manifest.sha256` as soon as it is complete, so that whatever happens later (disk full, power
//! loss, a crash) the manifest names only complete files and `sha256sum -c` passes on it.
//!
//! Paths inside the bundle are created component by component relative to directory descriptors
//! (`mkdirat`/`openat`), so copies of files with very long paths or hostile names (newlines,
//! escapes, invalid UTF-8) land exactly under their raw names. Names in the manifest follow GNU
//! `sha256sum`: a line whose name holds a backslash, newline or carriage return starts with `\` and
//! has those escaped.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};

use crate::Error;

/// Name of the manifest.
pub const MANIFEST: &str = "manifest.sha256";

/// One file written into the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path relative to the bundle directory (raw bytes as an OS path).
    pub path: PathBuf,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The bundle being written.
pub struct Bundle {
    dir: PathBuf,
    dir_fd: OwnedFd,
    manifest: File,
    files: Vec<WrittenFile>,
    bytes: u64,
    parent_cache: Option<(Vec<u8>, OwnedFd)>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .finish()
    }
}

fn io(e: Errno) -> std::io::Error {
    std::io::Error::from(e)
}

impl Bundle {
    /// Creates (or opens, when empty) the bundle directory and its manifest.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let mut entries = std::fs::read_dir(dir).map_err(|e| Error::write(dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Destination {
                path: dir.to_owned(),
                what: "is not empty",
            });
        }
        let dir_fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::write(dir, io(e)))?;
        let manifest = rustix::fs::openat(
            &dir_fd,
            MANIFEST,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::APPEND | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| Error::write(MANIFEST, io(e)))?;
        Ok(Bundle {
            dir: dir.to_owned(),
            dir_fd,
            manifest: File::from(manifest),
            files: Vec::new(),
            bytes: 0,
            parent_cache: None,
        })
    }

    /// Files completed so far.
    pub fn files(&self) -> &[WrittenFile] {
        &self.files
    }

    /// Opens the parent directory of `rel` (creating missing directories) and returns it with the
    /// final name.
    fn parent_of(&mut self, rel: &[u8]) -> Result<(OwnedFd, CString), Error> {
        let display = || PathBuf::from(OsStr::from_bytes(rel));
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (
                rel.get(..i).unwrap_or_default(),
                rel.get(i + 1..).unwrap_or_default(),
            ),
            None => (&b""[..], rel),
        };
        let name = CString::new(name).map_err(|_| Error::Destination {
            path: display(),
            what: "name holds a NUL byte",
        })?;
        if let Some((cached, fd)) = &self.parent_cache
            && cached == parent
        {
            let dup = rustix::io::dup(fd).map_err(|e| Error::write(display(), io(e)))?;
            return Ok((dup, name));
        }
        let mut cur = rustix::io::dup(&self.dir_fd).map_err(|e| Error::write(display(), io(e)))?;
        for comp in parent.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            match rustix::fs::mkdirat(&cur, comp, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(Error::write(display(), io(e))),
            }
            cur = rustix::fs::openat(
                &cur,
                comp,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::write(display(), io(e)))?;
        }
        let dup = rustix::io::dup(&cur).map_err(|e| Error::write(display(), io(e)))?;
        self.parent_cache = Some((parent.to_vec(), cur));
        Ok((dup, name))
    }

    /// Starts a new file at `rel` (relative to the bundle; parents are created).
    pub fn create_file(&mut self, rel: &[u8]) -> Result<BundleFile, Error> {
        let (parent, name) = self.parent_of(rel)?;
        let fd = rustix::fs::openat(
            &parent,
            name.as_c_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| Error::write(PathBuf::from(OsStr::from_bytes(rel)), io(e)))?;
        Ok(BundleFile {
            rel: rel.to_vec(),
            parent,
            name,
            out: BufWriter::with_capacity(256 * 1024, File::from(fd)),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Completes a file: flushes it and lists it in the manifest.
    pub fn finish(&mut self, mut file: BundleFile) -> Result<WrittenFile, Error> {
        if let Err(e) = file.out.flush() {
            return Err(file.abandon(e));
        }
        let sha256 = hex::encode(file.hasher.finalize_reset());
        let line = manifest_line(&sha256, &file.rel);
        self.manifest
            .write_all(&line)
            .map_err(|e| Error::write(MANIFEST, e))?;
        let written = WrittenFile {
            path: PathBuf::from(OsStr::from_bytes(&file.rel)),
            sha256,
            size: file.size,
        };
        self.bytes += file.size;
        self.files.push(written.clone());
        Ok(written)
    }

    /// Writes a whole small file at once.
    pub fn write_whole(&mut self, rel: &[u8], bytes: &[u8]) -> Result<WrittenFile, Error> {
        let mut f = self.create_file(rel)?;
        f.write_all(bytes)?;
        self.finish(f)
    }

    /// Flushes the manifest to stable storage.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.manifest.sync_all().map_err(|e| Error::write(MANIFEST, e))
    }

    /// Opens a completed file for reading (the archive step).
    pub fn open_written(&mut self, rel: &[u8]) -> Result<File, Error> {
        let (parent, name) = self.parent_of(rel)?;
        let fd = rustix::fs::openat(
            &parent,
            name.as_c_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::write(PathBuf::from(OsStr::from_bytes(rel)), io(e)))?;
        Ok(File::from(fd))
    }

    /// Replaces everything in the bundle by `archive_name` (already written in the directory): the
    /// loose files are removed and the manifest is rewritten to list only the archive.
    pub fn replace_with_archive(&mut self, archive: WrittenFile) -> Result<(), Error> {
        self.parent_cache = None;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::write(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::write(&self.dir, e))?;
            let name = entry.file_name();
            if name.as_bytes() == archive.path.as_os_str().as_bytes() {
                continue;
            }
            let path = entry.path();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let res = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            res.map_err(|e| Error::write(&path, e))?;
        }
        let manifest = rustix::fs::openat(
            &self.dir_fd,
            MANIFEST,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| Error::write(MANIFEST, io(e)))?;
        self.manifest = File::from(manifest);
        let line = manifest_line(&archive.sha256, archive.path.as_os_str().as_bytes());
        self.manifest
            .write_all(&line)
            .map_err(|e| Error::write(MANIFEST, e))?;
        self.files = vec![archive];
        self.sync()
    }
}

/// A file being written into the bundle, hashed on the way.
pub struct BundleFile {
    rel: Vec<u8>,
    parent: OwnedFd,
    name: CString,
    out: BufWriter<File>,
    hasher: Sha256,
    size: u64,
}

impl std::fmt::Debug for BundleFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleFile").field("size", &self.size).finish()
    }
}

impl BundleFile {
    /// Appends bytes. On failure the partial file is removed (it is not in the manifest anyway).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Err(e) = self.out.write_all(bytes) {
            return Err(self.abandon_ref(e));
        }
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn abandon_ref(&mut self, e: std::io::Error) -> Error {
        let _ = rustix::fs::unlinkat(&self.parent, self.name.as_c_str(), rustix::fs::AtFlags::empty());
        Error::write(PathBuf::from(OsStr::from_bytes(&self.rel)), e)
    }

    fn abandon(mut self, e: std::io::Error) -> Error {
        self.abandon_ref(e)
    }
}

/// One `sha256sum` line (binary-safe; GNU escaping for `\`, newline and carriage return).
pub fn manifest_line(sha256: &str, name: &[u8]) -> Vec<u8> {
    let needs_escape = name.iter().any(|&b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut line = Vec::with_capacity(name.len() + 70);
    if needs_escape {
        line.push(b'\\');
    }
    line.extend_from_slice(sha256.as_bytes());
    line.extend_from_slice(b"  ");
    for &b in name {
        match b {
            b'\\' if needs_escape => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// JSON Lines into one bundle file.
#[derive(Debug)]
pub struct Jsonl {
    file: BundleFile,
    items: u64,
}

impl Jsonl {
    /// Starts `rel`.
    pub fn create(bundle: &mut Bundle, rel: &str) -> Result<Self, Error> {
        Ok(Jsonl {
            file: bundle.create_file(rel.as_bytes())?,
            items: 0,
        })
    }

    /// Writes one object as one line.
    pub fn write(&mut self, value: &serde_json::Value) -> Result<(), Error> {
        let mut line =
            serde_json::to_vec(value).map_err(|e| Error::write("jsonl", std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.items += 1;
        Ok(())
    }

    /// Bytes written.
    pub fn bytes(&self) -> u64 {
        self.file.size()
    }

    /// Completes the file.
    pub fn finish(self, bundle: &mut Bundle) -> Result<WrittenFile, Error> {
        bundle.finish(self.file)
    }
}

impl std::io::Write for BundleFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_follow_gnu_escaping() {
        assert_eq!(manifest_line("ab", b"x/y"), b"ab  x/y\n");
        assert_eq!(manifest_line("ab", b"a\nb\\c"), b"\\ab  a\\nb\\\\c\n");
        assert_eq!(manifest_line("ab", b"\xff"), b"ab  \xff\n");
    }
}
