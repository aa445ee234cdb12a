//! `cordon collect`: live response into the case — volatile state first, nothing executed from the
//! suspect system, nothing on it changed — registered as one evidence item with custody.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use cordon_case::case::EVIDENCE_DIR;
use cordon_case::evidence::{FileRecord, NewItem};
use cordon_collect::{CollectOptions, Progress, Tier, parse_tiers};
use cordon_core::{Clock as _, escape_terminal};
use cordon_host::Target;
use serde_json::json;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon collect`
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Only these tiers (comma-separated: T0,T1,T3,T4,T5,T6,T7). T0, the time base, always runs.
    #[arg(long, value_name = "TIERS")]
    pub only: Option<String>,
    /// Skip these tiers (comma-separated).
    #[arg(long, value_name = "TIERS")]
    pub skip: Option<String>,
    /// Examine a mounted image or backup at DIR instead of the running system (live tiers are skipped).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write the bundle as one .tar.zst (plus its manifest) instead of loose files.
    #[arg(long)]
    pub archive: bool,
    /// Per-file cap in bytes for copies and hashes; larger files are truncated (copies) or listed
    /// unhashed, and say so.
    #[arg(long, value_name = "BYTES", default_value_t = cordon_collect::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Per-file cap in bytes for copies out of /tmp, /dev/shm, /run.
    #[arg(long, value_name = "BYTES", default_value_t = cordon_collect::DEFAULT_TMP_FILE_SIZE)]
    pub tmp_file_size: u64,
    /// Also walk other local filesystems mounted below / in the bodyfile pass (never pseudo or
    /// network filesystems).
    #[arg(long)]
    pub cross_mounts: bool,
    /// Record symbolic link targets (updates each link's own access time: readlink has no O_NOATIME).
    #[arg(long)]
    pub link_targets: bool,
    /// Write even when the case lies on storage of the examined system (overwrites deleted data).
    #[arg(long)]
    pub allow_suspect_disk: bool,
}

fn tiers(args: &CollectArgs) -> anyhow::Result<BTreeSet<Tier>> {
    let mut tiers: BTreeSet<Tier> = match &args.only {
        Some(list) => parse_tiers(list)?,
        None => Tier::ALL.into_iter().collect(),
    };
    if let Some(list) = &args.skip {
        for t in parse_tiers(list)? {
            tiers.remove(&t);
        }
    }
    Ok(tiers)
}

/// Runs `cordon collect`.
pub fn run(args: &CollectArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let target = match &args.root {
        Some(dir) => Target::offline(std::fs::canonicalize(dir)?),
        None => Target::live(),
    };
    let host = match &args.root {
        Some(_) => "image".to_owned(),
        None => cordon_host::identity::hostname(),
    };
    let seq = case.evidence_items()?.iter().map(|i| i.id).max().unwrap_or(0) + 1;
    let when = ctx.clock.now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let safe_host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("E{seq:04}-{safe_host}-collect-{when}");
    let rel_dir = format!("{EVIDENCE_DIR}/{name}");
    let mut opts = CollectOptions::new(target.clone(), case.dir().join(&rel_dir));
    opts.tiers = tiers(args)?;
    opts.archive = args.archive;
    opts.max_file_size = args.max_file_size;
    opts.tmp_file_size = args.tmp_file_size;
    opts.cross_mounts = args.cross_mounts;
    opts.read_link_targets = args.link_targets;
    opts.allow_suspect_storage = args.allow_suspect_disk;
    opts.tool = format!("cordon {}", env!("CARGO_PKG_VERSION"));

    let started = Instant::now();
    let mut stderr = std::io::stderr();
    let report = cordon_collect::collect(&opts, &ctx.clock, &mut |p| {
        use std::io::Write as _;
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let _ = match p {
            Progress::TierStarted(t) => writeln!(stderr, "[{secs:6.1}s] {t} …"),
            Progress::TierSkipped(t, why) => writeln!(stderr, "[{secs:6.1}s] {t} skipped: {why}"),
            Progress::Source {
                tier,
                source,
                items,
                bytes,
                finished,
            } => {
                let rate = *items as f64 / secs;
                let state = if *finished { "done" } else { "…" };
                writeln!(
                    stderr,
                    "[{secs:6.1}s] {tier} {source}: {items} items ({rate:.0}/s), {} {state}",
                    output::bytes(*bytes)
                )
            }
        };
    })?;

    let mut files: Vec<FileRecord> = report
        .files
        .iter()
        .map(|f| {
            let mut path = format!("{rel_dir}/").into_bytes();
            path.extend_from_slice(f.path.as_os_str().as_bytes());
            FileRecord {
                path,
                sha256: f.sha256.clone(),
                size: f.size,
            }
        })
        .collect();
    // The manifest is not listed in itself; register it too.
    let (sha256, size) = cordon_case::evidence::hash_file(&opts.out_dir.join(cordon_collect::MANIFEST))?;
    files.push(FileRecord {
        path: format!("{rel_dir}/{}", cordon_collect::MANIFEST).into_bytes(),
        sha256,
        size,
    });
    let sources: Vec<_> = report
        .sources
        .iter()
        .map(|s| {
            json!({"tier": s.tier.name(), "source": s.source, "items": s.items, "bytes": s.bytes,
            "errors": s.errors, "permission_denied": s.permission_denied})
        })
        .collect();
    let item = NewItem {
        label: format!("live response collection of {host}"),
        kind: "collection".into(),
        path: rel_dir.clone().into_bytes(),
        note: Vec::new(),
        source: target.root().as_os_str().as_bytes().to_vec(),
        source_host: cordon_host::identity::hostname(),
        method: format!(
            "{} collect (static binary reading /proc, /sys and files with O_NOATIME|O_NOFOLLOW; tiers {})",
            opts.tool,
            opts.tiers.iter().map(|t| t.name()).collect::<Vec<_>>().join(",")
        ),
        action: "collected".into(),
        files,
        details: json!({
            "partial": report.partial, "errors": report.errors,
            "permission_denied": report.permission_denied, "notes": report.notes,
            "skipped": report.skipped.iter().map(|(t, why)| json!({"tier": t.name(), "why": why})).collect::<Vec<_>>(),
            "sources": sources, "archive": args.archive,
        }),
    };
    let registered = case.register_evidence(&ctx.clock, &ctx.actor, &item)?;
    // The playbook's "collect volatile evidence" step is done once the volatile tiers ran live.
    if target.is_live() && opts.tiers.contains(&Tier::T1) {
        case.complete_task(&ctx.clock, &ctx.actor, "collect")?;
    }
    let out = ctx.out();
    writeln!(
        out,
        "E{:04}  {}  ({} file(s), {})",
        registered.id,
        escape_terminal(rel_dir.as_bytes()),
        report.files.len(),
        output::bytes(report.files.iter().map(|f| f.size).sum())
    )?;
    for note in &report.notes {
        writeln!(out, "note: {}", escape_terminal(note.as_bytes()))?;
    }
    if report.partial {
        writeln!(
            out,
            "partial: {} errors, {} permission denials (see errors.jsonl in the bundle)",
            report.errors, report.permission_denied
        )?;
        return Ok(Outcome::Attention);
    }
    Ok(Outcome::Clean)
}
