//! `cordon sitrep`: the short management update, journaled as sent.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cordon_case::Case;
use cordon_core::{Clock as _, format_utc};
use cordon_report::gather::at;
use cordon_report::{Medium, render, sitrep};
use serde_json::json;

use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon sitrep`
#[derive(Debug, Args)]
pub struct SitrepArgs {
    /// Also write the update to FILE (`-`: standard output only, the default).
    #[arg(long, value_name = "FILE|-")]
    pub send_to: Option<PathBuf>,
    /// Minutes until the next update is due.
    #[arg(long, value_name = "MIN", default_value_t = 30, env = "CORDON_UPDATE_EVERY")]
    pub every: i64,
}

/// Runs `cordon sitrep`.
pub fn run(args: &SitrepArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let text = write_sitrep(&mut case, ctx, args.every)?;
    match &args.send_to {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display()))?;
        }
        _ => {}
    }
    write!(ctx.out(), "{text}")?;
    Ok(Outcome::Clean)
}

/// Renders the sitrep, journals it (kind `sitrep`, the text as sent) and ticks the "notify" task.
pub fn write_sitrep(case: &mut Case, ctx: &Ctx, every_min: i64) -> anyhow::Result<String> {
    let now = ctx.clock.now();
    let due = now
        .checked_add(jiff::SignedDuration::from_mins(every_min))
        .unwrap_or(now);
    let sctx = sitrep::context(case, &format_utc(now), &format_utc(due))?;
    let text = render("sitrep", Medium::Markdown, &sctx)?;
    case.append(
        &ctx.clock,
        &ctx.actor,
        "sitrep",
        text.as_bytes(),
        &json!({"phase": at(&sctx, "phase"), "next_due": format_utc(due)}),
    )?;
    case.complete_task(&ctx.clock, &ctx.actor, "notify")?;
    Ok(text)
}
