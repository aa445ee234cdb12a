//! `cordon plan init | check`: an Incident Response Plan tailored to the organisation's facts, and a
//! check of which facts are still missing.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use cordon_core::{Clock as _, escape_terminal, format_utc};
use cordon_report::plan::{OrgFacts, example};
use cordon_report::render::render_plan;

use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon plan …`
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Write the plan from the organisation's facts (without --org: an example to fill in).
    Init(InitArgs),
    /// List the facts the plan still lacks (exit 1 when any).
    Check(CheckArgs),
}

/// `cordon plan init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The organisation's facts (TOML: contacts, escalation, backups, DR/BCP; see docs/plan.md).
    #[arg(long, value_name = "FILE")]
    pub org: Option<PathBuf>,
    /// Where to write the plan (Markdown).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `cordon plan check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A plan written by `cordon plan init`, or an org facts TOML file.
    pub file: PathBuf,
}

/// Runs `cordon plan …`.
pub fn run(cmd: &PlanCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        PlanCommand::Init(a) => {
            let facts = match &a.org {
                Some(p) => OrgFacts::from_toml(
                    &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
                )?,
                None => example(),
            };
            let text = render_plan(&facts, &format_utc(ctx.clock.now()))?;
            std::fs::write(&a.output, text)
                .with_context(|| format!("cannot write {}", a.output.display()))?;
            writeln!(
                ctx.out(),
                "plan written to {}",
                escape_terminal(a.output.as_os_str().as_encoded_bytes())
            )?;
            report_missing(&facts, ctx)
        }
        PlanCommand::Check(a) => {
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            let facts = if text.contains(cordon_report::plan::FACTS_MARKER) {
                OrgFacts::from_plan(&text)?
            } else {
                OrgFacts::from_toml(&text)?
            };
            report_missing(&facts, ctx)
        }
    }
}

fn report_missing(facts: &OrgFacts, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let missing = facts.missing();
    let example_left = facts.to_toml()?.contains("EXAMPLE — replace");
    let out = ctx.out();
    if missing.is_empty() && !example_left {
        writeln!(out, "the plan has every fact it needs")?;
        return Ok(Outcome::Clean);
    }
    for (fact, why) in &missing {
        writeln!(out, "missing: {fact} — {why}")?;
    }
    if example_left {
        writeln!(
            out,
            "example values are still in the plan (marked \"EXAMPLE — replace\")"
        )?;
    }
    Ok(Outcome::Attention)
}
