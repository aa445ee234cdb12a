//! Streaming digests of files of the examined system, with a check that the file did not change
//! while it was read.
//!
//! A file is hashed through one open descriptor: `fstat` before the first read and after the last
//! one; a different size or mtime means someone wrote to it meanwhile and the digest describes
//! no state the file was ever in. Such a result is marked `unstable` instead of being trusted.

use std::io::Read;

use md5::Digest as _;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// MD5: what dpkg records (`*.md5sums`, conffiles). Only for comparing with those.
    Md5,
    /// SHA-1 (IOC lists).
    Sha1,
    /// SHA-256.
    Sha256,
    /// BLAKE3.
    Blake3,
}

impl Algo {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Blake3 => "blake3",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Algo> {
        [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Blake3]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// Several digests computed in one pass.
#[derive(Default, Clone)]
pub struct MultiHasher {
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    blake3: Option<Box<blake3::Hasher>>,
}

/// The digests of one file (hex), those that were asked for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Digests {
    /// MD5.
    pub md5: Option<String>,
    /// SHA-1.
    pub sha1: Option<String>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// BLAKE3.
    pub blake3: Option<String>,
}

impl Digests {
    /// The digest for `algo`, when computed.
    pub fn get(&self, algo: Algo) -> Option<&str> {
        match algo {
            Algo::Md5 => self.md5.as_deref(),
            Algo::Sha1 => self.sha1.as_deref(),
            Algo::Sha256 => self.sha256.as_deref(),
            Algo::Blake3 => self.blake3.as_deref(),
        }
    }
}

impl MultiHasher {
    /// A hasher computing the listed algorithms.
    pub fn new(algos: &[Algo]) -> MultiHasher {
        let mut h = MultiHasher::default();
        for a in algos {
            match a {
                Algo::Md5 => h.md5 = Some(md5::Md5::new()),
                Algo::Sha1 => h.sha1 = Some(sha1::Sha1::new()),
                Algo::Sha256 => h.sha256 = Some(sha2::Sha256::new()),
                Algo::Blake3 => h.blake3 = Some(Box::new(blake3::Hasher::new())),
            }
        }
        h
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.blake3 {
            h.update(data);
        }
    }

    /// The digests.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.map(|h| hex::encode(h.finalize())),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
            sha256: self.sha256.map(|h| hex::encode(h.finalize())),
            blake3: self.blake3.map(|h| h.finalize().to_hex().to_string()),
        }
    }
}

/// Size of the read buffer (large reads let BLAKE3 use its wide SIMD paths).
pub const BUF_SIZE: usize = 256 * 1024;

/// What hashing one open file gave.
#[derive(Debug, Clone)]
pub struct FileDigest {
    /// The digests.
    pub digests: Digests,
    /// Bytes read.
    pub bytes: u64,
    /// True when size or mtime changed between the first and the last read.
    pub unstable: bool,
}

/// Size and mtime: what a write changes. (Not ctime: a hard link or chmod made meanwhile changes
/// it without changing the content.)
fn stamp(st: &rustix::fs::Stat) -> (i64, i64, i64) {
    (st.st_size, st.st_mtime, i64::from(st.st_mtime_nsec as u32))
}

/// Hashes an open regular file from its current offset to the end, with `buf` as scratch space.
pub fn hash_file(file: &mut std::fs::File, algos: &[Algo], buf: &mut Vec<u8>) -> std::io::Result<FileDigest> {
    let before = rustix::fs::fstat(&*file).map_err(std::io::Error::from)?;
    let mut h = MultiHasher::new(algos);
    if buf.len() < BUF_SIZE {
        buf.resize(BUF_SIZE, 0);
    }
    let mut bytes = 0u64;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        h.update(buf.get(..n).unwrap_or_default());
    }
    let after = rustix::fs::fstat(&*file).map_err(std::io::Error::from)?;
    let unstable = stamp(&before) != stamp(&after) || bytes != u64::try_from(after.st_size).unwrap_or(0);
    Ok(FileDigest {
        digests: h.finish(),
        bytes,
        unstable,
    })
}

/// Hashes everything a reader yields (a `.deb` member), returning the digests and the byte count.
pub fn hash_reader(
    reader: &mut dyn Read,
    algos: &[Algo],
    buf: &mut Vec<u8>,
) -> std::io::Result<(Digests, u64)> {
    let mut h = MultiHasher::new(algos);
    if buf.len() < BUF_SIZE {
        buf.resize(BUF_SIZE, 0);
    }
    let mut bytes = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok((h.finish(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let mut h = MultiHasher::new(&[Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Blake3]);
        h.update(b"abc");
        let d = h.finish();
        assert_eq!(d.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            d.sha1.as_deref(),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            d.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            d.blake3.as_deref(),
            Some("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
        );
    }
}
