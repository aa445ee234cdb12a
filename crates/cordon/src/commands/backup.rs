//! `cordon backup check`: which backup can be trusted? Each is searched for the incident's own
//! indicators (from the case) and hunted; the newest clean one is named as the restore candidate.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use cordon_core::{Severity, escape_terminal};
use cordon_hunt::HuntOptions;
use cordon_hunt::backup::{BackupResult, check};
use cordon_hunt::indicators::from_findings;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon backup …`
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Check backups (directory trees or .tar, .tar.gz, .tar.zst archives) before restoring one.
    Check(CheckArgs),
}

/// `cordon backup check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The backups.
    #[arg(required = true)]
    pub backups: Vec<PathBuf>,
    /// One JSON object per backup.
    #[arg(long)]
    pub json: bool,
}

/// Package files in the backup that differ from its own package database (files missing from a
/// backup are not counted: backups legitimately leave paths out).
fn package_integrity(r: &mut BackupResult) {
    use cordon_integrity::packages::{Status, VerifyOptions, to_finding, verify_against_db};
    let opts = VerifyOptions {
        no_conffiles: true,
        ..VerifyOptions::default()
    };
    match verify_against_db(&r.path, &opts) {
        Ok(report) => {
            let target = r.path.display().to_string();
            r.findings.extend(
                report
                    .items
                    .iter()
                    .filter(|i| !matches!(i.status, Status::Missing | Status::Unreadable))
                    .map(|i| to_finding(i, &target))
                    .filter(|f| f.severity >= Severity::Medium),
            );
        }
        Err(e) => r.notes.push(format!("package integrity not checked: {e}")),
    }
}

/// Runs `cordon backup …`.
pub fn run(cmd: &BackupCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let BackupCommand::Check(args) = cmd;
    let mut case = ctx.try_open_case()?;
    let indicators = match &case {
        Some(c) => from_findings(&c.findings(Severity::Medium)?),
        None => {
            output::warn(
                "no case: the incident's own indicators are unknown, only the hunt runs on the backups",
            );
            Vec::new()
        }
    };
    let mut results: Vec<BackupResult> = Vec::new();
    for b in &args.backups {
        match check(b, &indicators, &HuntOptions::default()) {
            Ok(mut r) => {
                if r.kind == "directory" {
                    package_integrity(&mut r);
                }
                results.push(r);
            }
            Err(e) => output::error(&format!("{e}")),
        }
    }
    results.sort_by(|a, b| a.date.cmp(&b.date));
    let candidate = results.iter().rev().find(|r| r.clean()).map(|r| r.path.clone());

    let as_json = |r: &BackupResult| -> Value {
        json!({
            "path": r.path.to_string_lossy(), "kind": r.kind, "date": r.date, "clean": r.clean(),
            "indicators": r.indicators.iter().map(|i| i.describe()).collect::<Vec<_>>(),
            "findings": r.findings.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
            "notes": r.notes, "restore_candidate": Some(&r.path) == candidate.as_ref(),
        })
    };
    if args.json {
        for r in &results {
            writeln!(ctx.out(), "{}", as_json(r))?;
        }
    } else {
        let out = ctx.out();
        writeln!(out, "{:<22} {:<10} verdict", "taken (UTC)", "kind")?;
        for r in &results {
            let verdict = if r.clean() {
                "clean".to_owned()
            } else {
                format!(
                    "contains {} incident indicator(s), {} other finding(s)",
                    r.indicators.len(),
                    r.findings.len()
                )
            };
            writeln!(
                out,
                "{:<22} {:<10} {verdict}  {}",
                r.date,
                r.kind,
                escape_terminal(r.path.as_os_str().as_encoded_bytes())
            )?;
            for i in &r.indicators {
                writeln!(out, "    indicator: {}", i.describe())?;
            }
            for f in r.findings.iter().take(10) {
                writeln!(
                    out,
                    "    {} {}: {}",
                    f.severity.as_str(),
                    f.check,
                    escape_terminal(f.summary.as_bytes())
                )?;
            }
            for n in r.notes.iter().take(10) {
                writeln!(out, "    note: {}", escape_terminal(n.as_bytes()))?;
            }
        }
        match &candidate {
            Some(p) => writeln!(
                out,
                "restore candidate: {} (the newest clean backup)",
                escape_terminal(p.as_os_str().as_encoded_bytes())
            )?,
            None => writeln!(
                out,
                "no clean backup: rebuild from installation media and restore data only after inspecting it"
            )?,
        }
    }
    if let Some(c) = case.as_mut() {
        let summary: Vec<Value> = results.iter().map(as_json).collect();
        let text = format!(
            "checked {} backup(s) against {} incident indicator(s): {}",
            results.len(),
            indicators.len(),
            candidate
                .as_ref()
                .map_or("no clean backup".to_owned(), |p| format!(
                    "restore candidate {}",
                    p.display()
                ))
        );
        c.append(
            &ctx.clock,
            &ctx.actor,
            "backup.check",
            text.as_bytes(),
            &json!({"backups": summary}),
        )?;
        c.complete_task(&ctx.clock, &ctx.actor, "backups")?;
    }
    Ok(
        if results.iter().all(BackupResult::clean) && results.len() == args.backups.len() {
            Outcome::Clean
        } else {
            Outcome::Attention
        },
    )
}
