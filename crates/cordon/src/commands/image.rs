//! `cordon image`: a disk, partition or file copied into the case with hashes computed while it
//! streams, unreadable sectors zero-filled and mapped, optionally split and zstd-compressed, verified
//! by reading both sides again, and registered as evidence with custody.

use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cordon_case::Case;
use cordon_case::case::EVIDENCE_DIR;
use cordon_case::evidence::{FileRecord, NewItem};
use cordon_core::{Clock as _, escape_terminal, format_utc};
use cordon_image::sink::ImageWriter;
use cordon_image::{AcquireOptions, Algorithm, Error as ImageError, SinkOptions, Source, SourceKind};
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// Output compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// One standard zstd frame (decompress with `zstd -d`, or `cat PARTS | zstd -d` when split).
    Zstd,
}

/// `cordon image`
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Block device, partition or regular file to image (opened read-only; never written).
    pub source: PathBuf,
    /// Directory to write the image into (default: the case's evidence directory). Must not be on
    /// the disk being imaged.
    pub dest: Option<PathBuf>,
    /// Hashes computed while copying (comma-separated: sha256, sha1, md5).
    #[arg(long, value_name = "LIST", default_value = "sha256")]
    pub hash: String,
    /// Split the output into parts of this size (e.g. 4G, 650M); parts concatenate to the whole.
    #[arg(long, value_name = "SIZE")]
    pub split: Option<String>,
    /// Compress the output.
    #[arg(long, value_enum)]
    pub compress: Option<Compression>,
    /// zstd level (1-19).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
    /// Read the source and the image again afterwards and compare the hashes.
    #[arg(long)]
    pub verify: bool,
    /// Bytes per read.
    #[arg(long, value_name = "SIZE", default_value = "4M")]
    pub block_size: String,
    /// Extra attempts for a failing block and then for each failing sector.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
}

/// `NAME`-safe text: letters, digits, `-`, `.`, others become `_`.
pub(crate) fn safe(s: &str) -> String {
    s.chars()
        .take(60)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A fresh evidence name `E0007-HOST-KIND-WHAT-WHEN`.
pub(crate) fn evidence_name(case: &Case, ctx: &Ctx, kind: &str, what: &str) -> anyhow::Result<String> {
    let seq = case.evidence_items()?.iter().map(|i| i.id).max().unwrap_or(0) + 1;
    let when = ctx.clock.now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let host = safe(&cordon_host::identity::hostname());
    Ok(if what.is_empty() {
        format!("E{seq:04}-{host}-{kind}-{when}")
    } else {
        format!("E{seq:04}-{host}-{kind}-{}-{when}", safe(what))
    })
}

/// The path recorded in the case: relative to the case when inside it, absolute otherwise.
pub(crate) fn case_rel(case_dir: &Path, p: &Path) -> Vec<u8> {
    let case_dir = std::fs::canonicalize(case_dir).unwrap_or_else(|_| case_dir.to_owned());
    match p.strip_prefix(&case_dir) {
        Ok(rel) => rel.as_os_str().as_bytes().to_vec(),
        Err(_) => p.as_os_str().as_bytes().to_vec(),
    }
}

/// The destination directory, resolved, and the work directory created inside it.
pub(crate) fn work_dir(case: &Case, dest: Option<&Path>, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let base = match dest {
        Some(d) => std::fs::canonicalize(d).with_context(|| format!("cannot resolve {}", d.display()))?,
        None => case.dir().join(EVIDENCE_DIR),
    };
    let work = base.join(format!("{name}.partial"));
    std::fs::create_dir(&work).with_context(|| format!("cannot create {}", work.display()))?;
    Ok((base, work))
}

/// Progress on standard error: a rewritten line on a terminal, a line every 30 s otherwise.
pub(crate) struct Meter {
    started: Instant,
    last: Instant,
    tty: bool,
    label: &'static str,
}

impl Meter {
    pub(crate) fn new(label: &'static str) -> Meter {
        Meter {
            started: Instant::now(),
            last: Instant::now(),
            tty: rustix::termios::isatty(std::io::stderr()),
            label,
        }
    }

    pub(crate) fn update(&mut self, done: u64, total: u64, bad: u64) {
        let every = if self.tty { 0.5 } else { 30.0 };
        if self.last.elapsed().as_secs_f64() < every && done < total {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (total.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        let pct = if total > 0 {
            done as f64 * 100.0 / total as f64
        } else {
            100.0
        };
        let bad = if bad > 0 {
            format!(", {} unreadable", output::bytes(bad))
        } else {
            String::new()
        };
        let line = format!(
            "{} {pct:5.1}%  {} / {}  {}/s  ETA {:.0}s{bad}",
            self.label,
            output::bytes(done),
            output::bytes(total),
            output::bytes(rate as u64),
            eta
        );
        let mut err = std::io::stderr();
        let _ = if self.tty {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
    }

    pub(crate) fn end(&self) {
        if self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}

fn hashes_json(h: &[(Algorithm, String)]) -> Value {
    Value::Object(h.iter().map(|(a, d)| (a.name().to_owned(), json!(d))).collect())
}

/// Writes `acquisition.json` into `dir`, returning its record.
pub(crate) fn write_log(dir: &Path, value: &Value) -> anyhow::Result<(PathBuf, String, u64)> {
    let path = dir.join("acquisition.json");
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(&text)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    let (sha256, size) = cordon_case::evidence::hash_file(&path)?;
    Ok((path, sha256, size))
}

/// Records a failed acquisition: the work directory is renamed `….incomplete`, a best-effort log is
/// written in it, and the journal says the image is incomplete. Nothing is registered as evidence.
pub(crate) fn record_incomplete(
    case: &mut Case,
    ctx: &Ctx,
    work: &Path,
    base: &Path,
    name: &str,
    mut log: Value,
    error: &anyhow::Error,
) -> PathBuf {
    let incomplete = base.join(format!("{name}.incomplete"));
    let dir = match std::fs::rename(work, &incomplete) {
        Ok(()) => incomplete,
        Err(_) => work.to_owned(),
    };
    if let Value::Object(m) = &mut log {
        m.insert("complete".into(), json!(false));
        m.insert("error".into(), json!(format!("{error:#}")));
        m.insert("ended".into(), json!(format_utc(ctx.clock.now())));
    }
    let _ = write_log(&dir, &log);
    let mut data = log;
    if let Value::Object(m) = &mut data {
        cordon_core::bytes_json::insert_bytes(m, "path", &case_rel(case.dir(), &dir));
    }
    let text = format!(
        "INCOMPLETE acquisition left in {} (not registered as evidence): {error:#}",
        String::from_utf8_lossy(&case_rel(case.dir(), &dir))
    );
    let _ = case.append(
        &ctx.clock,
        &ctx.actor,
        "evidence.incomplete",
        text.as_bytes(),
        &data,
    );
    dir
}

/// Runs `cordon image`.
pub fn run(args: &ImageArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let algorithms = Algorithm::parse_list(&args.hash)?;
    let split = args
        .split
        .as_deref()
        .map(cordon_image::size::parse_size)
        .transpose()?;
    let block = cordon_image::size::parse_size(&args.block_size)?;
    let source = Source::open(&args.source)?;
    let what = source
        .resolved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = evidence_name(&case, ctx, "image", &what)?;
    // The destination must not be on the device being imaged: checked before anything is created.
    let dest_base = match &args.dest {
        Some(d) => std::fs::canonicalize(d).with_context(|| format!("cannot resolve {}", d.display()))?,
        None => std::fs::canonicalize(case.dir().join(EVIDENCE_DIR))
            .with_context(|| format!("cannot resolve {}", case.dir().display()))?,
    };
    source.check_destination(&dest_base)?;
    if let Ok(vfs) = rustix::fs::statvfs(&dest_base) {
        let free = vfs.f_bavail.saturating_mul(vfs.f_frsize);
        if args.compress.is_none() && free < source.size {
            let _ = writeln!(
                std::io::stderr(),
                "warning: {} free at the destination, the image needs {}",
                output::bytes(free),
                output::bytes(source.size)
            );
        }
    }
    let (base, work) = work_dir(&case, Some(&dest_base), &name)?;
    let image_name = match args.compress {
        Some(Compression::Zstd) => "image.raw.zst",
        None => "image.raw",
    };
    let single_raw = split.is_none() && args.compress.is_none();
    let writer_opts = SinkOptions {
        dir: work.clone(),
        name: image_name.into(),
        split,
        zstd_level: args.compress.map(|_| args.level),
        hash_outputs: !(single_raw && algorithms.contains(&Algorithm::Sha256)),
        content_size: Some(source.size),
        direct_io: true,
    };
    let mut opts = AcquireOptions::new(source.size, source.sector_size);
    opts.block_size = usize::try_from(block).unwrap_or(cordon_image::engine::DEFAULT_BLOCK);
    opts.retries = args.retries;
    opts.algorithms = algorithms.clone();

    let started = format_utc(ctx.clock.now());
    let mut log = json!({
        "tool": format!("cordon {}", env!("CARGO_PKG_VERSION")),
        "source": source.resolved.to_string_lossy(),
        "source_as_given": source.path.to_string_lossy(),
        "source_kind": source.kind,
        "size": source.size,
        "sector_size": source.sector_size,
        "physical_sector_size": source.physical_sector_size,
        "device": source.device,
        "noatime": source.noatime,
        "source_stat_before": source.stat_before,
        "started": started,
        "host": cordon_host::identity::hostname(),
        "hash": algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "split": split,
        "compression": args.compress.map(|_| json!({"format": "zstd", "level": args.level})),
        "block_size": opts.block_size,
        "retries": opts.retries,
    });
    let _ = writeln!(
        std::io::stderr(),
        "imaging {} ({}, {}) into {}",
        escape_terminal(source.resolved.as_os_str().as_bytes()),
        output::bytes(source.size),
        match source.kind {
            SourceKind::BlockDevice => "block device",
            SourceKind::RegularFile => "file",
        },
        escape_terminal(work.as_os_str().as_bytes())
    );

    let copy = (|| -> Result<_, ImageError> {
        let mut writer = ImageWriter::new(writer_opts)?;
        let mut meter = Meter::new("image ");
        let got = cordon_image::acquire(&source.file, &opts, Some(&mut writer), &mut |p| {
            meter.update(p.done, p.total, p.bad_bytes);
            true
        });
        meter.end();
        let got = got?;
        let files = writer.finish()?;
        Ok((got, files))
    })();
    let (got, mut files) = match copy {
        Ok(v) => v,
        Err(e) => {
            let e = anyhow::Error::new(e);
            let dir = record_incomplete(&mut case, ctx, &work, &base, &name, log, &e);
            return Err(e.context(format!(
                "the image is INCOMPLETE and was not registered; the partial copy is in {}",
                dir.display()
            )));
        }
    };
    if let Some(sha) = got.hash(Algorithm::Sha256)
        && let [only] = files.as_mut_slice()
        && only.sha256.is_none()
    {
        only.sha256 = Some(sha.to_owned());
    }
    let stat_after = source.stat_now()?;
    let changed = stat_after.mtime != source.stat_before.mtime
        || stat_after.ctime != source.stat_before.ctime
        || stat_after.size != source.stat_before.size;
    let ended = format_utc(ctx.clock.now());

    let mut verification = None;
    if args.verify {
        let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        let mut meter = Meter::new("verify");
        let v = cordon_image::verify::verify(
            &source.file,
            &opts,
            &got.hashes,
            &paths,
            args.compress.is_some(),
            &mut |p| {
                meter.update(p.done, p.total, p.bad_bytes);
                true
            },
        );
        meter.end();
        match v {
            Ok(v) => verification = Some(v),
            Err(e) => {
                let e = anyhow::Error::new(e);
                let dir = record_incomplete(&mut case, ctx, &work, &base, &name, log, &e);
                return Err(e.context(format!(
                    "the verify pass failed; the image was not registered and is in {}",
                    dir.display()
                )));
            }
        }
    }
    let final_dir = base.join(&name);
    let out_files: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({"name": f.path.file_name().map(|n| n.to_string_lossy().into_owned()),
                   "size": f.size, "sha256": f.sha256})
        })
        .collect();
    if let Value::Object(m) = &mut log {
        m.insert("complete".into(), json!(true));
        m.insert("ended".into(), json!(ended));
        m.insert("hashes".into(), hashes_json(&got.hashes));
        m.insert("bytes".into(), json!(got.bytes));
        m.insert(
            "error_map".into(),
            json!(
                got.bad
                    .iter()
                    .map(|b| json!({
                        "offset": b.offset, "length": b.length,
                        "first_sector": b.offset / source.sector_size,
                        "sectors": b.length.div_ceil(source.sector_size),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        m.insert("unreadable_bytes".into(), json!(got.bad_bytes));
        m.insert("failed_reads".into(), json!(got.failed_reads));
        m.insert("first_error".into(), json!(got.first_error));
        m.insert("source_stat_after".into(), json!(stat_after));
        m.insert("source_changed".into(), json!(changed));
        m.insert("files".into(), json!(out_files));
        m.insert("verify".into(), json!(verification));
    }
    let (log_path, log_sha, log_size) = match write_log(&work, &log) {
        Ok(v) => v,
        Err(e) => {
            let dir = record_incomplete(&mut case, ctx, &work, &base, &name, log, &e);
            return Err(e.context(format!(
                "the image was not registered; it is in {}",
                dir.display()
            )));
        }
    };
    std::fs::rename(&work, &final_dir)
        .with_context(|| format!("cannot rename {} to {}", work.display(), final_dir.display()))?;
    let moved = |p: &Path| final_dir.join(p.file_name().unwrap_or_default());
    let mut records: Vec<FileRecord> = files
        .iter()
        .map(|f| FileRecord {
            path: case_rel(case.dir(), &moved(&f.path)),
            sha256: f.sha256.clone().unwrap_or_default(),
            size: f.size,
        })
        .collect();
    records.push(FileRecord {
        path: case_rel(case.dir(), &moved(&log_path)),
        sha256: log_sha,
        size: log_size,
    });
    let method = format!(
        "cordon {} image ({}; read-only O_NOATIME open, {} reads, {} while copying, {} retries then \
         bisection to the sector, unreadable sectors zero-filled{}{}{})",
        env!("CARGO_PKG_VERSION"),
        match source.kind {
            SourceKind::BlockDevice => "block device",
            SourceKind::RegularFile => "file",
        },
        output::bytes(opts.block_size as u64),
        algorithms.iter().map(|a| a.name()).collect::<Vec<_>>().join("+"),
        opts.retries,
        if args.compress.is_some() {
            ", zstd"
        } else {
            ", raw"
        },
        if split.is_some() { ", split" } else { "" },
        if args.verify { ", verified" } else { "" },
    );
    let item = NewItem {
        label: format!("disk image of {}", source.resolved.display()),
        kind: "disk-image".into(),
        path: case_rel(case.dir(), &final_dir),
        note: Vec::new(),
        source: source.resolved.as_os_str().as_bytes().to_vec(),
        source_host: cordon_host::identity::hostname(),
        method,
        action: "acquired".into(),
        files: records,
        details: log.clone(),
    };
    let registered = case.register_evidence(&ctx.clock, &ctx.actor, &item)?;
    case.complete_task(&ctx.clock, &ctx.actor, "image")?;

    let out = ctx.out();
    writeln!(
        out,
        "E{:04}  {}  ({}, {} file(s))",
        registered.id,
        escape_terminal(&case_rel(case.dir(), &final_dir)),
        output::bytes(got.bytes),
        files.len()
    )?;
    for (a, h) in &got.hashes {
        writeln!(out, "{:<7} {h}", a.name())?;
    }
    let mut attention = false;
    if got.bad_bytes > 0 {
        attention = true;
        writeln!(
            out,
            "completed with errors: {} unreadable in {} range(s), zero-filled (error map in acquisition.json)",
            output::bytes(got.bad_bytes),
            got.bad.len()
        )?;
        for b in got.bad.iter().take(20) {
            writeln!(
                out,
                "  bad: sectors {}..{} (bytes {}+{})",
                b.offset / source.sector_size,
                (b.offset + b.length).div_ceil(source.sector_size),
                b.offset,
                b.length
            )?;
        }
    }
    if changed {
        attention = true;
        writeln!(
            out,
            "warning: the source changed while it was imaged (live filesystem?)"
        )?;
    }
    if let Some(v) = &verification {
        if v.matches {
            writeln!(out, "verify: source and image hashes match")?;
        } else {
            attention = true;
            writeln!(
                out,
                "verify: MISMATCH (source {:?}, image {:?})",
                v.source, v.image
            )?;
        }
    }
    Ok(if attention {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}
