//! Writing the image: raw (`dd`-compatible) or one standard zstd frame, optionally split into
//! numbered parts (`NAME.001`, `NAME.002`, …) that concatenate back to the whole. Files are created
//! with `O_CREAT|O_EXCL` (nothing is ever overwritten), hashed as they are written, and `fsync`ed
//! when closed.
//!
//! The zstd output is one ordinary frame with the content size and a checksum: `zstd -d` (or
//! `cat NAME.zst.* | zstd -d`) restores the raw image; it is not the seekable variant.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::engine::ImageSink;
use crate::hash::{Algorithm, Hasher};

/// How the image is written.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Directory the files are created in (must exist).
    pub dir: PathBuf,
    /// File name of the image (`image.raw`, `image.raw.zst`); parts get `.001`, `.002`, ….
    pub name: String,
    /// Bytes per part (of the written stream, compressed or not).
    pub split: Option<u64>,
    /// zstd compression level, or `None` for raw output.
    pub zstd_level: Option<i32>,
    /// Hash each output file with SHA-256 (not needed for a single raw file whose image SHA-256 is
    /// computed anyway).
    pub hash_outputs: bool,
    /// Source size, recorded in the zstd frame header.
    pub content_size: Option<u64>,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutputFile {
    /// Its path.
    pub path: PathBuf,
    /// Bytes in it.
    pub size: u64,
    /// SHA-256 of its content, when computed.
    pub sha256: Option<String>,
}

/// The part files under a writer.
struct Parts {
    opts: SinkOptions,
    current: Option<(File, PathBuf, Option<Hasher>, u64)>,
    done: Vec<OutputFile>,
}

impl Parts {
    fn part_path(&self) -> PathBuf {
        match self.opts.split {
            Some(_) => self
                .opts
                .dir
                .join(format!("{}.{:03}", self.opts.name, self.done.len() + 1)),
            None => self.opts.dir.join(&self.opts.name),
        }
    }

    fn open_next(&mut self) -> std::io::Result<()> {
        let path = self.part_path();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
            .open(&path)?;
        let hasher = self.opts.hash_outputs.then(|| Algorithm::Sha256.hasher());
        self.current = Some((file, path, hasher, 0));
        Ok(())
    }

    fn close_current(&mut self) -> std::io::Result<()> {
        if let Some((file, path, hasher, size)) = self.current.take() {
            file.sync_all()?;
            self.done.push(OutputFile {
                path,
                size,
                sha256: hasher.map(Hasher::finish),
            });
        }
        Ok(())
    }

    fn current_path(&self) -> PathBuf {
        match &self.current {
            Some((_, p, _, _)) => p.clone(),
            None => self.part_path(),
        }
    }

    fn finish(mut self) -> std::io::Result<Vec<OutputFile>> {
        if self.current.is_none() && self.done.is_empty() {
            self.open_next()?;
        }
        self.close_current()?;
        Ok(self.done)
    }
}

impl Write for Parts {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let (Some(limit), Some((_, _, _, size))) = (self.opts.split, &self.current)
            && *size >= limit
        {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.open_next()?;
        }
        let Some((file, _, hasher, size)) = self.current.as_mut() else {
            return Err(std::io::Error::other("no open part"));
        };
        let room = match self.opts.split {
            Some(limit) => usize::try_from(limit.saturating_sub(*size)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let take = buf.get(..buf.len().min(room)).unwrap_or(buf);
        let n = file.write(take)?;
        let written = take.get(..n).unwrap_or_default();
        if let Some(h) = hasher {
            h.update(written);
        }
        *size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.current {
            Some((f, ..)) => f.flush(),
            None => Ok(()),
        }
    }
}

enum Inner {
    Raw(Parts),
    Zstd(zstd::stream::write::Encoder<'static, Parts>),
}

/// The image writer handed to [`crate::acquire`].
pub struct ImageWriter {
    inner: Inner,
    written: u64,
}

impl ImageWriter {
    /// Prepares the writer; no file is created before the first byte (or [`ImageWriter::finish`]).
    pub fn new(opts: SinkOptions) -> Result<ImageWriter, Error> {
        let first = match opts.split {
            Some(_) => opts.dir.join(format!("{}.001", opts.name)),
            None => opts.dir.join(&opts.name),
        };
        if first.exists() {
            return Err(Error::Exists { path: first });
        }
        if opts.split == Some(0) {
            return Err(Error::Invalid {
                what: "split size",
                value: "0".into(),
                why: "must be greater than zero",
            });
        }
        let level = opts.zstd_level;
        let content_size = opts.content_size;
        let parts = Parts {
            opts,
            current: None,
            done: Vec::new(),
        };
        let inner = match level {
            None => Inner::Raw(parts),
            Some(level) => {
                let mut enc = zstd::stream::write::Encoder::new(parts, level)
                    .map_err(Error::io("start zstd for", &first))?;
                enc.include_checksum(true)
                    .map_err(Error::io("configure zstd for", &first))?;
                enc.include_contentsize(true)
                    .map_err(Error::io("configure zstd for", &first))?;
                enc.set_pledged_src_size(content_size)
                    .map_err(Error::io("configure zstd for", &first))?;
                Inner::Zstd(enc)
            }
        };
        Ok(ImageWriter { inner, written: 0 })
    }

    fn parts(&self) -> &Parts {
        match &self.inner {
            Inner::Raw(p) => p,
            Inner::Zstd(e) => e.get_ref(),
        }
    }

    /// Flushes, closes and `fsync`s every file; returns them in order.
    pub fn finish(self) -> Result<Vec<OutputFile>, Error> {
        let written = self.written;
        let path = self.parts().current_path();
        let fail = |source| Error::Destination {
            path,
            written,
            source,
        };
        match self.inner {
            Inner::Raw(p) => p.finish().map_err(fail),
            Inner::Zstd(e) => e.finish().and_then(Parts::finish).map_err(fail),
        }
    }
}

impl ImageSink for ImageWriter {
    fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
        let r = match &mut self.inner {
            Inner::Raw(p) => p.write_all(data),
            Inner::Zstd(e) => e.write_all(data),
        };
        match r {
            Ok(()) => {
                self.written += data.len() as u64;
                Ok(())
            }
            Err(source) => Err(Error::Destination {
                path: self.parts().current_path(),
                written: self.written,
                source,
            }),
        }
    }
}

/// Reads an image back as the raw byte stream: the parts in order, decompressed when zstd.
pub fn open_image(files: &[PathBuf], zstd: bool) -> Result<Box<dyn std::io::Read>, Error> {
    let mut opened = Vec::new();
    for f in files {
        opened.push(File::open(f).map_err(Error::io("open", f))?);
    }
    let chain: Box<dyn std::io::Read> = Box::new(Concat {
        files: opened.into_iter(),
        current: None,
    });
    if zstd {
        let dec = zstd::stream::read::Decoder::new(chain).map_err(Error::io("decompress", first(files)))?;
        return Ok(Box::new(dec));
    }
    Ok(chain)
}

/// The parts read one after the other.
struct Concat {
    files: std::vec::IntoIter<File>,
    current: Option<File>,
}

impl std::io::Read for Concat {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.current.is_none() {
                match self.files.next() {
                    Some(f) => self.current = Some(f),
                    None => return Ok(0),
                }
            }
            if let Some(f) = &mut self.current {
                let n = f.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
            }
            self.current = None;
        }
    }
}

fn first(files: &[PathBuf]) -> &Path {
    files.first().map(PathBuf::as_path).unwrap_or(Path::new(""))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::io::Read as _;

    use super::*;

    fn opts(dir: &Path, name: &str, split: Option<u64>, zstd: Option<i32>) -> SinkOptions {
        SinkOptions {
            dir: dir.to_owned(),
            name: name.into(),
            split,
            zstd_level: zstd,
            hash_outputs: true,
            content_size: None,
        }
    }

    #[test]
    fn split_parts_concatenate_to_the_stream() {
        let t = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        let mut w = ImageWriter::new(opts(t.path(), "img.raw", Some(3000), None)).unwrap();
        for c in data.chunks(777) {
            w.write_all(c).unwrap();
        }
        let files = w.finish().unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(
            files.iter().map(|f| f.size).collect::<Vec<_>>(),
            [3000, 3000, 3000, 1000]
        );
        assert!(files[0].path.ends_with("img.raw.001") && files[3].path.ends_with("img.raw.004"));
        let mut back = Vec::new();
        let paths: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        open_image(&paths, false).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        let mut h = Algorithm::Sha256.hasher();
        h.update(&data[3000..6000]);
        assert_eq!(files[1].sha256.as_deref(), Some(h.finish().as_str()));
        // Never overwrites.
        assert!(matches!(
            ImageWriter::new(opts(t.path(), "img.raw", Some(3000), None)),
            Err(Error::Exists { .. })
        ));
    }

    #[test]
    fn zstd_round_trips_and_empty_images_still_make_a_file() {
        let t = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i / 100) as u8).collect();
        let mut w = ImageWriter::new(opts(t.path(), "img.raw.zst", None, Some(3))).unwrap();
        w.write_all(&data).unwrap();
        let files = w.finish().unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].size < data.len() as u64);
        let mut back = Vec::new();
        open_image(&[files[0].path.clone()], true)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);

        let w = ImageWriter::new(opts(t.path(), "empty.raw", None, None)).unwrap();
        let files = w.finish().unwrap();
        assert_eq!(files[0].size, 0);
        assert!(files[0].path.exists());
    }
}
