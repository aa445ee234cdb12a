//! Live-response collection: the examined system's state, read in order of volatility (RFC 3227),
//! written as a verifiable evidence bundle.
//!
//! | tier | what | files |
//! |------|------|-------|
//! | T0 | time base (UTC, local offset, boot time, RTC drift), identity, collector privileges | `host.json` |
//! | T1 | processes, sockets per network namespace, ARP, routes, interfaces, sessions, kernel statistics | `processes.jsonl`, `sockets.jsonl`, `arp.jsonl`, `routes.jsonl`, `interfaces.jsonl`, `sessions.jsonl`, `kernel_stats.jsonl` |
//! | T3 | kernel modules (both views), taint, sysctl, mounts, eBPF, ftrace/kprobes, binfmt_misc, preload, LSM | `modules.jsonl`, `sysctl.jsonl`, `mounts.jsonl`, `kernel.jsonl` |
//! | T4 | tmpfs listings and small files (`/dev/shm`, `/tmp`, `/var/tmp`, `/run`) incl. transient units | `tmpfs.jsonl`, `[root]/…` |
//! | T5 | `statx` of every file of the root filesystem, before any copy | `bodyfile.txt` |
//! | T6 | file artifacts (logs, /etc, cron, systemd, ssh, histories, package databases …) | `files.jsonl`, `[root]/…` |
//! | T7 | SHA-256 of every executable file and every running process's binary | `hashes.jsonl` |
//!
//! Every bundle also holds `errors.jsonl` (every path that could not be read, and why),
//! `collection.log` (per source: started, finished, items, bytes, errors) and `manifest.sha256`.
//!
//! Nothing of the examined system is executed, written, or re-timed: files and directories are
//! opened `O_RDONLY|O_NOATIME|O_NOFOLLOW` (see `cordon_host::open`), only regular files are read, and
//! reads are capped. The library never prints and never reads the clock itself.

mod bundle;
mod copy;
mod ctx;
mod error;
mod json;
mod t0;
mod t1;
mod t3;
mod t4;
mod t5;
mod t6;
mod t7;

use std::collections::BTreeSet;
use std::path::PathBuf;

use cordon_core::Clock;
use cordon_host::Target;
use jiff::Timestamp;

pub use bundle::{MANIFEST, WrittenFile, manifest_line};
pub use error::Error;

/// A collection tier, in order of volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Time base, identity, privileges.
    T0,
    /// Processes, sockets, network state, sessions, kernel statistics.
    T1,
    /// Kernel state.
    T3,
    /// Temporary filesystems.
    T4,
    /// Filesystem metadata (bodyfile).
    T5,
    /// File artifact copies.
    T6,
    /// Hashes of executables.
    T7,
}

impl Tier {
    /// Every tier, in collection order.
    pub const ALL: [Tier; 7] = [
        Tier::T0,
        Tier::T1,
        Tier::T3,
        Tier::T4,
        Tier::T5,
        Tier::T6,
        Tier::T7,
    ];

    /// `T0` … `T7`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::T0 => "T0",
            Tier::T1 => "T1",
            Tier::T3 => "T3",
            Tier::T4 => "T4",
            Tier::T5 => "T5",
            Tier::T6 => "T6",
            Tier::T7 => "T7",
        }
    }

    /// True for tiers that read only the running kernel (`/proc`, `/sys`): skipped on an offline target.
    pub fn is_live_only(self) -> bool {
        matches!(self, Tier::T1 | Tier::T3)
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Tier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Tier::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownTier { name: s.to_owned() })
    }
}

/// Parses a comma-separated tier list (`T1,T3`).
pub fn parse_tiers(list: &str) -> Result<BTreeSet<Tier>, Error> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Default cap on each copied or hashed file (logs and binaries larger than this are truncated in the
/// copy, and not hashed, with the fact recorded).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;
/// Default cap on each file copied from a temporary filesystem (T4).
pub const DEFAULT_TMP_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// What to collect, from where, to where.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The examined system.
    pub target: Target,
    /// The bundle directory to create (must not exist, or be empty).
    pub out_dir: PathBuf,
    /// Tiers to collect. T0 (the time base) is always collected.
    pub tiers: BTreeSet<Tier>,
    /// Per-file cap for copies (T6) and hashes (T1 process binaries, T7).
    pub max_file_size: u64,
    /// Per-file cap for copies out of temporary filesystems (T4).
    pub tmp_file_size: u64,
    /// T5 also walks other local filesystems mounted below the root (never pseudo or network ones).
    pub cross_mounts: bool,
    /// Replace the bundle's files by one `<dir name>.tar.zst` (plus the manifest listing it).
    pub archive: bool,
    /// Write even when the output directory shares storage with the examined system (otherwise
    /// refused: writing there overwrites the deleted files an investigator may still recover).
    pub allow_suspect_storage: bool,
    /// Record the targets of symbolic links (bodyfile `name -> target`, `link_target` fields).
    /// Off by default: the kernel updates a symlink's own access time when its target is read
    /// (`readlink(2)` has no `O_NOATIME`), and the collector must not change the source. When on,
    /// every such read is counted in the notes.
    pub read_link_targets: bool,
    /// Name and version of the collecting program, recorded in `host.json`.
    pub tool: String,
}

impl CollectOptions {
    /// All tiers, default caps, no archive, suspect storage refused.
    pub fn new(target: Target, out_dir: impl Into<PathBuf>) -> Self {
        CollectOptions {
            target,
            out_dir: out_dir.into(),
            tiers: Tier::ALL.into_iter().collect(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            tmp_file_size: DEFAULT_TMP_FILE_SIZE,
            cross_mounts: false,
            archive: false,
            allow_suspect_storage: false,
            read_link_targets: false,
            tool: format!("cordon-collect {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Progress, reported to the caller's callback as the collection goes.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A tier begins.
    TierStarted(Tier),
    /// A source advanced (every few thousand items) or finished.
    Source {
        /// Its tier.
        tier: Tier,
        /// Its name (`processes`, `bodyfile` …).
        source: &'a str,
        /// Items so far.
        items: u64,
        /// Bytes written or read so far.
        bytes: u64,
        /// True on the last report of this source.
        finished: bool,
    },
    /// A tier was skipped, and why.
    TierSkipped(Tier, &'a str),
}

/// What one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    /// Its tier.
    pub tier: Tier,
    /// Its name.
    pub source: String,
    /// When it started.
    pub started: Timestamp,
    /// When it finished.
    pub finished: Timestamp,
    /// Items collected (processes, sockets, files …).
    pub items: u64,
    /// Bytes written to the bundle (or hashed, for T7).
    pub bytes: u64,
    /// Errors recorded in `errors.jsonl`.
    pub errors: u64,
    /// Of those, permission denials.
    pub permission_denied: u64,
}

/// The result of a finished collection.
#[derive(Debug, Clone)]
pub struct CollectReport {
    /// The bundle directory.
    pub out_dir: PathBuf,
    /// Every file in the bundle (relative path, SHA-256, size), as listed in `manifest.sha256`
    /// (which is not listed in itself). With `archive`, only the archive.
    pub files: Vec<WrittenFile>,
    /// With `archive`: the files inside the archive.
    pub archive_contents: Vec<WrittenFile>,
    /// Per source.
    pub sources: Vec<SourceStats>,
    /// Tiers skipped, and why.
    pub skipped: Vec<(Tier, String)>,
    /// Errors recorded.
    pub errors: u64,
    /// Permission denials recorded.
    pub permission_denied: u64,
    /// True when the collection is known to be incomplete (not root, permission denials, skipped
    /// live tiers on request of a live target are not counted).
    pub partial: bool,
    /// Remarks for the responder (atime may have changed, sources unavailable …).
    pub notes: Vec<String>,
    /// When the collection started.
    pub started: Timestamp,
    /// When it finished.
    pub finished: Timestamp,
}

/// Collects `opts.tiers` from `opts.target` into a new bundle at `opts.out_dir`.
///
/// Only destination problems are errors; the examined system's unreadable parts are recorded in the
/// bundle and make the report `partial`.
pub fn collect(
    opts: &CollectOptions,
    clock: &dyn Clock,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<CollectReport, Error> {
    ctx::run(opts, clock, progress)
}
