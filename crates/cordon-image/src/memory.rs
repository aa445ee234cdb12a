//! Physical memory as LiME, the format Volatility reads.
//!
//! Ranges come from the top-level `System RAM` lines of `/proc/iomem` (zeroed addresses there mean
//! the reader lacks `CAP_SYS_ADMIN`). Data comes from the first source that works, in AVML's order:
//! `/dev/crash` (physical addresses as offsets), `/proc/kcore` (an ELF core: each `PT_LOAD`'s
//! `p_paddr` maps physical memory to a file offset), `/dev/mem` (physical offsets; with
//! `CONFIG_STRICT_DEVMEM` only the first MiB). When none works, every attempt is reported with its
//! reason (missing, permission, lockdown, restricted), and nothing is written.
//!
//! LiME: for each range a 32-byte little-endian header — magic `0x4C694D45`, version 1, start and
//! inclusive end physical address, 8 reserved zero bytes — followed by the range's bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::engine::{AcquireOptions, BadRange, ImageSink, ReadAt, acquire};
use crate::hash::{Algorithm, Hasher};

/// LiME header magic (`EMiL` little-endian).
pub const LIME_MAGIC: u32 = 0x4C69_4D45;
/// LiME format version written.
pub const LIME_VERSION: u32 = 1;
const PAGE: u64 = 4096;

/// A physical address range, end inclusive (as `/proc/iomem` and LiME write it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RamRange {
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
}

impl RamRange {
    /// Bytes in the range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }

    /// Always false: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The top-level `System RAM` ranges of `/proc/iomem` text.
pub fn parse_iomem(text: &[u8]) -> Vec<RamRange> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        // Nested resources are indented; only top-level RAM is copied (as AVML does).
        if line.first().is_none_or(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((range, name)) = line.split_once(" : ") else {
            continue;
        };
        if name.trim() != "System RAM" {
            continue;
        }
        let Some((a, b)) = range.trim().split_once('-') else {
            continue;
        };
        if let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16))
            && end >= start
        {
            out.push(RamRange { start, end });
        }
    }
    out
}

/// The 32-byte LiME header of one range.
pub fn lime_header(r: RamRange) -> [u8; 32] {
    let mut h = [0u8; 32];
    let fields: [&[u8]; 4] = [
        &LIME_MAGIC.to_le_bytes(),
        &LIME_VERSION.to_le_bytes(),
        &r.start.to_le_bytes(),
        &r.end.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = h.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    h
}

/// Where the kernel interfaces are (overridable so tests can point at synthetic ones).
#[derive(Debug, Clone)]
pub struct MemoryPaths {
    /// `/proc/iomem`.
    pub iomem: PathBuf,
    /// `/dev/crash`.
    pub crash: PathBuf,
    /// `/proc/kcore`.
    pub kcore: PathBuf,
    /// `/dev/mem`.
    pub mem: PathBuf,
    /// `/sys/kernel/security/lockdown`.
    pub lockdown: PathBuf,
}

impl MemoryPaths {
    /// The running kernel's interfaces.
    pub fn live() -> MemoryPaths {
        MemoryPaths {
            iomem: "/proc/iomem".into(),
            crash: "/dev/crash".into(),
            kcore: "/proc/kcore".into(),
            mem: "/dev/mem".into(),
            lockdown: "/sys/kernel/security/lockdown".into(),
        }
    }
}

/// Which interface the memory was read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySourceKind {
    /// `/dev/crash`.
    Crash,
    /// `/proc/kcore`.
    Kcore,
    /// `/dev/mem`.
    Mem,
}

/// A physical-to-file-offset mapping piece: physical `[start, start+len)` is at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u64,
    len: u64,
    offset: u64,
}

/// An opened memory source and the pieces to copy.
pub struct MemorySource {
    /// Which interface.
    pub kind: MemorySourceKind,
    /// Its path.
    pub path: PathBuf,
    file: File,
    pieces: Vec<Piece>,
    /// RAM ranges from `/proc/iomem`.
    pub ranges: Vec<RamRange>,
    /// RAM not present in the source's map (kcore only), skipped.
    pub unmapped: Vec<RamRange>,
    /// Kernel lockdown mode, if the kernel has lockdown.
    pub lockdown: Option<String>,
}

/// The active lockdown mode (`none`, `integrity`, `confidentiality`), from the bracketed word.
pub fn lockdown_mode(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let start = text.find('[')?;
    let rest = text.get(start + 1..)?;
    let end = rest.find(']')?;
    rest.get(..end).map(str::to_owned)
}

fn read_small(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)?.take(cap).read_to_end(&mut buf)?;
    Ok(buf)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Explains an error opening or reading a memory interface.
fn explain(path: &Path, what: &str, e: &std::io::Error, lockdown: Option<&str>) -> String {
    let mut s = format!("{}: {what}: {e}", path.display());
    match e.raw_os_error() {
        Some(libc_enoent) if libc_enoent == rustix::io::Errno::NOENT.raw_os_error() => {
            let hint = if path.ends_with("crash") {
                "the crash driver is not loaded (RHEL-family kernels provide it)"
            } else if path.ends_with("kcore") {
                "the kernel was built without CONFIG_PROC_KCORE or /proc is not mounted"
            } else {
                "the kernel was built without CONFIG_DEVMEM"
            };
            s.push_str(&format!(" — {hint}"));
        }
        Some(code)
            if code == rustix::io::Errno::PERM.raw_os_error()
                || code == rustix::io::Errno::ACCESS.raw_os_error() =>
        {
            if !is_root() {
                s.push_str(" — not running as root (needs CAP_SYS_RAWIO / CAP_SYS_ADMIN)");
            } else if lockdown.is_some_and(|m| m != "none") {
                s.push_str(&format!(
                    " — kernel lockdown is in {} mode",
                    lockdown.unwrap_or_default()
                ));
            } else if path.ends_with("mem") && !path.ends_with("kcore") {
                s.push_str(" — CONFIG_STRICT_DEVMEM limits /dev/mem to the first MiB");
            }
        }
        _ => {}
    }
    s
}

/// ELF64 little-endian `PT_LOAD` segments of a core file: (paddr, memsz, file offset).
fn kcore_pieces(file: &File, path: &Path) -> Result<Vec<Piece>, Error> {
    let mut eh = [0u8; 64];
    file.read_exact_at(&mut eh, 0)
        .map_err(Error::io("read the ELF header of", path))?;
    let malformed = |why: &str| Error::Malformed {
        what: "kcore ELF header",
        why: why.to_owned(),
    };
    if eh.get(..4) != Some(b"\x7fELF".as_slice()) || eh.get(4) != Some(&2) || eh.get(5) != Some(&1) {
        return Err(malformed("not a little-endian ELF64 file"));
    }
    let u16_at = |b: &[u8], o: usize| {
        b.get(o..o + 2)
            .and_then(|s| s.try_into().ok())
            .map(u16::from_le_bytes)
    };
    let u32_at = |b: &[u8], o: usize| {
        b.get(o..o + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |b: &[u8], o: usize| {
        b.get(o..o + 8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let phoff = u64_at(&eh, 0x20).ok_or_else(|| malformed("short header"))?;
    let phentsize = u64::from(u16_at(&eh, 0x36).ok_or_else(|| malformed("short header"))?);
    let phnum = u64::from(u16_at(&eh, 0x38).ok_or_else(|| malformed("short header"))?);
    if phentsize < 56 || phnum == 0 {
        return Err(malformed("no program headers"));
    }
    let mut pieces = Vec::new();
    for i in 0..phnum {
        let mut ph = vec![0u8; 56];
        let at = phoff
            .checked_add(i * phentsize)
            .ok_or_else(|| malformed("program header offset overflows"))?;
        file.read_exact_at(&mut ph, at)
            .map_err(Error::io("read a program header of", path))?;
        let (Some(kind), Some(offset), Some(paddr), Some(memsz)) =
            (u32_at(&ph, 0), u64_at(&ph, 8), u64_at(&ph, 24), u64_at(&ph, 40))
        else {
            return Err(malformed("short program header"));
        };
        // PT_LOAD with a physical address (kcore leaves p_paddr at -1 / 0 for non-RAM segments).
        if kind == 1 && memsz > 0 && paddr != u64::MAX && paddr != 0 {
            pieces.push(Piece {
                start: paddr,
                len: memsz,
                offset,
            });
        }
    }
    Ok(pieces)
}

/// Intersects RAM ranges with a map, returning the mapped pieces and what was not covered.
fn map_ranges(ranges: &[RamRange], map: &[Piece]) -> (Vec<Piece>, Vec<RamRange>) {
    let mut pieces = Vec::new();
    let mut unmapped = Vec::new();
    for r in ranges {
        let mut covered: Vec<(u64, u64)> = Vec::new();
        for m in map {
            let s = r.start.max(m.start);
            let e = r.end.min(m.start.saturating_add(m.len).saturating_sub(1));
            if s <= e {
                pieces.push(Piece {
                    start: s,
                    len: e - s + 1,
                    offset: m.offset + (s - m.start),
                });
                covered.push((s, e));
            }
        }
        covered.sort_unstable();
        let mut next = r.start;
        for (s, e) in covered {
            if s > next {
                unmapped.push(RamRange {
                    start: next,
                    end: s - 1,
                });
            }
            next = next.max(e.saturating_add(1));
        }
        if next <= r.end {
            unmapped.push(RamRange {
                start: next,
                end: r.end,
            });
        }
    }
    pieces.sort_by_key(|p| p.start);
    (pieces, unmapped)
}

/// Finds a readable memory source, or explains why there is none.
pub fn open_memory(paths: &MemoryPaths) -> Result<MemorySource, Error> {
    let lockdown = lockdown_mode(&paths.lockdown);
    let mut reasons = Vec::new();
    if let Some(mode) = lockdown.as_deref().filter(|m| *m != "none") {
        reasons.push(format!(
            "{}: kernel lockdown is active ({mode}): physical memory reads are blocked by design",
            paths.lockdown.display()
        ));
    }
    let ranges = match read_small(&paths.iomem, 4 << 20) {
        Ok(text) => {
            let ranges = parse_iomem(&text);
            if ranges.is_empty() {
                reasons.push(format!("{}: lists no System RAM ranges", paths.iomem.display()));
            } else if ranges.iter().all(|r| r.start == 0 && r.end == 0) {
                reasons.push(format!(
                    "{}: addresses are shown as zero — not running as root (CAP_SYS_ADMIN is needed to see them)",
                    paths.iomem.display()
                ));
            }
            ranges
        }
        Err(e) => {
            reasons.push(explain(&paths.iomem, "cannot read", &e, lockdown.as_deref()));
            Vec::new()
        }
    };
    let usable_ranges = !ranges.is_empty() && !ranges.iter().all(|r| r.start == 0 && r.end == 0);
    let candidates = [
        (MemorySourceKind::Crash, &paths.crash),
        (MemorySourceKind::Kcore, &paths.kcore),
        (MemorySourceKind::Mem, &paths.mem),
    ];
    for (kind, path) in candidates {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
            .open(path)
        {
            Ok(f) => f,
            Err(e) => {
                reasons.push(explain(path, "cannot open", &e, lockdown.as_deref()));
                continue;
            }
        };
        if !usable_ranges {
            reasons.push(format!(
                "{}: opened, but there are no usable RAM ranges to read (see /proc/iomem above)",
                path.display()
            ));
            continue;
        }
        let (pieces, unmapped) = match kind {
            MemorySourceKind::Kcore => match kcore_pieces(&file, path) {
                Ok(map) => map_ranges(&ranges, &map),
                Err(e) => {
                    reasons.push(format!("{}: {e}", path.display()));
                    continue;
                }
            },
            _ => (
                ranges
                    .iter()
                    .map(|r| Piece {
                        start: r.start,
                        len: r.len(),
                        offset: r.start,
                    })
                    .collect(),
                Vec::new(),
            ),
        };
        let Some(probe) = pieces.iter().max_by_key(|p| p.len) else {
            reasons.push(format!("{}: maps none of the RAM ranges", path.display()));
            continue;
        };
        // A trial read of one page of the largest range: lockdown and STRICT_DEVMEM refuse here.
        let mut page = vec![0u8; usize::try_from(PAGE.min(probe.len)).unwrap_or(4096)];
        if let Err(e) = file.read_exact_at(&mut page, probe.offset) {
            reasons.push(explain(path, "cannot read", &e, lockdown.as_deref()));
            continue;
        }
        return Ok(MemorySource {
            kind,
            path: path.clone(),
            file,
            pieces,
            ranges,
            unmapped,
            lockdown,
        });
    }
    Err(Error::MemoryRefused { reasons })
}

/// A LiME file being written, hashed as it goes.
struct LimeOut {
    file: File,
    path: PathBuf,
    hasher: Hasher,
    written: u64,
}

impl ImageSink for LimeOut {
    fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
        self.file.write_all(data).map_err(|source| Error::Destination {
            path: self.path.clone(),
            written: self.written,
            source,
        })?;
        self.hasher.update(data);
        self.written += data.len() as u64;
        Ok(())
    }
}

/// Reads of one piece, relative to its start.
struct Window<'a> {
    file: &'a File,
    offset: u64,
}

impl ReadAt for Window<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let at = self
            .offset
            .checked_add(offset)
            .ok_or_else(|| std::io::Error::other("offset overflows"))?;
        std::os::unix::fs::FileExt::read_at(self.file, buf, at)
    }
}

/// A memory image written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryImage {
    /// The LiME file.
    pub path: PathBuf,
    /// Its size (headers included).
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Bytes of memory copied.
    pub memory_bytes: u64,
    /// LiME ranges written.
    pub ranges: Vec<RamRange>,
    /// Unreadable pages (zero-filled), by physical address.
    pub bad: Vec<BadRange>,
}

/// Copies every mapped RAM piece into `dest` (created, never overwritten) as LiME.
pub fn write_lime(
    src: &MemorySource,
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<MemoryImage, Error> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
        .open(dest)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists {
                    path: dest.to_owned(),
                }
            } else {
                Error::io("create", dest)(e)
            }
        })?;
    let mut out = LimeOut {
        file,
        path: dest.to_owned(),
        hasher: Algorithm::Sha256.hasher(),
        written: 0,
    };
    let total: u64 = src.pieces.iter().map(|p| p.len).sum();
    let mut done = 0u64;
    let mut bad = Vec::new();
    let mut ranges = Vec::new();
    for p in &src.pieces {
        let range = RamRange {
            start: p.start,
            end: p.start + p.len - 1,
        };
        out.write_all(&lime_header(range))?;
        let mut opts = AcquireOptions::new(p.len, PAGE);
        opts.algorithms = Vec::new();
        opts.retries = 1;
        let window = Window {
            file: &src.file,
            offset: p.offset,
        };
        let base = done;
        let got = acquire(&window, &opts, Some(&mut out), &mut |pr| {
            progress(base + pr.done, total)
        })?;
        bad.extend(got.bad.iter().map(|b| BadRange {
            offset: b.offset + p.start,
            length: b.length,
        }));
        done += p.len;
        ranges.push(range);
    }
    out.file.sync_all().map_err(|source| Error::Destination {
        path: dest.to_owned(),
        written: out.written,
        source,
    })?;
    Ok(MemoryImage {
        path: dest.to_owned(),
        size: out.written,
        sha256: out.hasher.finish(),
        memory_bytes: done,
        ranges,
        bad,
    })
}

/// A file analysis needs next to the memory image (symbols, BTF, kernel version).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Companion {
    /// Where it came from.
    pub source: PathBuf,
    /// Name written in the destination.
    pub name: String,
    /// What it is for / why it is missing.
    pub note: String,
    /// SHA-256 and size when copied.
    pub copied: Option<(String, u64)>,
}

/// Copies `/proc/kallsyms`, `/boot/System.map-RELEASE`, `/sys/kernel/btf/vmlinux` and
/// `/proc/version` into `dir` (each capped at 512 MiB); what cannot be copied is listed with why.
pub fn copy_companions(dir: &Path, release: &str) -> Vec<Companion> {
    let list = [
        (
            PathBuf::from("/proc/version"),
            "version.txt",
            "kernel version string",
        ),
        (
            PathBuf::from("/proc/kallsyms"),
            "kallsyms.txt",
            "kernel symbol addresses (zero unless root)",
        ),
        (
            PathBuf::from(format!("/boot/System.map-{release}")),
            "System.map",
            "kernel symbol table of the installed kernel",
        ),
        (
            PathBuf::from("/sys/kernel/btf/vmlinux"),
            "vmlinux.btf",
            "kernel type information (BTF)",
        ),
    ];
    let mut out = Vec::new();
    for (source, name, what) in list {
        let dest = dir.join(name);
        let result = (|| -> std::io::Result<(String, u64)> {
            let mut input = File::open(&source)?.take(512 << 20);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o400)
                .open(&dest)?;
            let mut h = Algorithm::Sha256.hasher();
            let mut buf = vec![0u8; 1 << 16];
            let mut size = 0u64;
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                let data = buf.get(..n).unwrap_or_default();
                file.write_all(data)?;
                h.update(data);
                size += n as u64;
            }
            file.sync_all()?;
            Ok((h.finish(), size))
        })();
        match result {
            Ok(copied) => out.push(Companion {
                source,
                name: name.to_owned(),
                note: what.to_owned(),
                copied: Some(copied),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&dest);
                out.push(Companion {
                    source,
                    name: name.to_owned(),
                    note: format!("{what}: not copied: {e}"),
                    copied: None,
                })
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn iomem_top_level_ram_only() {
        let text = b"00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n\
                     000a0000-000bffff : PCI Bus 0000:00\n00100000-bffdffff : System RAM\n  \
                     01000000-01e00000 : Kernel code\n  02000000-02ffffff : System RAM\n\
                     zzzz-1 : System RAM\n100000000-23fffffff : System RAM\n";
        assert_eq!(
            parse_iomem(text),
            vec![
                RamRange {
                    start: 0x1000,
                    end: 0x9fbff
                },
                RamRange {
                    start: 0x100000,
                    end: 0xbffdffff
                },
                RamRange {
                    start: 0x1_0000_0000,
                    end: 0x2_3fff_ffff
                },
            ]
        );
    }

    #[test]
    fn header_layout() {
        let h = lime_header(RamRange {
            start: 0x1000,
            end: 0x1fff,
        });
        assert_eq!(&h[0..4], &[0x45, 0x4d, 0x69, 0x4c]);
        assert_eq!(u32::from_le_bytes(h[4..8].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(h[8..16].try_into().unwrap()), 0x1000);
        assert_eq!(u64::from_le_bytes(h[16..24].try_into().unwrap()), 0x1fff);
        assert_eq!(&h[24..32], &[0u8; 8]);
    }

    #[test]
    fn ranges_map_through_kcore_segments() {
        let map = [
            Piece {
                start: 0x1000,
                len: 0x1000,
                offset: 0x10_0000,
            },
            Piece {
                start: 0x4000,
                len: 0x4000,
                offset: 0x20_0000,
            },
        ];
        let ranges = [RamRange {
            start: 0x1000,
            end: 0x5fff,
        }];
        let (pieces, unmapped) = map_ranges(&ranges, &map);
        assert_eq!(
            pieces,
            vec![
                Piece {
                    start: 0x1000,
                    len: 0x1000,
                    offset: 0x10_0000
                },
                Piece {
                    start: 0x4000,
                    len: 0x2000,
                    offset: 0x20_0000
                },
            ]
        );
        assert_eq!(
            unmapped,
            vec![RamRange {
                start: 0x2000,
                end: 0x3fff
            }]
        );
    }
}

#[cfg(test)]
mod synthetic {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn lime_from_a_synthetic_dev_mem_and_refusals_without_interfaces() {
        let t = tempfile::tempdir().unwrap();
        let mem: Vec<u8> = (0..0x30000u32).map(|i| (i / 7) as u8).collect();
        std::fs::write(t.path().join("mem"), &mem).unwrap();
        std::fs::write(
            t.path().join("iomem"),
            "00000000-00000fff : Reserved\n00001000-00002fff : System RAM\n00010000-0001ffff : System RAM\n",
        )
        .unwrap();
        let paths = MemoryPaths {
            iomem: t.path().join("iomem"),
            crash: t.path().join("crash"),
            kcore: t.path().join("kcore"),
            mem: t.path().join("mem"),
            lockdown: t.path().join("lockdown"),
        };
        let src = open_memory(&paths).unwrap();
        assert_eq!(src.kind, MemorySourceKind::Mem);
        let out = t.path().join("out.lime");
        let img = write_lime(&src, &out, &mut |_, _| true).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(img.size as usize, bytes.len());
        assert_eq!(bytes.len(), 32 + 0x2000 + 32 + 0x10000);
        assert_eq!(
            &bytes[..32],
            &lime_header(RamRange {
                start: 0x1000,
                end: 0x2fff
            })
        );
        assert_eq!(&bytes[32..32 + 0x2000], &mem[0x1000..0x3000]);
        let second = 32 + 0x2000;
        assert_eq!(
            u32::from_le_bytes(bytes[second..second + 4].try_into().unwrap()),
            LIME_MAGIC
        );
        assert_eq!(&bytes[second + 32..], &mem[0x10000..0x20000]);
        let mut h = Algorithm::Sha256.hasher();
        h.update(&bytes);
        assert_eq!(img.sha256, h.finish());
        assert!(matches!(
            write_lime(&src, &out, &mut |_, _| true),
            Err(Error::Exists { .. })
        ));

        // A lockdown kernel and no interfaces: every reason is listed.
        std::fs::write(t.path().join("lockdown"), "none [integrity] confidentiality\n").unwrap();
        let none = MemoryPaths {
            mem: t.path().join("nomem"),
            ..paths
        };
        let Err(Error::MemoryRefused { reasons }) = open_memory(&none) else {
            panic!("expected a refusal");
        };
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("lockdown is active (integrity)"));
        assert!(reasons[1].contains("crash") && reasons[2].contains("kcore") && reasons[3].contains("nomem"));
    }

    #[test]
    fn kcore_elf_is_translated_to_physical_addresses() {
        let t = tempfile::tempdir().unwrap();
        // ELF64 LE header + two program headers: a note (ignored) and one PT_LOAD for phys 0x1000.
        let mut f = vec![0u8; 0x2000 + 0x1000];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        let ph = 64 + 56;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
        f[ph + 8..ph + 16].copy_from_slice(&0x2000u64.to_le_bytes());
        f[ph + 24..ph + 32].copy_from_slice(&0x1000u64.to_le_bytes());
        f[ph + 40..ph + 48].copy_from_slice(&0x1000u64.to_le_bytes());
        for (i, b) in f[0x2000..].iter_mut().enumerate() {
            *b = (i % 249) as u8;
        }
        std::fs::write(t.path().join("kcore"), &f).unwrap();
        std::fs::write(t.path().join("iomem"), "00001000-00001fff : System RAM\n").unwrap();
        let paths = MemoryPaths {
            iomem: t.path().join("iomem"),
            crash: t.path().join("crash"),
            kcore: t.path().join("kcore"),
            mem: t.path().join("mem"),
            lockdown: t.path().join("lockdown"),
        };
        let src = open_memory(&paths).unwrap();
        assert_eq!(src.kind, MemorySourceKind::Kcore);
        let out = t.path().join("k.lime");
        write_lime(&src, &out, &mut |_, _| true).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[32..], &f[0x2000..]);
    }
}
