//! The verify pass: the source is read again (same error handling, so the same zero fill) and the
//! image is read back (parts in order, decompressed when zstd); all digests must agree.

use std::io::Read as _;
use std::path::PathBuf;

use crate::engine::{AcquireOptions, Progress, ReadAt, acquire};
use crate::hash::Algorithm;
use crate::{Error, sink};

/// The outcome of a verify pass.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// Digests of the source read again.
    pub source: Vec<(Algorithm, String)>,
    /// Digests of the image read back.
    pub image: Vec<(Algorithm, String)>,
    /// Bytes the image decodes to.
    pub image_bytes: u64,
    /// Bytes unreadable in the source on this pass.
    pub source_bad_bytes: u64,
    /// True when source, image and acquisition digests all agree and the sizes match.
    pub matches: bool,
}

/// Hashes the image files as the raw byte stream they encode.
pub fn hash_image(
    files: &[PathBuf],
    zstd: bool,
    algorithms: &[Algorithm],
) -> Result<(Vec<(Algorithm, String)>, u64), Error> {
    let mut reader = sink::open_image(files, zstd)?;
    let mut hashers: Vec<_> = algorithms.iter().map(|a| (*a, a.hasher())).collect();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let first = files.first().cloned().unwrap_or_default();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read back", &first)(e)),
        };
        let data = buf.get(..n).unwrap_or_default();
        for (_, h) in &mut hashers {
            h.update(data);
        }
        total += n as u64;
    }
    Ok((hashers.into_iter().map(|(a, h)| (a, h.finish())).collect(), total))
}

/// Re-reads the source and the image and compares both with the acquisition's digests.
pub fn verify<R: ReadAt + ?Sized>(
    src: &R,
    opts: &AcquireOptions,
    acquired: &[(Algorithm, String)],
    files: &[PathBuf],
    zstd: bool,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<Verification, Error> {
    let again = acquire(src, opts, None, progress)?;
    let (image, image_bytes) = hash_image(files, zstd, &opts.algorithms)?;
    let matches = again.hashes == acquired && image == acquired && image_bytes == opts.size;
    Ok(Verification {
        source: again.hashes,
        image,
        image_bytes,
        source_bad_bytes: again.bad_bytes,
        matches,
    })
}
