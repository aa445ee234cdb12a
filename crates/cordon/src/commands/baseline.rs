//! `cordon baseline create|diff`: record a tree (AIDE-style) and list what changed since.

use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use cordon_core::{Severity, escape_terminal, escape_terminal_str};
use cordon_integrity::baseline::{self, Change};
use cordon_integrity::hash::Algo;

use crate::commands::verify::{result_json, target_of};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon baseline`
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Record path, type, mode, owner, size, times, inode, hash, capabilities and immutable flags.
    Create(CreateArgs),
    /// List added, removed and changed entries since a baseline, and what changed.
    Diff(DiffArgs),
}

/// `cordon baseline create`
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Paths of the examined system to record (default: all of it).
    pub paths: Vec<PathBuf>,
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The baseline file to write (zstd-compressed JSON lines; never overwritten). Keep it off the
    /// examined system.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// Content hash: blake3 or sha256.
    #[arg(long, value_name = "ALGO", default_value = "blake3", value_parser = parse_algo)]
    pub hash: Algo,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `cordon baseline diff`
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline file.
    pub baseline: PathBuf,
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// One JSON object per difference per line.
    #[arg(long)]
    pub json: bool,
}

fn parse_algo(s: &str) -> Result<Algo, String> {
    match Algo::parse(s) {
        Some(a @ (Algo::Blake3 | Algo::Sha256)) => Ok(a),
        _ => Err(format!("{s:?} is not blake3 or sha256")),
    }
}

/// Runs `cordon baseline …`.
pub fn run(cmd: &BaselineCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        BaselineCommand::Create(a) => create(a, ctx),
        BaselineCommand::Diff(a) => diff(a, ctx),
    }
}

fn create(args: &CreateArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let target = target_of(args.root.as_deref())?;
    let starts: Vec<Vec<u8>> = if args.paths.is_empty() {
        vec![b"/".to_vec()]
    } else {
        args.paths
            .iter()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .collect()
    };
    let snap = cordon_integrity::scan::with_threads(args.threads, || {
        baseline::snapshot(target.root(), &starts, args.hash, &ctx.clock)
    })?;
    for p in snap.problems.iter().take(20) {
        output::warn(p);
    }
    baseline::write(&snap, &args.output)?;
    output::info(&format!(
        "{} entries recorded in {} ({} problems)",
        snap.entries.len(),
        args.output.display(),
        snap.problems.len()
    ));
    Ok(Outcome::Clean)
}

fn diff(args: &DiffArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let old = baseline::read(&args.baseline)?;
    for p in old.problems.iter().take(20) {
        output::warn(p);
    }
    let target = target_of(args.root.as_deref())?;
    let mut case = ctx.try_open_case()?;
    let starts = baseline::starts_of(&old);
    let algo = baseline::algo_of(&old);
    let new = cordon_integrity::scan::with_threads(args.threads, || {
        baseline::snapshot(target.root(), &starts, algo, &ctx.clock)
    })?;
    let changes = baseline::diff(&old, &new);
    let label = target.label();
    let findings: Vec<_> = changes
        .iter()
        .map(|(p, c)| baseline::to_finding(p, c, &label))
        .collect();
    if let Some(c) = case.as_mut() {
        let rec = c.record_findings(&ctx.clock, &ctx.actor, "baseline.diff", &label, &findings)?;
        output::info(&format!(
            "{} difference(s) stored in the case ({} new)",
            findings.len(),
            rec.new
        ));
    }
    if args.json {
        for f in &findings {
            let extra: Vec<(String, serde_json::Value)> = ["status", "fields", "expected", "actual"]
                .iter()
                .filter_map(|k| f.attrs.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            writeln!(ctx.out(), "{}", result_json(f, &extra))?;
        }
    } else {
        let out = ctx.out();
        for (p, c) in &changes {
            let (what, detail) = match c {
                Change::Added(_) => ("ADDED", String::new()),
                Change::Removed(_) => ("REMOVED", String::new()),
                Change::Changed { fields, .. } => ("CHANGED", fields.join(", ")),
            };
            writeln!(
                out,
                "{what:<8} {}  {}",
                escape_terminal(p),
                escape_terminal_str(&detail)
            )?;
        }
    }
    output::info(&format!(
        "{} entries recorded, {} now; {} difference(s)",
        old.entries.len(),
        new.entries.len(),
        changes.len()
    ));
    Ok(if findings.iter().any(|f| f.severity >= Severity::Medium) {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}
