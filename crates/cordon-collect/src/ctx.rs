//! The collection run: destination checks, the bundle, per-source accounting, the tiers in order,
//! and the optional archive.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use cordon_core::{Clock, format_utc};
use jiff::Timestamp;
use rustix::io::Errno;
use serde_json::{Value, json};

use crate::bundle::{Bundle, Jsonl, MANIFEST, WrittenFile};
use crate::json::{self, Obj};
use crate::{CollectOptions, CollectReport, Error, Progress, SourceStats, Tier};

/// A hash of a file's content, as far as the cap allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hashed {
    /// SHA-256 hex, `None` when the file was larger than the cap (not hashed).
    pub sha256: Option<String>,
    /// Bytes read.
    pub bytes: u64,
}

/// State shared by the tiers of one run.
pub(crate) struct Ctx<'a> {
    pub opts: &'a CollectOptions,
    pub clock: &'a dyn Clock,
    progress: &'a mut dyn FnMut(&Progress<'_>),
    pub bundle: Bundle,
    pub root: OwnedFd,
    errors: Option<Jsonl>,
    log: Option<Jsonl>,
    /// Directories never walked: the bundle itself.
    pub exclude: HashSet<(u32, u32, u64)>,
    pub stats: Vec<SourceStats>,
    pub notes: Vec<String>,
    /// Executable regular files found by T5, for T7.
    pub executables: Vec<Vec<u8>>,
    /// Hashes of process binaries by (st_dev, st_ino, size, mtime), shared by T1 and T7.
    pub exe_hashes: HashMap<(u64, u64, i64, i64), Hashed>,
    /// Files already copied into `[root]/` by (dev, ino).
    pub copied: HashSet<(u32, u32, u64)>,
    /// Reads and listings made without `O_NOATIME`.
    pub atime_touched: u64,
    pub started: Timestamp,
}

/// Counters of one source.
pub(crate) struct Src {
    pub tier: Tier,
    pub name: &'static str,
    started: Timestamp,
    pub items: u64,
    pub bytes: u64,
    pub errors: u64,
    pub denied: u64,
    last_tick: u64,
}

impl Ctx<'_> {
    pub fn begin(&mut self, tier: Tier, name: &'static str) -> Src {
        (self.progress)(&Progress::Source {
            tier,
            source: name,
            items: 0,
            bytes: 0,
            finished: false,
        });
        Src {
            tier,
            name,
            started: self.clock.now(),
            items: 0,
            bytes: 0,
            errors: 0,
            denied: 0,
            last_tick: 0,
        }
    }

    /// Counts one item and reports progress every 2000 items.
    pub fn item(&mut self, src: &mut Src, bytes: u64) {
        src.items += 1;
        src.bytes += bytes;
        if src.items - src.last_tick >= 2000 {
            src.last_tick = src.items;
            (self.progress)(&Progress::Source {
                tier: src.tier,
                source: src.name,
                items: src.items,
                bytes: src.bytes,
                finished: false,
            });
        }
    }

    /// Records a failure to read part of the examined system.
    pub fn fail(
        &mut self,
        src: &mut Src,
        path: &[u8],
        what: &str,
        error: &str,
        errno: Option<i32>,
    ) -> Result<(), Error> {
        src.errors += 1;
        let denied = matches!(errno, Some(1 | 13));
        if denied {
            src.denied += 1;
        }
        let mut o = Obj::new();
        o.insert("source".into(), Value::from(src.name));
        o.insert("tier".into(), Value::from(src.tier.name()));
        json::bytes(&mut o, "path", path);
        o.insert("what".into(), Value::from(what));
        o.insert("error".into(), Value::from(error));
        o.insert("errno".into(), errno.map_or(Value::Null, Value::from));
        o.insert("permission_denied".into(), Value::from(denied));
        if let Some(errors) = self.errors.as_mut() {
            errors.write(&Value::Object(o))?;
        }
        Ok(())
    }

    /// [`Ctx::fail`] for an errno.
    pub fn fail_errno(&mut self, src: &mut Src, path: &[u8], what: &str, e: Errno) -> Result<(), Error> {
        let msg = std::io::Error::from(e).to_string();
        self.fail(src, path, what, &msg, Some(e.raw_os_error()))
    }

    /// [`Ctx::fail`] for a host-read error.
    pub fn fail_host(
        &mut self,
        src: &mut Src,
        path: &[u8],
        what: &str,
        e: &cordon_host::Error,
    ) -> Result<(), Error> {
        let errno = match e {
            cordon_host::Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        };
        self.fail(src, path, what, &e.to_string(), errno)
    }

    /// Closes a source: one line in `collection.log`.
    pub fn end(&mut self, src: Src) -> Result<(), Error> {
        let finished = self.clock.now();
        (self.progress)(&Progress::Source {
            tier: src.tier,
            source: src.name,
            items: src.items,
            bytes: src.bytes,
            finished: true,
        });
        if let Some(log) = self.log.as_mut() {
            log.write(&json!({
                "source": src.name,
                "tier": src.tier.name(),
                "started": format_utc(src.started),
                "finished": format_utc(finished),
                "items": src.items,
                "bytes": src.bytes,
                "errors": src.errors,
                "permission_denied": src.denied,
            }))?;
        }
        self.stats.push(SourceStats {
            tier: src.tier,
            source: src.name.to_owned(),
            started: src.started,
            finished,
            items: src.items,
            bytes: src.bytes,
            errors: src.errors,
            permission_denied: src.denied,
        });
        Ok(())
    }

    /// A remark for the report and the log.
    pub fn note(&mut self, text: String) -> Result<(), Error> {
        if let Some(log) = self.log.as_mut() {
            log.write(&json!({ "note": text, "time": format_utc(self.clock.now()) }))?;
        }
        self.notes.push(text);
        Ok(())
    }

    /// Writes a JSON Lines file from already built objects.
    pub fn write_jsonl(&mut self, src: &mut Src, rel: &str, items: Vec<Value>) -> Result<(), Error> {
        let mut out = Jsonl::create(&mut self.bundle, rel)?;
        for item in items {
            out.write(&item)?;
            src.items += 1;
        }
        src.bytes += out.bytes();
        out.finish(&mut self.bundle)?;
        Ok(())
    }

    /// Copies an open regular file of the examined system into `[root]/<inner path>`, at most `cap`
    /// bytes, hashing what was copied. Returns (sha256 of the copy, bytes copied, truncated).
    pub fn copy_into_root(
        &mut self,
        inner: &[u8],
        mut file: std::fs::File,
        cap: u64,
    ) -> Result<Result<(String, u64, bool), std::io::Error>, Error> {
        use sha2::Digest as _;
        use std::io::Read as _;
        let mut rel = b"[root]".to_vec();
        if !inner.starts_with(b"/") {
            rel.push(b'/');
        }
        rel.extend_from_slice(inner);
        let mut out = self.bundle.create_file(&rel)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut copied = 0u64;
        let mut read_error = None;
        while copied < cap {
            let want = usize::try_from((cap - copied).min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            match file.read(chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let data = chunk.get(..n).unwrap_or_default();
                    out.write_all(data)?;
                    hasher.update(data);
                    copied += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        // Truncated when there is at least one byte more than the cap.
        let truncated = copied >= cap && matches!(file.read(&mut [0u8; 1]), Ok(1));
        self.bundle.finish(out)?;
        match read_error {
            Some(e) => Ok(Err(e)),
            None => Ok(Ok((hex::encode(hasher.finalize()), copied, truncated))),
        }
    }
}

/// SHA-256 of a file, unless it is larger than `cap` (then not read at all).
pub(crate) fn hash_file(mut file: std::fs::File, size: u64, cap: u64) -> std::io::Result<Hashed> {
    use sha2::Digest as _;
    use std::io::Read as _;
    if size > cap {
        return Ok(Hashed {
            sha256: None,
            bytes: 0,
        });
    }
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(buf.get(..n).unwrap_or_default());
                total += n as u64;
                if total > cap {
                    // Grew past the cap while being read.
                    return Ok(Hashed {
                        sha256: None,
                        bytes: total,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Hashed {
        sha256: Some(hex::encode(hasher.finalize())),
        bytes: total,
    })
}

fn check_destination(opts: &CollectOptions) -> Result<(), Error> {
    if opts.allow_suspect_storage {
        return Ok(());
    }
    let mounts = cordon_host::mounts::read_own_mountinfo()?;
    let out = cordon_host::mounts::storage_of(&opts.out_dir, &mounts)?;
    let target = cordon_host::mounts::storage_of(opts.target.root(), &mounts)?;
    if let Some(why) = cordon_host::mounts::shared_storage(&out, &target) {
        return Err(Error::SuspectStorage {
            path: opts.out_dir.clone(),
            why,
        });
    }
    Ok(())
}

pub(crate) fn run(
    opts: &CollectOptions,
    clock: &dyn Clock,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<CollectReport, Error> {
    let started = clock.now();
    check_destination(opts)?;
    let root = cordon_host::open::open_root(opts.target.root())?;
    let mut bundle = Bundle::create(&opts.out_dir)?;
    let mut exclude = HashSet::new();
    if let Ok(m) = cordon_host::meta::statx_path(&opts.out_dir) {
        exclude.insert((m.dev.0, m.dev.1, m.ino));
    }
    let errors = Jsonl::create(&mut bundle, "errors.jsonl")?;
    let log = Jsonl::create(&mut bundle, "collection.log")?;
    let mut ctx = Ctx {
        opts,
        clock,
        progress,
        bundle,
        root: root.fd,
        errors: Some(errors),
        log: Some(log),
        exclude,
        stats: Vec::new(),
        notes: Vec::new(),
        executables: Vec::new(),
        exe_hashes: HashMap::new(),
        copied: HashSet::new(),
        atime_touched: u64::from(!root.noatime),
        started,
    };
    let mut skipped = Vec::new();
    let result = run_tiers(&mut ctx, &mut skipped);
    let finished = clock.now();
    let denied: u64 = ctx.stats.iter().map(|s| s.permission_denied).sum();
    let errors: u64 = ctx.stats.iter().map(|s| s.errors).sum();
    let privileged = rustix::process::geteuid().is_root();
    if !privileged {
        ctx.note("not running as root: parts of the system could not be read (see errors.jsonl)".into())?;
    }
    if ctx.atime_touched > 0 {
        let n = ctx.atime_touched;
        ctx.note(format!(
            "{n} files or directories were read without O_NOATIME (not permitted): their access times may have changed"
        ))?;
    }
    // Close the log files even after a failure, so that what was written verifies.
    let summary = json!({
        "summary": true,
        "started": format_utc(started),
        "finished": format_utc(finished),
        "errors": errors,
        "permission_denied": denied,
        "partial": !privileged || denied > 0,
        "outcome": match &result { Ok(()) => "complete".to_owned(), Err(e) => format!("stopped: {e}") },
    });
    let close = |ctx: &mut Ctx<'_>| -> Result<(), Error> {
        if let Some(e) = ctx.errors.take() {
            e.finish(&mut ctx.bundle)?;
        }
        if let Some(mut log) = ctx.log.take() {
            log.write(&summary)?;
            log.finish(&mut ctx.bundle)?;
        }
        ctx.bundle.sync()
    };
    let closed = close(&mut ctx);
    result?;
    closed?;
    let mut report = CollectReport {
        out_dir: opts.out_dir.clone(),
        files: ctx.bundle.files().to_vec(),
        archive_contents: Vec::new(),
        sources: ctx.stats,
        skipped,
        errors,
        permission_denied: denied,
        partial: !privileged || denied > 0,
        notes: ctx.notes,
        started,
        finished,
    };
    if opts.archive {
        let archive = make_archive(&mut ctx.bundle, &opts.out_dir, finished)?;
        report.archive_contents = std::mem::take(&mut report.files);
        ctx.bundle.replace_with_archive(archive.clone())?;
        report.files = vec![archive];
    }
    Ok(report)
}

fn run_tiers(ctx: &mut Ctx<'_>, skipped: &mut Vec<(Tier, String)>) -> Result<(), Error> {
    let mut tiers: BTreeSet<Tier> = ctx.opts.tiers.clone();
    tiers.insert(Tier::T0);
    for tier in tiers {
        if tier.is_live_only() && !ctx.opts.target.is_live() {
            let why = "live-only tier: the target is not the running system";
            (ctx.progress)(&Progress::TierSkipped(tier, why));
            ctx.note(format!("{tier} skipped: {why}"))?;
            skipped.push((tier, why.to_owned()));
            continue;
        }
        (ctx.progress)(&Progress::TierStarted(tier));
        match tier {
            Tier::T0 => crate::t0::collect(ctx)?,
            Tier::T1 => crate::t1::collect(ctx)?,
            Tier::T3 => crate::t3::collect(ctx)?,
            Tier::T4 => crate::t4::collect(ctx)?,
            Tier::T5 => crate::t5::collect(ctx)?,
            Tier::T6 => crate::t6::collect(ctx)?,
            Tier::T7 => crate::t7::collect(ctx)?,
        }
    }
    Ok(())
}

/// Packs every bundle file (and the manifest) into `<dir name>.tar.zst` inside the bundle directory.
fn make_archive(bundle: &mut Bundle, dir: &Path, when: Timestamp) -> Result<WrittenFile, Error> {
    let base = dir
        .file_name()
        .map_or_else(|| b"bundle".to_vec(), |n| n.as_bytes().to_vec());
    let mut name = base.clone();
    name.extend_from_slice(b".tar.zst");
    let out = bundle.create_file(&name)?;
    let wrap = |e: std::io::Error| Error::write(Path::new(OsStr::from_bytes(&name)), e);
    let encoder = zstd::Encoder::new(out, 3).map_err(wrap)?;
    let mut tar = tar::Builder::new(encoder);
    let mut members: Vec<Vec<u8>> = bundle
        .files()
        .iter()
        .map(|f| f.path.as_os_str().as_bytes().to_vec())
        .collect();
    members.push(MANIFEST.as_bytes().to_vec());
    let mtime = u64::try_from(when.as_second()).unwrap_or(0);
    for rel in members {
        let file = bundle.open_written(&rel)?;
        let size = file.metadata().map_err(wrap)?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        let mut path = base.clone();
        path.push(b'/');
        path.extend_from_slice(&rel);
        tar.append_data(&mut header, Path::new(OsStr::from_bytes(&path)), file)
            .map_err(wrap)?;
    }
    let encoder = tar.into_inner().map_err(wrap)?;
    let out = encoder.finish().map_err(wrap)?;
    bundle.finish(out)
}

/// Mount ids of filesystems never walked, from the mount table.
pub(crate) fn skipped_mounts() -> HashSet<u64> {
    cordon_host::mounts::read_own_mountinfo()
        .map(|mounts| {
            mounts
                .into_iter()
                .filter(|m| cordon_host::mounts::is_pseudo_or_network(&m.fs_type))
                .map(|m| m.id)
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh descriptor of the target's root (so walks can borrow it while the context is mutated).
pub(crate) fn dup_root(ctx: &Ctx<'_>) -> Result<OwnedFd, Error> {
    rustix::io::dup(&ctx.root).map_err(|e| Error::Destination {
        path: ctx.opts.target.root().to_owned(),
        what: if e == Errno::MFILE {
            "too many open files"
        } else {
            "cannot duplicate the root descriptor"
        },
    })
}
