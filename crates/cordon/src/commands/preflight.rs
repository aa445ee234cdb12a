//! `cordon preflight`: the gate before the rebuilt host goes back on the network. Exit 0 only when
//! every check passes.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_core::{Severity, escape_terminal, parse_utc};
use cordon_host::Target;
use cordon_hunt::indicators::from_findings;
use cordon_hunt::preflight::{CaseFacts, Check, run as preflight};
use serde_json::json;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon preflight`
#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// Check a mounted system at DIR instead of the running one.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// One JSON object per check.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cordon preflight`.
pub fn run(args: &PreflightArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let target = match &args.root {
        Some(d) => {
            Target::offline(std::fs::canonicalize(d).with_context(|| format!("--root {}", d.display()))?)
        }
        None => Target::live(),
    };
    let mut case = ctx.try_open_case()?;
    let facts = match &case {
        Some(c) => {
            let findings = c.findings(Severity::Info)?;
            let opened = parse_utc(&c.info()?.created_at)
                .map(|t| t.as_second() / 86_400)
                .unwrap_or(0);
            CaseFacts {
                indicators: from_findings(&findings),
                findings,
                detected_day: opened,
            }
        }
        None => {
            output::warn(
                "no case: the incident's indicators and entry vector are unknown; only the hunt and hardening are checked",
            );
            CaseFacts::default()
        }
    };
    let mut checks = preflight(&target, &facts)?;
    checks.push(packages(&target));

    let passed = checks.iter().all(|c| c.pass);
    for c in &checks {
        if args.json {
            writeln!(
                ctx.out(),
                "{}",
                json!({"check": c.id, "pass": c.pass, "reason": c.reason})
            )?;
        } else {
            writeln!(
                ctx.out(),
                "{} {:<28} {}",
                if c.pass { "PASS" } else { "FAIL" },
                c.id,
                escape_terminal(c.reason.as_bytes())
            )?;
        }
    }
    if !args.json {
        let failed = checks.iter().filter(|c| !c.pass).count();
        if passed {
            writeln!(ctx.out(), "preflight passed: the host may go back on the network")?;
        } else {
            writeln!(
                ctx.out(),
                "preflight FAILED: {failed} check(s); keep the host off the network"
            )?;
        }
    }
    if let Some(c) = case.as_mut() {
        let results: Vec<_> = checks
            .iter()
            .map(|c| json!({"check": c.id, "pass": c.pass, "reason": c.reason}))
            .collect();
        let text = if passed {
            "preflight passed".to_owned()
        } else {
            format!(
                "preflight failed: {} check(s)",
                checks.iter().filter(|c| !c.pass).count()
            )
        };
        c.append(
            &ctx.clock,
            &ctx.actor,
            "preflight",
            text.as_bytes(),
            &json!({"pass": passed, "checks": results}),
        )?;
        if passed {
            c.complete_task(&ctx.clock, &ctx.actor, "preflight")?;
        }
    }
    Ok(if passed {
        Outcome::Clean
    } else {
        Outcome::Attention
    })
}

/// Every installed package's files against the package database (conffiles excluded: admins edit them).
fn packages(target: &Target) -> Check {
    let opts = cordon_integrity::packages::VerifyOptions {
        no_conffiles: true,
        ..Default::default()
    };
    match cordon_integrity::packages::verify_against_db(target.root(), &opts) {
        Ok(r) if r.items.is_empty() => Check {
            id: "packages".into(),
            pass: true,
            reason: format!(
                "{} files of {} packages match the package database",
                r.files_checked, r.packages
            ),
        },
        Ok(r) => {
            let first: Vec<String> = r
                .items
                .iter()
                .take(5)
                .map(|i| {
                    format!(
                        "{} ({}, {})",
                        String::from_utf8_lossy(&i.path),
                        i.status.as_str(),
                        i.package
                    )
                })
                .collect();
            Check {
                id: "packages".into(),
                pass: false,
                reason: format!(
                    "{} package file(s) do not match: {}",
                    r.items.len(),
                    first.join("; ")
                ),
            }
        }
        Err(e) => Check {
            id: "packages".into(),
            pass: false,
            reason: format!("package integrity could not be checked: {e}"),
        },
    }
}
