//! `cordon triage DIR`: the first hour in one command. It opens the case on the responder's clean
//! media, collects evidence in order of volatility, hunts, checks the installed packages, reads the
//! logs for the way in, writes a first sitrep and a preliminary report, and says in plain words what
//! to do next. It stops safely at the first step that fails, saying what was done; every step is
//! journaled like the command it stands for.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_case::Case;
use cordon_core::{Clock as _, Severity, escape_terminal, format_utc};
use serde_json::json;

use crate::commands::{case as case_cmd, collect, hunt, logs, report, sitrep, verify};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon triage`
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Case directory on the responder's clean media (created, or reused when it is already a case).
    pub dir: PathBuf,
    /// Short title of the incident.
    #[arg(long, default_value = "triage")]
    pub title: String,
    /// Incident handler's name (default: the user running cordon).
    #[arg(long)]
    pub handler: Option<String>,
    /// Examine a mounted image or backup at DIR instead of the running system (no live tiers).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Root of the suspect system whose storage the case must not be on.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub suspect_root: PathBuf,
    /// Create the case even on the suspect system's own storage (journaled as a warning).
    #[arg(long)]
    pub allow_suspect_disk: bool,
}

/// One step of the triage.
type Step<'a> = dyn Fn(&mut Ctx) -> anyhow::Result<Outcome> + 'a;

/// Runs `cordon triage`.
pub fn run(args: &TriageArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut attention = false;
    step(ctx, 1, "open the case")?;
    if args.dir.join("case.sqlite").is_file() {
        ctx.case_arg = Some(args.dir.clone());
        ctx.open_case()?;
        writeln!(
            ctx.out(),
            "reusing the case in {}",
            escape_terminal(args.dir.as_os_str().as_encoded_bytes())
        )?;
    } else {
        let init = case_cmd::InitArgs {
            dir: args.dir.clone(),
            title: args.title.clone(),
            handler: args.handler.clone().unwrap_or_else(|| ctx.actor.user.clone()),
            suspect_root: args.suspect_root.clone(),
            allow_suspect_disk: args.allow_suspect_disk,
            plan: None,
        };
        case_cmd::run(&case_cmd::CaseCommand::Init(init), ctx)?;
        ctx.case_arg = Some(args.dir.clone());
    }

    let steps: [(&str, &Step); 6] = [
        ("collect evidence, most volatile first", &|ctx| {
            collect::run(
                &collect::CollectArgs {
                    only: None,
                    skip: None,
                    root: args.root.clone(),
                    archive: false,
                    max_file_size: cordon_collect::DEFAULT_MAX_FILE_SIZE,
                    tmp_file_size: cordon_collect::DEFAULT_TMP_FILE_SIZE,
                    cross_mounts: false,
                    link_targets: false,
                    allow_suspect_disk: args.allow_suspect_disk,
                },
                ctx,
            )
        }),
        ("hunt for what the attacker left behind", &|ctx| {
            hunt::run(
                &hunt::HuntArgs {
                    root: args.root.clone(),
                    json: false,
                    min_severity: Severity::High,
                    allow: None,
                    no_file_walk: false,
                    list_checks: false,
                },
                ctx,
            )
        }),
        ("check installed packages against the package database", &|ctx| {
            verify::run(
                &verify::VerifyCommand::Packages(verify::VerifyPackagesArgs {
                    root: args.root.clone(),
                    debs: None,
                    packages: Vec::new(),
                    no_conffiles: true,
                    json: false,
                }),
                ctx,
            )
        }),
        ("read the logs for the way in", &|ctx| {
            logs::run(
                &logs::LogsArgs {
                    root: args.root.clone(),
                    logs: Vec::new(),
                    log_format: None,
                    json: false,
                    min_severity: Severity::High,
                    incident_start: None,
                    brute_threshold: 10,
                    tz: None,
                    max_log_mib: 8192,
                },
                ctx,
            )
        }),
        ("write a first status update for management", &|ctx| {
            let mut case = ctx.open_case()?;
            let text = sitrep::write_sitrep(&mut case, ctx, 30)?;
            let path = case.dir().join("reports").join(format!(
                "sitrep-{}.md",
                ctx.clock.now().strftime("%Y%m%dT%H%M%SZ")
            ));
            std::fs::write(&path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(
                ctx.out(),
                "sitrep: {}",
                escape_terminal(path.as_os_str().as_encoded_bytes())
            )?;
            Ok(Outcome::Clean)
        }),
        ("write a preliminary report", &|ctx| {
            let mut case = ctx.open_case()?;
            let dir = case.dir().join("reports").join(format!(
                "preliminary-{}",
                ctx.clock.now().strftime("%Y%m%dT%H%M%SZ")
            ));
            let now = format_utc(ctx.clock.now());
            report::write_report(
                &mut case,
                ctx,
                &dir,
                &["md".into(), "html".into()],
                &now,
                "preliminary report",
            )?;
            writeln!(
                ctx.out(),
                "report: {}",
                escape_terminal(dir.join("report.html").as_os_str().as_encoded_bytes())
            )?;
            Ok(Outcome::Clean)
        }),
    ];
    for (i, (what, f)) in steps.iter().enumerate() {
        step(ctx, i + 2, what)?;
        match f(ctx) {
            Ok(Outcome::Attention) => attention = true,
            Ok(Outcome::Clean) => {}
            Err(e) => {
                let msg = format!(
                    "triage stopped at step {} ({what}): {e:#}; the steps before it completed and are in the case",
                    i + 2
                );
                if let Ok(mut case) = ctx.open_case() {
                    let _ = case.append(
                        &ctx.clock,
                        &ctx.actor,
                        "warning",
                        msg.as_bytes(),
                        &json!({"step": what}),
                    );
                }
                output::error(&msg);
                next_steps(ctx)?;
                return Err(e.context("triage stopped"));
            }
        }
    }
    next_steps(ctx)?;
    Ok(if attention {
        Outcome::Attention
    } else {
        Outcome::Clean
    })
}

fn step(ctx: &mut Ctx, n: usize, what: &str) -> anyhow::Result<()> {
    writeln!(ctx.out(), "\n== step {n}/7: {what} ==")?;
    std::io::Write::flush(&mut ctx.out)?;
    Ok(())
}

/// What to do now, in plain words, from what the case holds.
fn next_steps(ctx: &mut Ctx) -> anyhow::Result<()> {
    let case: Case = ctx.open_case()?;
    let findings = case.findings(Severity::Medium)?;
    let out = ctx.out();
    writeln!(out, "\n== what to do next ==")?;
    let critical = findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    let high = findings.iter().filter(|f| f.severity == Severity::High).count();
    if critical + high > 0 {
        writeln!(
            out,
            "1. Contain: {critical} critical and {high} high findings. Cut the host off the network except for your own connection (cordon contain), lock the accounts and keys named in the findings, freeze — do not kill — suspicious processes."
        )?;
        writeln!(
            out,
            "2. Image the disks and memory before changing anything else (cordon image), so the evidence survives the cleanup."
        )?;
        writeln!(
            out,
            "3. Call for help: your incident-response retainer or a specialist, management, and — if personal data may be involved — your data-protection officer."
        )?;
        writeln!(
            out,
            "4. Do not trust this host again: plan to rebuild it from trusted media; verify backups before restoring (cordon backup check)."
        )?;
    } else {
        writeln!(
            out,
            "1. Nothing high or critical was found automatically. Read the report, then look at the logs for the way in (cordon timeline, cordon logs)."
        )?;
        writeln!(
            out,
            "2. Keep the host isolated until you know how the attacker got in; image it if you will need evidence later (cordon image)."
        )?;
    }
    writeln!(
        out,
        "Send the status update in reports/ to management now and every 30 minutes (cordon sitrep)."
    )?;
    Ok(())
}
