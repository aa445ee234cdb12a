//! Reading a log line by line, with every limit a hostile log needs.
//!
//! A line longer than [`Limits::max_line`] is cut there (the rest is skipped, never buffered) and
//! counted; a compressed log is decompressed only up to [`Limits::max_decompressed`] bytes (a gzip bomb
//! stops there and is counted); a trailing `\r` is dropped. Memory use is one read buffer plus one
//! line, whatever the file holds.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::Error;

/// Caps on what one log may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line kept, in bytes; longer lines are cut and counted in [`LineStats::long_lines`].
    pub max_line: usize,
    /// Most bytes read from one file after decompression; the rest is not read and
    /// [`LineStats::capped`] is set.
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // rsyslog's largest message is 8 KiB by default; 64 KiB leaves room for odd daemons.
            max_line: 64 * 1024,
            max_decompressed: 8 * 1024 * 1024 * 1024,
        }
    }
}

/// What reading one file met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Lines handed to the caller.
    pub lines: u64,
    /// Lines longer than the limit (cut).
    pub long_lines: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// True when the decompressed-size cap stopped the read.
    pub capped: bool,
    /// True when the file was gzip-compressed.
    pub gzip: bool,
}

const CHUNK: usize = 256 * 1024;

/// Calls `f(line_number, line)` for every line of `reader` (1-based numbers, no `\n`, no final `\r`).
pub fn for_each_line<R: Read>(
    reader: R,
    limits: &Limits,
    f: &mut dyn FnMut(u64, &[u8]),
) -> std::io::Result<LineStats> {
    let mut stats = LineStats::default();
    let mut reader = reader.take(limits.max_decompressed.saturating_add(1));
    let mut buf = vec![0u8; CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_long = false;
    let mut emit = |line: &[u8], long: bool, stats: &mut LineStats| {
        stats.lines += 1;
        if long {
            stats.long_lines += 1;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        f(stats.lines, line);
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut chunk = buf.get(..n).unwrap_or_default();
        let remaining = limits.max_decompressed.saturating_sub(stats.bytes);
        if n as u64 > remaining {
            chunk = chunk
                .get(..usize::try_from(remaining).unwrap_or(0))
                .unwrap_or_default();
            stats.capped = true;
        }
        stats.bytes += chunk.len() as u64;
        let mut pos = 0;
        while let Some(i) = chunk.get(pos..).and_then(|rest| memchr::memchr(b'\n', rest)) {
            let piece = chunk.get(pos..pos + i).unwrap_or_default();
            if carry.is_empty() && !carry_long {
                if piece.len() > limits.max_line {
                    emit(piece.get(..limits.max_line).unwrap_or_default(), true, &mut stats);
                } else {
                    emit(piece, false, &mut stats);
                }
            } else {
                let long = carry_long || carry.len() + piece.len() > limits.max_line;
                let room = limits.max_line.saturating_sub(carry.len());
                carry.extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
                emit(&carry, long, &mut stats);
                carry.clear();
                carry_long = false;
            }
            pos += i + 1;
        }
        let rest = chunk.get(pos..).unwrap_or_default();
        if !rest.is_empty() {
            let room = limits.max_line.saturating_sub(carry.len());
            if rest.len() > room {
                carry_long = true;
            }
            carry.extend_from_slice(rest.get(..room.min(rest.len())).unwrap_or_default());
        }
        if stats.capped {
            break;
        }
    }
    if !carry.is_empty() || carry_long {
        emit(&carry, carry_long, &mut stats);
    }
    Ok(stats)
}

/// True when `name` looks compressed with gzip (`.gz`).
pub fn is_gzip_name(name: &[u8]) -> bool {
    name.ends_with(b".gz")
}

/// Opens a file through the host crate's safe open (regular files only, no final symlink, no atime
/// change where allowed) and reads its lines like [`read_lines_from`].
pub fn read_log_lines(
    local: &Path,
    limits: &Limits,
    f: &mut dyn FnMut(u64, &[u8]),
) -> Result<LineStats, Error> {
    let opened = cordon_host::open::open_regular(local)?;
    read_lines_from(opened.file, local, limits, f)
}

fn gzip_head(file: &mut std::io::BufReader<std::fs::File>, path: &Path) -> Result<bool, Error> {
    use std::io::BufRead as _;
    let head = file.fill_buf().map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(head.starts_with(&[0x1f, 0x8b]))
}

/// Reads the lines of an opened log, decompressing it when it starts with the gzip magic (rotated
/// `.gz` logs). `path` names it in errors.
pub fn read_lines_from(
    file: std::fs::File,
    path: &Path,
    limits: &Limits,
    f: &mut dyn FnMut(u64, &[u8]),
) -> Result<LineStats, Error> {
    let mut file = std::io::BufReader::with_capacity(CHUNK, file);
    let gzip = gzip_head(&mut file, path)?;
    let result = if gzip {
        for_each_line(MultiGzDecoder::new(file), limits, f)
    } else {
        for_each_line(file, limits, f)
    };
    let mut stats = result.map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    stats.gzip = gzip;
    Ok(stats)
}

/// The whole (decompressed, capped) content of a small log, for formats that are not line-based.
pub fn read_log_bytes(local: &Path, cap: u64) -> Result<(Vec<u8>, bool), Error> {
    let opened = cordon_host::open::open_regular(local)?;
    read_bytes_from(opened.file, local, cap)
}

/// [`read_log_bytes`] of an opened file.
pub fn read_bytes_from(file: std::fs::File, path: &Path, cap: u64) -> Result<(Vec<u8>, bool), Error> {
    let mut file = std::io::BufReader::new(file);
    let gzip = gzip_head(&mut file, path)?;
    let mut out = Vec::new();
    let reader: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    let capped = out.len() as u64 > cap;
    out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok((out, capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], limits: &Limits) -> (Vec<Vec<u8>>, LineStats) {
        let mut out = Vec::new();
        let stats = for_each_line(input, limits, &mut |_, l| out.push(l.to_vec())).unwrap();
        (out, stats)
    }

    #[test]
    fn splits_lines_cuts_long_ones_and_keeps_a_last_line_without_newline() {
        let limits = Limits {
            max_line: 4,
            max_decompressed: 1 << 20,
        };
        let (lines, stats) = collect(b"ab\r\nabcdefgh\n\ncd", &limits);
        assert_eq!(
            lines,
            vec![b"ab".to_vec(), b"abcd".to_vec(), b"".to_vec(), b"cd".to_vec()]
        );
        assert_eq!(stats.lines, 4);
        assert_eq!(stats.long_lines, 1);
    }

    #[test]
    fn long_lines_across_chunks_are_cut_without_buffering_them() {
        let limits = Limits {
            max_line: 100,
            max_decompressed: 1 << 30,
        };
        let mut input = vec![b'x'; 3 * CHUNK + 17];
        input.push(b'\n');
        input.extend_from_slice(b"next\n");
        let (lines, stats) = collect(&input, &limits);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 100);
        assert_eq!(lines[1], b"next");
        assert_eq!(stats.long_lines, 1);
    }

    #[test]
    fn the_decompressed_cap_stops_the_read() {
        let limits = Limits {
            max_line: 100,
            max_decompressed: 10,
        };
        let (lines, stats) = collect(b"0123\n5678\nabcdef\n", &limits);
        assert!(stats.capped);
        assert_eq!(stats.bytes, 10);
        assert_eq!(lines, vec![b"0123".to_vec(), b"5678".to_vec()]);
    }
}
