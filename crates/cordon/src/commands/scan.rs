//! `cordon scan`: sweep a tree of the examined system with YARA rules and IOC lists.

use std::collections::HashSet;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_core::{Finding, Severity, escape_terminal, escape_terminal_str};
use cordon_integrity::ioc::IocSet;
use cordon_integrity::scan::ScanOptions;

use crate::commands::verify::{result_json, target_of};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon scan`
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Paths of the examined system to scan (default: all of it).
    pub paths: Vec<PathBuf>,
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// YARA rule files or directories of `*.yar`/`*.yara` (repeatable).
    #[arg(long = "yara", value_name = "RULES")]
    pub yara: Vec<PathBuf>,
    /// IOC lists: hashes, file names, path globs, IPs, CIDRs, domains, URLs (repeatable).
    #[arg(long = "ioc", value_name = "FILE")]
    pub ioc: Vec<PathBuf>,
    /// Skip files whose content matches their package's md5sums (security tools contain malware
    /// strings).
    #[arg(long)]
    pub skip_verified: bool,
    /// Files larger than this many MiB are matched by name and path only.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_size_mib: u64,
    /// Scan other mounted filesystems too (pseudo and network filesystems never).
    #[arg(long)]
    pub cross_mounts: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// One JSON object per match per line.
    #[arg(long)]
    pub json: bool,
}

fn dev_ino(path: &std::path::Path) -> Option<(u32, u32, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((rustix::fs::major(m.dev()), rustix::fs::minor(m.dev()), m.ino()))
}

/// Runs `cordon scan`.
pub fn run(args: &ScanArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    if args.yara.is_empty() && args.ioc.is_empty() {
        anyhow::bail!("nothing to scan with: give --yara RULES and/or --ioc FILE");
    }
    let target = target_of(args.root.as_deref())?;
    let mut case = ctx.try_open_case()?;

    let rules = if args.yara.is_empty() {
        None
    } else {
        let set = cordon_integrity::yara::compile(&args.yara)?;
        for p in &set.problems {
            output::warn(p);
        }
        output::info(&format!(
            "{} YARA rules from {} file(s) ({} compiler warnings)",
            set.len(),
            set.files.len(),
            set.warnings
        ));
        Some(set)
    };
    let iocs = if args.ioc.is_empty() {
        None
    } else {
        let mut all = Vec::new();
        for f in &args.ioc {
            let text = std::fs::read(f).with_context(|| format!("IOC file {}", f.display()))?;
            let (iocs, bad) = cordon_integrity::ioc::parse(&text, &f.display().to_string());
            for b in bad.iter().take(20) {
                output::warn(b);
            }
            if bad.len() > 20 {
                output::warn(&format!("… and {} more junk lines", bad.len() - 20));
            }
            all.extend(iocs);
        }
        output::info(&format!("{} indicators", all.len()));
        Some(IocSet::new(all).map_err(anyhow::Error::msg)?)
    };

    let mut opts = ScanOptions {
        max_file_size: args.max_size_mib.saturating_mul(1024 * 1024),
        skip_verified: args.skip_verified,
        cross_mounts: args.cross_mounts,
        ..ScanOptions::default()
    };
    if !args.paths.is_empty() {
        opts.starts = args
            .paths
            .iter()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .collect();
    }
    // Never scan ourselves, the rule and IOC files, or the case (evidence copies match the rules).
    let mut own: HashSet<(u32, u32, u64)> = HashSet::new();
    if let Ok(exe) = std::env::current_exe() {
        own.extend(dev_ino(&exe));
    }
    for f in args
        .ioc
        .iter()
        .chain(cordon_integrity::yara::rule_files(&args.yara)?.iter())
    {
        own.extend(dev_ino(f));
    }
    opts.exclude_files = own;
    if let Some(c) = &case {
        opts.exclude_dirs.extend(dev_ino(c.dir()));
    }
    let show_progress = rustix::termios::isatty(std::io::stderr());
    let progress = |done: u64, total: u64| {
        if show_progress {
            let _ = write!(
                std::io::stderr().lock(),
                "\rcordon: scanned {done}/{total} files "
            );
        }
    };
    let report = cordon_integrity::scan::with_threads(args.threads, || {
        cordon_integrity::scan::scan(&target, rules.as_ref(), iocs.as_ref(), &opts, &progress)
    })?;
    if show_progress {
        let _ = writeln!(std::io::stderr().lock());
    }
    let label = target.label();
    if let Some(c) = case.as_mut() {
        let rec = c.record_findings(&ctx.clock, &ctx.actor, "scan", &label, &report.findings)?;
        output::info(&format!(
            "{} match(es) stored in the case ({} new)",
            report.findings.len(),
            rec.new
        ));
    }
    for p in report.problems.iter().take(20) {
        output::warn(p);
    }
    if args.json {
        for f in &report.findings {
            writeln!(ctx.out(), "{}", result_json(f, &[]))?;
        }
    } else {
        print_findings(&report.findings, ctx)?;
    }
    output::info(&format!(
        "{} files scanned ({}), {} over the size cap, {} skipped as package-verified, {} unreadable; {} match(es)",
        report.files,
        output::bytes(report.bytes),
        report.too_large,
        report.verified_skipped,
        report.errors,
        report.findings.len()
    ));
    Ok(
        if report.findings.iter().any(|f| f.severity >= Severity::Medium) {
            Outcome::Attention
        } else {
            Outcome::Clean
        },
    )
}

fn print_findings(findings: &[Finding], ctx: &mut Ctx) -> anyhow::Result<()> {
    let out = ctx.out();
    for f in findings {
        writeln!(
            out,
            "[{}] {}  {}",
            f.severity.as_str(),
            f.check,
            escape_terminal(f.path.as_deref().unwrap_or_default())
        )?;
        writeln!(out, "    {}", escape_terminal_str(&f.summary))?;
        let ev: Vec<u8> = f.evidence.iter().copied().take(200).collect();
        writeln!(out, "    evidence: {}", escape_terminal(&ev))?;
    }
    Ok(())
}
