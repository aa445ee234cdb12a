//! The copy loop: large aligned reads on the calling thread, every hash and the writer on their own
//! threads, buffers recycled through a small pool so nothing is allocated per block. Every buffer
//! starts on an [`IO_ALIGN`] boundary, so a sink can hand whole blocks to `O_DIRECT` writes.
//!
//! A block that fails to read is retried, then bisected (halves, quarters, … down to one sector);
//! each sector that still fails after the retries is filled with zeros and recorded in the error map.
//! The image hash is the hash of exactly the bytes written, zero fill included, so a verify pass that
//! re-reads the same source gets the same digest as long as the same sectors fail.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use crate::Error;
use crate::hash::Algorithm;

/// Positional reads (`pread`). Implemented for files and block devices; tests implement it to inject
/// faults at chosen offsets.
pub trait ReadAt: Sync {
    /// Reads up to `buf.len()` bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

/// Where image bytes go (see [`crate::sink::ImageWriter`]).
pub trait ImageSink: Send {
    /// Writes all of `data`; an error stops the acquisition.
    fn write_all(&mut self, data: &[u8]) -> Result<(), Error>;
}

/// How to copy.
#[derive(Debug, Clone)]
pub struct AcquireOptions {
    /// Bytes to copy from offset 0.
    pub size: u64,
    /// Smallest unit that can fail on its own (the device's logical sector size; 512 for files).
    pub sector_size: u64,
    /// Bytes per read (rounded down to a multiple of the sector size).
    pub block_size: usize,
    /// Extra attempts for a failing block and for each failing sector.
    pub retries: u32,
    /// Hashes computed while copying.
    pub algorithms: Vec<Algorithm>,
}

impl AcquireOptions {
    /// Defaults: 4 MiB reads, two retries, SHA-256.
    pub fn new(size: u64, sector_size: u64) -> AcquireOptions {
        AcquireOptions {
            size,
            sector_size: sector_size.max(1),
            block_size: DEFAULT_BLOCK,
            retries: 2,
            algorithms: vec![Algorithm::Sha256],
        }
    }
}

/// Default read size.
pub const DEFAULT_BLOCK: usize = 4 << 20;
/// Alignment of the block buffers in memory (the page size, and a multiple of every logical sector
/// size in use), so blocks can be written with `O_DIRECT`.
pub const IO_ALIGN: usize = 4096;
/// Blocks in flight between the reader, the hashers and the writer.
const DEPTH: usize = 6;

/// A run of unreadable bytes, zero-filled in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BadRange {
    /// Byte offset of the first unreadable sector.
    pub offset: u64,
    /// Length in bytes (whole sectors, except at the very end of the source).
    pub length: u64,
}

/// Progress, reported after every block.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Bytes read so far.
    pub done: u64,
    /// Bytes to read.
    pub total: u64,
    /// Unreadable bytes so far.
    pub bad_bytes: u64,
}

/// The result of a copy that ran to the end.
#[derive(Debug, Clone)]
pub struct Acquired {
    /// Bytes copied (the source size).
    pub bytes: u64,
    /// Hex digests of the image, in the order asked for.
    pub hashes: Vec<(Algorithm, String)>,
    /// Unreadable ranges, in offset order, adjacent ones merged.
    pub bad: Vec<BadRange>,
    /// Total unreadable bytes.
    pub bad_bytes: u64,
    /// Reads that failed (including retries).
    pub failed_reads: u64,
    /// The first read error's text.
    pub first_error: Option<String>,
}

impl Acquired {
    /// The digest for `alg`, if it was computed.
    pub fn hash(&self, alg: Algorithm) -> Option<&str> {
        self.hashes
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, h)| h.as_str())
    }
}

/// A block buffer whose usable part starts on an [`IO_ALIGN`] boundary.
struct Buffer {
    data: Vec<u8>,
    start: usize,
}

impl Buffer {
    fn new(len: usize) -> Buffer {
        let data = vec![0u8; len + IO_ALIGN];
        // `align_offset` may in theory decline (usize::MAX); an unaligned buffer only costs the
        // sink its O_DIRECT path, never correctness.
        let start = data.as_ptr().align_offset(IO_ALIGN);
        let start = if start < IO_ALIGN { start } else { 0 };
        Buffer { data, start }
    }

    fn get_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        self.data.get_mut(self.start..self.start.checked_add(len)?)
    }
}

/// A block in flight; when the last holder drops it, its buffer goes back to the pool.
struct Chunk {
    buf: Buffer,
    len: usize,
    home: Sender<Buffer>,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        let end = self.buf.start.saturating_add(self.len);
        self.buf.data.get(self.buf.start..end).unwrap_or_default()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let buf = std::mem::replace(
            &mut self.buf,
            Buffer {
                data: Vec::new(),
                start: 0,
            },
        );
        let _ = self.home.send(buf);
    }
}

/// Error bookkeeping of one run.
#[derive(Default)]
struct Faults {
    bad: Vec<BadRange>,
    bad_bytes: u64,
    failed_reads: u64,
    first_error: Option<String>,
}

impl Faults {
    fn failed(&mut self, e: &std::io::Error, offset: u64) {
        self.failed_reads += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("at byte {offset}: {e}"));
        }
    }

    fn mark_bad(&mut self, offset: u64, length: u64) {
        self.bad_bytes += length;
        if let Some(last) = self.bad.last_mut()
            && last.offset + last.length == offset
        {
            last.length += length;
            return;
        }
        self.bad.push(BadRange { offset, length });
    }
}

/// Copies `opts.size` bytes of `src` into `sink` (or only hashes them when `sink` is `None`).
/// `progress` is called after each block; returning `false` from it cancels the run.
pub fn acquire<R: ReadAt + ?Sized>(
    src: &R,
    opts: &AcquireOptions,
    sink: Option<&mut dyn ImageSink>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<Acquired, Error> {
    let sector = opts.sector_size.max(1);
    let block = {
        let b = (opts.block_size as u64 / sector) * sector;
        usize::try_from(b.max(sector)).unwrap_or(DEFAULT_BLOCK)
    };
    let (pool_tx, pool_rx) = channel::<Buffer>();
    for _ in 0..DEPTH {
        let _ = pool_tx.send(Buffer::new(block));
    }
    let mut faults = Faults::default();
    std::thread::scope(|scope| {
        let mut hash_txs: Vec<SyncSender<Arc<Chunk>>> = Vec::new();
        let mut hash_threads = Vec::new();
        for &alg in &opts.algorithms {
            let (tx, rx) = sync_channel::<Arc<Chunk>>(DEPTH);
            hash_txs.push(tx);
            hash_threads.push((
                alg,
                scope.spawn(move || {
                    let mut h = alg.hasher();
                    for c in rx {
                        h.update(c.bytes());
                    }
                    h.finish()
                }),
            ));
        }
        let (write_tx, writer) = match sink {
            Some(sink) => {
                let (tx, rx) = sync_channel::<Arc<Chunk>>(DEPTH);
                (Some(tx), Some(scope.spawn(move || write_loop(rx, sink))))
            }
            None => (None, None),
        };

        let mut offset = 0u64;
        let mut cancelled = false;
        while offset < opts.size {
            let Ok(mut buf) = pool_rx.recv() else {
                break;
            };
            let len = usize::try_from((opts.size - offset).min(block as u64)).unwrap_or(block);
            if buf.get_mut(len).is_none() {
                buf = Buffer::new(len);
            }
            if let Some(dst) = buf.get_mut(len) {
                read_block(src, dst, offset, sector, opts.retries, &mut faults);
            }
            let chunk = Arc::new(Chunk {
                buf,
                len,
                home: pool_tx.clone(),
            });
            let mut stop = false;
            for tx in &hash_txs {
                stop |= tx.send(Arc::clone(&chunk)).is_err();
            }
            if let Some(tx) = &write_tx {
                stop |= tx.send(Arc::clone(&chunk)).is_err();
            }
            drop(chunk);
            if stop {
                break;
            }
            offset += len as u64;
            let p = Progress {
                done: offset,
                total: opts.size,
                bad_bytes: faults.bad_bytes,
            };
            if !progress(&p) {
                cancelled = true;
                break;
            }
        }
        drop(hash_txs);
        drop(write_tx);
        let write_result = match writer {
            Some(w) => w.join().unwrap_or(Err(Error::Worker("writer"))),
            None => Ok(()),
        };
        let mut hashes = Vec::new();
        for (alg, t) in hash_threads {
            match t.join() {
                Ok(h) => hashes.push((alg, h)),
                Err(_) => return Err(Error::Worker("hasher")),
            }
        }
        write_result?;
        if cancelled {
            return Err(Error::Cancelled);
        }
        if offset < opts.size {
            return Err(Error::Worker("reader"));
        }
        Ok(Acquired {
            bytes: offset,
            hashes,
            bad: std::mem::take(&mut faults.bad),
            bad_bytes: faults.bad_bytes,
            failed_reads: faults.failed_reads,
            first_error: faults.first_error.take(),
        })
    })
}

fn write_loop(rx: Receiver<Arc<Chunk>>, sink: &mut dyn ImageSink) -> Result<(), Error> {
    for c in rx {
        sink.write_all(c.bytes())?;
    }
    Ok(())
}

/// Fills `buf` from `offset`, looping over short reads; end of data before `buf` is full is an error.
fn read_full<R: ReadAt + ?Sized>(src: &R, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut done = 0usize;
    while let Some(rest) = buf.get_mut(done..)
        && !rest.is_empty()
    {
        match src.read_at(rest, offset + done as u64) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "source ended early (shrank while being imaged?)",
                ));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_block<R: ReadAt + ?Sized>(
    src: &R,
    buf: &mut [u8],
    offset: u64,
    sector: u64,
    retries: u32,
    faults: &mut Faults,
) {
    for _ in 0..=retries {
        match read_full(src, buf, offset) {
            Ok(()) => return,
            Err(e) => faults.failed(&e, offset),
        }
    }
    bisect(src, buf, offset, sector, retries, faults);
}

/// Narrows a failing range down to the sectors that cannot be read.
fn bisect<R: ReadAt + ?Sized>(
    src: &R,
    buf: &mut [u8],
    offset: u64,
    sector: u64,
    retries: u32,
    faults: &mut Faults,
) {
    let len = buf.len() as u64;
    if len <= sector {
        // One sector: it had its block-level attempts; give it its own.
        for _ in 0..=retries {
            match read_full(src, buf, offset) {
                Ok(()) => return,
                Err(e) => faults.failed(&e, offset),
            }
        }
        buf.fill(0);
        faults.mark_bad(offset, len);
        return;
    }
    let sectors = len.div_ceil(sector);
    let half = usize::try_from((sectors / 2).max(1) * sector).unwrap_or(buf.len() / 2);
    let (a, b) = buf.split_at_mut(half.min(buf.len()));
    for (part, at) in [(a, offset), (b, offset + half as u64)] {
        if part.is_empty() {
            continue;
        }
        if let Err(e) = read_full(src, part, at) {
            faults.failed(&e, at);
            bisect(src, part, at, sector, retries, faults);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Bytes with sectors that always fail, and ones that fail only the first `flaky` times.
    struct Faulty {
        data: Vec<u8>,
        bad: Vec<u64>,
        flaky: Vec<u64>,
        flaky_left: AtomicU64,
        sector: u64,
        reads: AtomicU64,
    }

    impl ReadAt for Faulty {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let end = offset + buf.len() as u64;
            for &s in &self.bad {
                let start = s * self.sector;
                if start < end && start + self.sector > offset {
                    return Err(std::io::Error::from_raw_os_error(5));
                }
            }
            for &s in &self.flaky {
                let start = s * self.sector;
                if start < end && start + self.sector > offset && self.flaky_left.load(Ordering::Relaxed) > 0
                {
                    self.flaky_left.fetch_sub(1, Ordering::Relaxed);
                    return Err(std::io::Error::from_raw_os_error(5));
                }
            }
            let from = offset as usize;
            if from >= self.data.len() {
                return Ok(0);
            }
            // Short reads on purpose: at most 3000 bytes per call.
            let n = buf.len().min(self.data.len() - from).min(3000);
            buf[..n].copy_from_slice(&self.data[from..from + n]);
            Ok(n)
        }
    }

    struct Collect(Vec<u8>);
    impl ImageSink for Collect {
        fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
            // Every block reaches the sink on an O_DIRECT-friendly address.
            assert_eq!(data.as_ptr() as usize % IO_ALIGN, 0);
            self.0.extend_from_slice(data);
            Ok(())
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 512) as u8).collect()
    }

    fn sha256(b: &[u8]) -> String {
        let mut h = Algorithm::Sha256.hasher();
        h.update(b);
        h.finish()
    }

    #[test]
    fn clean_copy_hashes_every_byte() {
        let d = data(1_000_003);
        let src = Faulty {
            data: d.clone(),
            bad: vec![],
            flaky: vec![],
            flaky_left: AtomicU64::new(0),
            sector: 512,
            reads: AtomicU64::new(0),
        };
        let mut opts = AcquireOptions::new(d.len() as u64, 512);
        opts.block_size = 65536;
        opts.algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
        let mut out = Collect(Vec::new());
        let mut calls = 0;
        let got = acquire(&src, &opts, Some(&mut out), &mut |_| {
            calls += 1;
            true
        })
        .unwrap();
        assert_eq!(out.0, d);
        assert_eq!(got.bytes, d.len() as u64);
        assert_eq!(got.hash(Algorithm::Sha256).unwrap(), sha256(&d));
        assert!(got.bad.is_empty());
        assert_eq!(calls, d.len().div_ceil(65536));
    }

    #[test]
    fn bad_sectors_are_zero_filled_and_mapped_exactly() {
        let d = data(512 * 1000 + 100);
        // Sectors 3, 4 (adjacent), 517 and the last, partial one.
        let bad = vec![3u64, 4, 517, 1000];
        let src = Faulty {
            data: d.clone(),
            bad: bad.clone(),
            flaky: vec![],
            flaky_left: AtomicU64::new(0),
            sector: 512,
            reads: AtomicU64::new(0),
        };
        let mut opts = AcquireOptions::new(d.len() as u64, 512);
        opts.block_size = 128 * 512;
        opts.retries = 1;
        let mut out = Collect(Vec::new());
        let got = acquire(&src, &opts, Some(&mut out), &mut |_| true).unwrap();
        let mut expect = d.clone();
        for &s in &bad {
            let a = (s * 512) as usize;
            let b = (a + 512).min(expect.len());
            expect[a..b].fill(0);
        }
        assert_eq!(out.0.len(), d.len());
        assert!(out.0 == expect, "good sectors copied, bad ones zeroed");
        assert_eq!(
            got.bad,
            vec![
                BadRange {
                    offset: 3 * 512,
                    length: 1024
                },
                BadRange {
                    offset: 517 * 512,
                    length: 512
                },
                BadRange {
                    offset: 1000 * 512,
                    length: 100
                },
            ]
        );
        assert_eq!(got.bad_bytes, 1024 + 512 + 100);
        assert_eq!(got.hash(Algorithm::Sha256).unwrap(), sha256(&expect));
        assert!(got.first_error.unwrap().contains("at byte 0"));
    }

    #[test]
    fn a_flaky_sector_is_recovered_by_retrying() {
        let d = data(512 * 64);
        let src = Faulty {
            data: d.clone(),
            bad: vec![],
            flaky: vec![10],
            flaky_left: AtomicU64::new(2),
            sector: 512,
            reads: AtomicU64::new(0),
        };
        let mut opts = AcquireOptions::new(d.len() as u64, 512);
        opts.retries = 2;
        let mut out = Collect(Vec::new());
        let got = acquire(&src, &opts, Some(&mut out), &mut |_| true).unwrap();
        assert_eq!(out.0, d);
        assert!(got.bad.is_empty());
        assert_eq!(got.failed_reads, 2);
    }

    #[test]
    fn a_source_that_shrinks_is_recorded_not_fatal() {
        let d = data(4096);
        let src = Faulty {
            data: d.clone(),
            bad: vec![],
            flaky: vec![],
            flaky_left: AtomicU64::new(0),
            sector: 512,
            reads: AtomicU64::new(0),
        };
        // Claims 8192 bytes: the second half cannot be read.
        let opts = AcquireOptions::new(8192, 512);
        let mut out = Collect(Vec::new());
        let got = acquire(&src, &opts, Some(&mut out), &mut |_| true).unwrap();
        assert_eq!(&out.0[..4096], &d[..]);
        assert_eq!(
            got.bad,
            vec![BadRange {
                offset: 4096,
                length: 4096
            }]
        );
    }

    struct Full(usize);
    impl ImageSink for Full {
        fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
            if self.0 < data.len() {
                return Err(Error::Destination {
                    path: "x".into(),
                    written: 0,
                    source: std::io::Error::from_raw_os_error(28),
                });
            }
            self.0 -= data.len();
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_stops_the_run_with_its_error() {
        let d = data(1 << 20);
        let src = Faulty {
            data: d,
            bad: vec![],
            flaky: vec![],
            flaky_left: AtomicU64::new(0),
            sector: 512,
            reads: AtomicU64::new(0),
        };
        let mut opts = AcquireOptions::new(1 << 20, 512);
        opts.block_size = 4096;
        let err = acquire(&src, &opts, Some(&mut Full(10_000)), &mut |_| true).unwrap_err();
        assert!(matches!(err, Error::Destination { .. }), "{err}");
        // Cancelling through the progress callback.
        let err = acquire(&src, &opts, None, &mut |p| p.done < 8192).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }
}
