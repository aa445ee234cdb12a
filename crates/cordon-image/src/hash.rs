//! The hash algorithms an image can be hashed with.

use md5::Digest as _;

use crate::Error;

/// A supported hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// SHA-256 (the default).
    Sha256,
    /// SHA-1, for courts and tools that still ask for it.
    Sha1,
    /// MD5, for courts and tools that still ask for it.
    Md5,
}

impl Algorithm {
    /// The lowercase name (`sha256`, `sha1`, `md5`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha1 => "sha1",
            Algorithm::Md5 => "md5",
        }
    }

    /// Parses a comma-separated list (`sha256,md5`); duplicates are dropped, order kept.
    pub fn parse_list(s: &str) -> Result<Vec<Algorithm>, Error> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let a = match part.to_ascii_lowercase().replace('-', "").as_str() {
                "sha256" => Algorithm::Sha256,
                "sha1" => Algorithm::Sha1,
                "md5" => Algorithm::Md5,
                _ => {
                    return Err(Error::Invalid {
                        what: "hash algorithm",
                        value: part.to_owned(),
                        why: "use sha256, sha1 or md5",
                    });
                }
            };
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(Error::Invalid {
                what: "hash list",
                value: s.to_owned(),
                why: "name at least one algorithm",
            });
        }
        Ok(out)
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
        }
    }
}

/// A running hash.
#[derive(Debug, Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// MD5.
    Md5(md5::Md5),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }

    /// The lowercase hex digest.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha1(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let mut h = Algorithm::Md5.hasher();
        h.update(b"abc");
        assert_eq!(h.finish(), "900150983cd24fb0d6963f7d28e17f72");
        let mut h = Algorithm::Sha1.hasher();
        h.update(b"abc");
        assert_eq!(h.finish(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let mut h = Algorithm::Sha256.hasher();
        h.update(b"abc");
        assert_eq!(
            h.finish(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(
            Algorithm::parse_list("sha256, MD5,sha256").unwrap(),
            vec![Algorithm::Sha256, Algorithm::Md5]
        );
        assert!(Algorithm::parse_list("crc32").is_err());
        assert!(Algorithm::parse_list(",").is_err());
    }
}
