//! `cordon hunt`: find what the attacker left behind, on the live host, a mounted image or a backup.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_core::{Finding, Severity, escape_terminal};
use cordon_host::Target;
use cordon_hunt::{Allowlist, HuntOptions, catalog};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon hunt`
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Examine a mounted image or backup at DIR instead of the running system (live checks skipped).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// One JSON object per finding per line.
    #[arg(long)]
    pub json: bool,
    /// Show findings at or above this severity (info, low, medium, high, critical); all are stored.
    #[arg(long, value_name = "S", default_value = "low", value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Allowlist of known-good findings (`KIND VALUE -- REASON` per line; see docs/checks.md).
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,
    /// Skip the whole-filesystem walk (launch points, accounts and live checks only).
    #[arg(long)]
    pub no_file_walk: bool,
    /// Print the catalog of checks (Markdown) and exit.
    #[arg(long)]
    pub list_checks: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("{s:?} is not one of info, low, medium, high, critical"))
}

/// Runs `cordon hunt`.
pub fn run(args: &HuntArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    if args.list_checks {
        write!(ctx.out(), "{}", catalog::markdown())?;
        return Ok(Outcome::Clean);
    }
    let allow = match &args.allow {
        Some(p) => Allowlist::parse(
            &std::fs::read_to_string(p).with_context(|| format!("allowlist {}", p.display()))?,
        )?,
        None => Allowlist::default(),
    };
    let target = match &args.root {
        Some(dir) => {
            Target::offline(std::fs::canonicalize(dir).with_context(|| format!("--root {}", dir.display()))?)
        }
        None => Target::live(),
    };
    let mut case = ctx.try_open_case()?;
    let mut opts = HuntOptions {
        allow,
        no_file_walk: args.no_file_walk,
        ..HuntOptions::default()
    };
    if let Some(c) = &case
        && let Ok(m) = std::fs::metadata(c.dir())
    {
        // Never hunt the case's own evidence copies.
        let dev = m.dev();
        opts.exclude
            .insert((rustix::fs::major(dev), rustix::fs::minor(dev), m.ino()));
    }
    let report = cordon_hunt::hunt(&target, &opts)?;

    if let Some(c) = case.as_mut() {
        let recorded = c.record_findings(&ctx.clock, &ctx.actor, "hunt", &report.target, &report.findings)?;
        c.complete_task(&ctx.clock, &ctx.actor, "hunt")?;
        output::info(&format!(
            "{} finding(s) stored in the case ({} new); {} launch points, {} files examined",
            report.findings.len(),
            recorded.new,
            report.launch_points.len(),
            report.files_walked
        ));
    } else {
        output::info("no case: findings were not stored (use --case DIR or CORDON_CASE to keep them)");
    }

    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= args.min_severity)
        .collect();
    if args.json {
        for f in &shown {
            writeln!(ctx.out(), "{}", f.to_json())?;
        }
    } else {
        print_human(&shown, &report, args.min_severity, ctx)?;
    }
    Ok(if report.has_at_least(Severity::Medium) {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}

fn print_human(
    shown: &[&Finding],
    report: &cordon_hunt::HuntReport,
    min: Severity,
    ctx: &mut Ctx,
) -> anyhow::Result<()> {
    let color = ctx.stdout_is_terminal();
    let out = ctx.out();
    for sev in Severity::ALL.iter().rev() {
        let group: Vec<&&Finding> = shown.iter().filter(|f| f.severity == *sev).collect();
        if group.is_empty() {
            continue;
        }
        let (on, off) = if color {
            (sev_color(*sev), "\x1b[0m")
        } else {
            ("", "")
        };
        writeln!(
            out,
            "{on}== {} ({}) =={off}",
            sev.as_str().to_uppercase(),
            group.len()
        )?;
        for f in group {
            let tech = f.technique.as_deref().unwrap_or("-");
            writeln!(
                out,
                "{on}[{}]{off} {}  {tech}  confidence {}",
                sev.as_str(),
                f.check,
                f.confidence.as_str()
            )?;
            writeln!(out, "    {}", escape_terminal(f.summary.as_bytes()))?;
            if !f.evidence.is_empty() {
                let ev: Vec<u8> = f.evidence.iter().copied().take(300).collect();
                let more = if f.evidence.len() > 300 { " …" } else { "" };
                writeln!(out, "    evidence: {}{more}", escape_terminal(&ev))?;
            }
            writeln!(
                out,
                "    what to do: {}",
                escape_terminal(f.remediation.as_bytes())
            )?;
        }
    }
    let hidden = report.findings.len() - shown.len();
    writeln!(
        out,
        "{} finding(s) on {}{}{}",
        shown.len(),
        escape_terminal(report.target.as_bytes()),
        if hidden > 0 {
            format!(
                "; {hidden} below {} not shown (--min-severity info shows all)",
                min.as_str()
            )
        } else {
            String::new()
        },
        if report.suppressed > 0 {
            format!("; {} suppressed by the allowlist", report.suppressed)
        } else {
            String::new()
        }
    )?;
    for n in report.notes.iter().take(20) {
        writeln!(out, "note: {}", escape_terminal(n.as_bytes()))?;
    }
    if report.notes.len() > 20 {
        writeln!(out, "note: … and {} more", report.notes.len() - 20)?;
    }
    Ok(())
}

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "\x1b[2m",
    }
}
