//! `cordon contain`: stop the loss — the only commands that change the host.
//!
//! Each subcommand shows its plan and stops there unless `--apply` is given. Applying journals the
//! plan first (`contain.apply`), acts, then journals the record needed to undo it (`contain.applied`),
//! so `cordon contain undo` works from the case alone, from any terminal.

mod host;
mod journal;
mod network;
mod state;
mod undo;
pub mod watchdog;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon contain …`
#[derive(Debug, Subcommand)]
pub enum ContainCommand {
    /// Cut the host off the network except for the responder, with an automatic rollback.
    Network(network::NetworkArgs),
    /// Lock an account: password locked, account expired, SSH keys moved into the case.
    Account(host::AccountArgs),
    /// Quarantine files: move them into the case (hash, metadata, original path kept).
    File(host::FileArgs),
    /// Freeze processes (SIGSTOP or the cgroup freezer), so memory can still be captured; `--kill` later.
    Process(host::ProcessArgs),
    /// Keep the network isolation in force (stops the automatic rollback).
    Confirm,
    /// What containment is in force, from the case journal and the kernel.
    Status,
    /// Restore what containment changed: `undo network`, `undo C12`, `undo --all`.
    Undo(undo::UndoArgs),
    /// (internal) the dead-man watchdog started by `contain network --apply`.
    #[command(hide = true)]
    Watchdog(watchdog::WatchdogArgs),
}

/// Options every acting subcommand shares.
#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// Act. Without it the plan is shown and nothing changes.
    #[arg(long)]
    pub apply: bool,
    /// Apply even though a safety check refused (journaled).
    #[arg(long)]
    pub force: bool,
}

/// Runs a `contain` subcommand.
pub fn run(cmd: &ContainCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        ContainCommand::Network(a) => network::run(a, ctx),
        ContainCommand::Account(a) => host::account(a, ctx),
        ContainCommand::File(a) => host::file(a, ctx),
        ContainCommand::Process(a) => host::process(a, ctx),
        ContainCommand::Confirm => network::confirm(ctx),
        ContainCommand::Status => undo::status(ctx),
        ContainCommand::Undo(a) => undo::run(a, ctx),
        ContainCommand::Watchdog(a) => watchdog::run(a, ctx),
    }
}

/// The directory an action keeps what it takes off the host in: `<case>/contain/<id>/`.
pub fn store_dir(case_dir: &std::path::Path, id: &str) -> PathBuf {
    case_dir.join("contain").join(id)
}

/// One line per containment action in force (`C5 network confirmed: allow 198.51.100.10/32`), for
/// `cordon status`.
pub fn in_force_lines(case: &cordon_case::Case) -> anyhow::Result<Vec<String>> {
    Ok(state::actions(case)?
        .into_iter()
        .filter(|a| a.stage.in_force())
        .map(|a| {
            let mut line = format!("{} {} {}: {}", a.id, a.kind, a.stage.word(), a.target);
            if a.stage == state::Stage::Applied
                && let Some(d) = a.data.get("deadline").and_then(serde_json::Value::as_str)
            {
                line.push_str(&format!(" (rolls back at {d} unless confirmed)"));
            }
            line
        })
        .collect())
}
