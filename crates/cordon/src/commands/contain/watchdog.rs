//! The dead-man watchdog: a detached cordon process that removes the isolation at the deadline
//! unless the journal says it was confirmed or undone.
//!
//! It runs in its own process group with no terminal (stdin, stdout and stderr on /dev/null), so the
//! hang-up of the SSH session that started it — the very thing it guards against — does not reach it.
//! It is the second switch: the kernel's set timeout stops the drop rules at the same deadline even if
//! this process is killed; the watchdog then also removes the table and journals the rollback — unless
//! the kernel holds the isolation as confirmed (a `confirm` whose journal entry is still on its way).

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use cordon_contain::nft::KernelState;
use cordon_core::{Clock as _, format_utc, parse_utc};
use serde_json::json;

use super::journal;
use super::state::{self, Stage};
use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon contain watchdog` (started by `contain network --apply`).
#[derive(Debug, Args)]
pub struct WatchdogArgs {
    /// The network action to guard.
    #[arg(long)]
    pub id: String,
    /// When to roll back (UTC, RFC 3339).
    #[arg(long)]
    pub deadline: String,
}

/// Starts the watchdog for `id`; returns its pid.
pub fn spawn(case_dir: &Path, id: &str, deadline: &str) -> anyhow::Result<u32> {
    let exe = std::env::current_exe().context("cannot find cordon's own executable")?;
    let child = Command::new(exe)
        .arg("--case")
        .arg(case_dir)
        .args(["contain", "watchdog", "--id", id, "--deadline", deadline])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("cannot start the watchdog process")?;
    // Not waited for: it outlives this process and is reaped by init.
    Ok(child.id())
}

/// Waits for the deadline, polling the journal each second; rolls back unless confirmed or undone.
pub fn run(args: &WatchdogArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let deadline = parse_utc(&args.deadline).map_err(|e| anyhow::anyhow!("bad --deadline: {e}"))?;
    // Errors reading the case (the responder's disk unplugged, a locked database) must not stop the
    // rollback: only a journal that positively says "confirmed" or "undone" does.
    let mut case = ctx.open_case().ok();
    // Started right after the table went in, possibly before `contain.applied` is journaled; if that
    // entry never comes (the parent died), rolling back at the deadline is still right.
    let settled = |case: &Option<cordon_case::Case>| {
        matches!(
            case.as_ref().map(|c| state::stage_of(c, &args.id)),
            Some(Ok(Some(Stage::Confirmed | Stage::Undone | Stage::RolledBack)))
        )
    };
    loop {
        if case.is_none() {
            case = ctx.open_case().ok();
        }
        if settled(&case) {
            return Ok(Outcome::Clean);
        }
        let now = ctx.clock.now();
        if now >= deadline {
            break;
        }
        let left = deadline.duration_since(now).unsigned_abs();
        std::thread::sleep(left.min(Duration::from_secs(1)));
    }
    // The journal was last read up to a second ago, and `confirm` changes the kernel before it
    // journals: look again, then ask the kernel. Armed elements without a timeout mean the isolation
    // was confirmed, whatever the journal says yet; removing it would undo the responder's confirm.
    if settled(&case) {
        return Ok(Outcome::Clean);
    }
    if let Ok(KernelState::Armed { expires_in_ms: None }) = cordon_contain::network::state() {
        return Ok(Outcome::Clean);
    }
    let removed = cordon_contain::network::remove();
    let text = match &removed {
        Ok(true) => format!(
            "{}: not confirmed by {}: the watchdog removed table inet cordon (network restored)",
            args.id, args.deadline
        ),
        Ok(false) => format!(
            "{}: not confirmed by {}: table inet cordon was already gone",
            args.id, args.deadline
        ),
        Err(e) => format!(
            "{}: not confirmed; the watchdog could NOT remove table inet cordon: {e}",
            args.id
        ),
    };
    let kind = if removed.is_ok() {
        "contain.rolled-back"
    } else {
        "contain.rollback-failed"
    };
    let mut case = match case {
        Some(c) => c,
        None => ctx.open_case()?,
    };
    journal::stage(
        &mut case,
        ctx,
        kind,
        &args.id,
        &text,
        json!({"by": "watchdog", "at": format_utc(ctx.clock.now()), "removed": removed.as_ref().ok()}),
    )?;
    removed?;
    Ok(Outcome::Clean)
}
