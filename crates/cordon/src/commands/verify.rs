//! `cordon verify packages`: every file of every installed package checked against the dpkg
//! database of the examined system, or against original `.deb` files (`--debs`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use cordon_core::{Finding, Severity, escape_terminal, escape_terminal_str};
use cordon_host::Target;
use cordon_integrity::packages::{self, VerifyItem, VerifyOptions, VerifyReport};
use serde_json::Value;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon verify`
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check installed package files against the dpkg database, or against original .deb files.
    Packages(VerifyPackagesArgs),
}

/// `cordon verify packages`
#[derive(Debug, Args)]
pub struct VerifyPackagesArgs {
    /// Examine a mounted image or backup at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Verify against the original .deb files in DIR (matched by package, version and architecture
    /// read from each archive) instead of the md5sums on the examined disk, which an attacker can
    /// rewrite. Use .debs from trusted media, not the suspect's var/cache/apt/archives.
    #[arg(long, value_name = "DIR")]
    pub debs: Option<PathBuf>,
    /// Only these packages (repeatable; default all installed packages).
    #[arg(long = "package", value_name = "NAME")]
    pub packages: Vec<String>,
    /// Do not check conffiles (like debsums without -a).
    #[arg(long)]
    pub no_conffiles: bool,
    /// One JSON object per result per line (finding fields plus status, package, version,
    /// expected, actual).
    #[arg(long)]
    pub json: bool,
}

/// Runs `cordon verify …`.
pub fn run(cmd: &VerifyCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        VerifyCommand::Packages(a) => run_packages(a, ctx),
    }
}

/// The target named by `--root`, or the live host.
pub(crate) fn target_of(root: Option<&Path>) -> anyhow::Result<Target> {
    Ok(match root {
        Some(dir) => {
            Target::offline(std::fs::canonicalize(dir).with_context(|| format!("--root {}", dir.display()))?)
        }
        None => Target::live(),
    })
}

fn run_packages(args: &VerifyPackagesArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let target = target_of(args.root.as_deref())?;
    let mut case = ctx.try_open_case()?;
    let report: VerifyReport = match &args.debs {
        Some(debs) => cordon_integrity::deb::verify_against_debs(target.root(), debs, &args.packages)?,
        None => packages::verify_against_db(
            target.root(),
            &VerifyOptions {
                no_conffiles: args.no_conffiles,
                only: args.packages.clone(),
            },
        )?,
    };
    let label = target.label();
    let findings: Vec<Finding> = report
        .items
        .iter()
        .map(|i| packages::to_finding(i, &label))
        .collect();
    if let Some(c) = case.as_mut() {
        let source = if args.debs.is_some() {
            "verify.debs"
        } else {
            "verify.packages"
        };
        let rec = c.record_findings(&ctx.clock, &ctx.actor, source, &label, &findings)?;
        output::info(&format!(
            "{} result(s) stored in the case ({} new)",
            findings.len(),
            rec.new
        ));
    }
    for p in report.problems.iter().take(50) {
        output::warn(p);
    }
    if report.problems.len() > 50 {
        output::warn(&format!("… and {} more problems", report.problems.len() - 50));
    }
    if args.json {
        for (item, f) in report.items.iter().zip(&findings) {
            writeln!(ctx.out(), "{}", result_json(f, &packages::item_attrs(item)))?;
        }
    } else {
        print_items(&report.items, ctx)?;
    }
    let reference = if args.debs.is_some() {
        "original .deb files"
    } else {
        "the dpkg database (on the examined disk)"
    };
    output::info(&format!(
        "{} packages, {} files checked against {reference}, {} hashed; {} result(s); {} package(s) not verifiable{}",
        report.packages,
        report.files_checked,
        output::bytes(report.bytes_hashed),
        report.items.len(),
        report.unverified_packages.len(),
        if report.unverified_packages.is_empty() {
            String::new()
        } else {
            format!(
                " ({}{})",
                report
                    .unverified_packages
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if report.unverified_packages.len() > 10 {
                    ", …"
                } else {
                    ""
                }
            )
        }
    ));
    if report.atime_touched > 0 {
        output::warn(&format!(
            "{} file(s) were read without O_NOATIME (not their owner, no CAP_FOWNER): their atime may have changed",
            report.atime_touched
        ));
    }
    Ok(if findings.iter().any(|f| f.severity >= Severity::Medium) {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}

/// A finding's JSON object with `extra` fields also at the top level (the verify/scan contract).
pub(crate) fn result_json(f: &Finding, extra: &[(String, Value)]) -> Value {
    let mut v = f.to_json();
    if let Value::Object(m) = &mut v {
        for (k, val) in extra {
            m.insert(k.clone(), val.clone());
        }
    }
    v
}

fn print_items(items: &[VerifyItem], ctx: &mut Ctx) -> anyhow::Result<()> {
    let out = ctx.out();
    for i in items {
        writeln!(
            out,
            "{:<20} {}  ({} {}{})",
            i.status.as_str().to_uppercase(),
            escape_terminal(&i.path),
            escape_terminal_str(&i.package),
            escape_terminal_str(&i.version),
            if i.conffile { ", conffile" } else { "" }
        )?;
        if i.expected.is_some() || i.actual.is_some() {
            writeln!(
                out,
                "    expected {} {}, found {}",
                i.algorithm.map_or("", |a| a.as_str()),
                escape_terminal_str(i.expected.as_deref().unwrap_or("-")),
                escape_terminal_str(i.actual.as_deref().unwrap_or("-"))
            )?;
        }
        if let Some(d) = &i.detail {
            writeln!(out, "    {}", escape_terminal_str(d))?;
        }
    }
    Ok(())
}
