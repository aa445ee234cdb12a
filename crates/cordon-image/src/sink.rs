//! Writing the image: raw (`dd`-compatible) or one standard zstd frame, optionally split into
//! numbered parts (`NAME.001`, `NAME.002`, …) that concatenate back to the whole. Files are created
//! with `O_CREAT|O_EXCL` (nothing is ever overwritten), hashed as they are written, and `fsync`ed
//! when closed. Raw output is written with `O_DIRECT` where the filesystem supports it (see
//! [`SinkOptions::direct_io`]).
//!
//! The zstd output is one ordinary frame with the content size and a checksum: `zstd -d` (or
//! `cat NAME.zst.* | zstd -d`) restores the raw image; it is not the seekable variant.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd as _, AsRawFd as _, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

use crate::Error;
use crate::engine::{IO_ALIGN, ImageSink};
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
    /// Write raw output with `O_DIRECT` where the filesystem allows it: the image goes straight to
    /// the destination disk instead of being copied into the page cache first, which saves a copy
    /// of every byte, keeps gigabytes of dirty pages from piling up and leaves the final `fsync`
    /// little to do. Ignored for zstd output; falls back to buffered writes by itself.
    pub direct_io: bool,
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

/// One open output file.
struct Part {
    file: File,
    path: PathBuf,
    hasher: Option<Hasher>,
    size: u64,
    /// `O_DIRECT` is set on the descriptor.
    direct: bool,
    /// Buffered bytes before this offset have had their writeback started.
    queued: u64,
}

impl Part {
    /// Clears `O_DIRECT`: the rest of the file goes through the page cache (flushed by the `fsync`
    /// at close, like any buffered write).
    fn buffered(&mut self) -> std::io::Result<()> {
        if self.direct {
            let flags = rustix::fs::fcntl_getfl(&self.file)?;
            rustix::fs::fcntl_setfl(&self.file, flags - OFlags::DIRECT)?;
            self.direct = false;
            self.queued = self.size;
        }
        Ok(())
    }

    /// Buffered writes: once a [`WRITEBACK_WINDOW`] of new bytes is in the page cache, its writeback
    /// is started, and the window before it is waited for and dropped from the cache. Dirty pages
    /// never pile up to gigabytes, the disk works while the copy runs, and the `fsync` at close has
    /// at most two windows left to do.
    fn pace_writeback(&mut self) -> std::io::Result<()> {
        while self.size - self.queued >= WRITEBACK_WINDOW {
            let fd = self.file.as_fd();
            writeback(fd, self.queued, WRITEBACK_WINDOW, false)?;
            if let Some(prev) = self.queued.checked_sub(WRITEBACK_WINDOW) {
                writeback(fd, prev, WRITEBACK_WINDOW, true)?;
                // The image's own pages, already on disk: no reason to keep them cached.
                let _ = rustix::fs::fadvise(
                    fd,
                    prev,
                    std::num::NonZeroU64::new(WRITEBACK_WINDOW),
                    rustix::fs::Advice::DontNeed,
                );
            }
            self.queued += WRITEBACK_WINDOW;
        }
        Ok(())
    }

    /// Writes (and counts) bytes: through `O_DIRECT` when the memory address, the length and the
    /// file offset are all aligned; the first write that is not (the short tail of the image, a
    /// split boundary that is not a multiple of [`IO_ALIGN`]) or that the filesystem refuses with
    /// `EINVAL` switches the file to buffered writes for good. The bytes written are the same
    /// either way.
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.direct {
            let aligned = (data.as_ptr() as usize).is_multiple_of(IO_ALIGN)
                && data.len().is_multiple_of(IO_ALIGN)
                && self.size.is_multiple_of(IO_ALIGN as u64);
            if aligned {
                match self.file.write(data) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                    Err(e) => return Err(e),
                    Ok(n) => {
                        self.size += n as u64;
                        return Ok(n);
                    }
                }
            }
            self.buffered()?;
        }
        let n = self.file.write(data)?;
        self.size += n as u64;
        self.pace_writeback()?;
        Ok(n)
    }
}

/// Bytes per step of the paced writeback of buffered output.
const WRITEBACK_WINDOW: u64 = 32 << 20;

/// `sync_file_range` on `[offset, offset + len)`: starts writeback of its dirty pages, and with
/// `wait`, waits for all of it to finish (an I/O error is reported here). It flushes neither metadata
/// nor the disk's cache: the `fsync` at close still makes the file durable.
#[allow(unsafe_code)]
fn writeback(fd: BorrowedFd<'_>, offset: u64, len: u64, wait: bool) -> std::io::Result<()> {
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: plain system call on a descriptor that `fd` keeps open; no memory is passed.
    let rc = unsafe { libc::sync_file_range(fd.as_raw_fd(), offset, len, flags) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The part files under a writer.
struct Parts {
    opts: SinkOptions,
    current: Option<Part>,
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
            .custom_flags(OFlags::CLOEXEC.bits() as i32)
            .open(&path)?;
        // O_DIRECT is set after the file exists rather than at open: a filesystem without direct
        // I/O then refuses only the fcntl (and the image is written buffered), instead of failing
        // an open that may already have created the file.
        let direct = self.opts.direct_io
            && rustix::fs::fcntl_getfl(&file)
                .and_then(|flags| rustix::fs::fcntl_setfl(&file, flags | OFlags::DIRECT))
                .is_ok();
        let hasher = self.opts.hash_outputs.then(|| Algorithm::Sha256.hasher());
        self.current = Some(Part {
            file,
            path,
            hasher,
            size: 0,
            direct,
            queued: 0,
        });
        Ok(())
    }

    fn close_current(&mut self) -> std::io::Result<()> {
        if let Some(part) = self.current.take() {
            part.file.sync_all()?;
            self.done.push(OutputFile {
                path: part.path,
                size: part.size,
                sha256: part.hasher.map(Hasher::finish),
            });
        }
        Ok(())
    }

    fn current_path(&self) -> PathBuf {
        match &self.current {
            Some(part) => part.path.clone(),
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
        if let (Some(limit), Some(part)) = (self.opts.split, &self.current)
            && part.size >= limit
        {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.open_next()?;
        }
        let Some(part) = self.current.as_mut() else {
            return Err(std::io::Error::other("no open part"));
        };
        let room = match self.opts.split {
            Some(limit) => usize::try_from(limit.saturating_sub(part.size)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let take = buf.get(..buf.len().min(room)).unwrap_or(buf);
        let n = part.write(take)?;
        if let Some(h) = &mut part.hasher {
            h.update(take.get(..n).unwrap_or_default());
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.current {
            Some(part) => part.file.flush(),
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
        let mut opts = opts;
        // zstd hands its output over in small unaligned pieces: not worth direct I/O.
        opts.direct_io &= level.is_none();
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
            direct_io: true,
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

    /// Reads the parts back as one stream.
    fn read_back(files: &[OutputFile]) -> Vec<u8> {
        let paths: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        let mut back = Vec::new();
        open_image(&paths, false).unwrap().read_to_end(&mut back).unwrap();
        back
    }

    /// `len` bytes of a pattern, starting on an [`IO_ALIGN`] boundary (as the engine's buffers do).
    fn aligned(len: usize, seed: u32) -> (Vec<u8>, usize) {
        let mut v = vec![0u8; len + IO_ALIGN];
        let at = v.as_ptr().align_offset(IO_ALIGN);
        for (i, b) in v[at..at + len].iter_mut().enumerate() {
            *b = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed)
                .to_le_bytes()[3];
        }
        (v, at)
    }

    #[test]
    fn direct_writes_fall_back_for_unaligned_pieces_and_keep_every_byte() {
        let t = tempfile::tempdir().unwrap();
        let mut w = ImageWriter::new(opts(t.path(), "img.raw", None, None)).unwrap();
        let mut expect = Vec::new();
        let (a, at) = aligned(3 * IO_ALIGN, 1);
        w.write_all(&a[at..at + 3 * IO_ALIGN]).unwrap();
        expect.extend_from_slice(&a[at..at + 3 * IO_ALIGN]);
        let opened_direct = w.parts().current.as_ref().unwrap().direct;
        // Still direct after aligned blocks (when the filesystem allows it at all).
        if opened_direct {
            w.write_all(&a[at..at + IO_ALIGN]).unwrap();
            expect.extend_from_slice(&a[at..at + IO_ALIGN]);
            assert!(w.parts().current.as_ref().unwrap().direct);
        }
        // An unaligned address, then an unaligned length: buffered from here on.
        w.write_all(&a[at + 1..at + 1 + IO_ALIGN]).unwrap();
        expect.extend_from_slice(&a[at + 1..at + 1 + IO_ALIGN]);
        assert!(!w.parts().current.as_ref().unwrap().direct);
        w.write_all(&a[at..at + 1000]).unwrap();
        expect.extend_from_slice(&a[at..at + 1000]);
        let files = w.finish().unwrap();
        assert_eq!(files[0].size, expect.len() as u64);
        assert!(read_back(&files) == expect);
        let mut h = Algorithm::Sha256.hasher();
        h.update(&expect);
        assert_eq!(files[0].sha256.as_deref(), Some(h.finish().as_str()));
    }

    #[test]
    fn split_boundaries_off_the_alignment_still_concatenate() {
        let t = tempfile::tempdir().unwrap();
        // 10000-byte parts: every part after the first starts mid-block.
        let mut w = ImageWriter::new(opts(t.path(), "img.raw", Some(10_000), None)).unwrap();
        let mut expect = Vec::new();
        for seed in 0..5 {
            let (a, at) = aligned(2 * IO_ALIGN, seed);
            w.write_all(&a[at..at + 2 * IO_ALIGN]).unwrap();
            expect.extend_from_slice(&a[at..at + 2 * IO_ALIGN]);
        }
        let files = w.finish().unwrap();
        assert_eq!(files.len(), expect.len().div_ceil(10_000));
        assert!(files[..files.len() - 1].iter().all(|f| f.size == 10_000));
        assert!(read_back(&files) == expect);
    }

    #[test]
    fn buffered_output_is_written_back_as_it_goes() {
        let t = tempfile::tempdir().unwrap();
        let mut o = opts(t.path(), "img.raw", None, None);
        o.direct_io = false;
        let mut w = ImageWriter::new(o).unwrap();
        let total = 2 * WRITEBACK_WINDOW as usize + 12_345;
        let (a, at) = aligned(total, 7);
        for piece in a[at..at + total].chunks(1 << 20) {
            w.write_all(piece).unwrap();
        }
        let part = w.parts().current.as_ref().unwrap();
        assert!(!part.direct);
        assert_eq!(part.queued, 2 * WRITEBACK_WINDOW);
        let files = w.finish().unwrap();
        assert!(read_back(&files) == a[at..at + total]);
    }
}
