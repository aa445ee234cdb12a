//! `cordon contain status` and `cordon contain undo`.

use std::path::{Path, PathBuf};

use clap::Args;
use cordon_core::escape_terminal_str;
use serde_json::{Value, json};

use super::state::{self, Action};
use super::{journal, network, store_dir};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon contain undo`
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// What to undo: an id (`C12`) or a kind (`network`, `account`, `file`, `process`) for every
    /// action of that kind in force.
    pub what: Vec<String>,
    /// Undo everything in force, newest first.
    #[arg(long, conflicts_with = "what")]
    pub all: bool,
}

/// Lists every action with its stage, and what the kernel enforces.
pub fn status(ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let case = ctx.open_case()?;
    let actions = state::actions(&case)?;
    let out = ctx.out();
    if actions.is_empty() {
        writeln!(out, "no containment has been applied in this case")?;
    }
    for a in &actions {
        let mut line = format!(
            "{:<6} {:<8} {:<12} {}  {}",
            a.id,
            a.kind,
            a.stage.word(),
            a.applied_at,
            escape_terminal_str(&a.target)
        );
        if a.kind == "network"
            && a.stage == state::Stage::Applied
            && let Some(d) = a.data.get("deadline").and_then(Value::as_str)
        {
            line.push_str(&format!("  (rolls back at {d} unless confirmed)"));
        }
        writeln!(out, "{line}")?;
    }
    if actions.iter().any(|a| a.kind == "network") {
        writeln!(out, "{}", network::kernel_line())?;
    }
    Ok(Outcome::Clean)
}

/// Undoes the selected actions, newest first; each is journaled before and after.
pub fn run(args: &UndoArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let in_force: Vec<Action> = state::actions(&case)?
        .into_iter()
        .filter(|a| a.stage.in_force())
        .collect();
    let list = || {
        in_force
            .iter()
            .map(|a| format!("{} ({} {})", a.id, a.kind, a.target))
            .collect::<Vec<_>>()
    };
    let selected: Vec<&Action> = if args.all {
        in_force.iter().rev().collect()
    } else if args.what.is_empty() {
        anyhow::bail!(
            "say what to undo: an id, a kind or --all. In force: {}",
            if in_force.is_empty() {
                "nothing".to_string()
            } else {
                list().join(", ")
            }
        );
    } else {
        let mut v = Vec::new();
        for w in &args.what {
            let hits: Vec<&Action> = in_force
                .iter()
                .rev()
                .filter(|a| a.id == *w || a.kind == *w)
                .collect();
            if hits.is_empty() {
                anyhow::bail!(
                    "nothing in force matches {w:?}. In force: {}",
                    if in_force.is_empty() {
                        "nothing".to_string()
                    } else {
                        list().join(", ")
                    }
                );
            }
            v.extend(hits);
        }
        v
    };
    let mut failures = 0;
    for a in selected {
        journal::stage(
            &mut case,
            ctx,
            "contain.undo",
            &a.id,
            &format!("undoing {} ({})", a.id, a.kind),
            json!({}),
        )?;
        match undo_one(a, &store_dir(case.dir(), &a.id)) {
            Ok(lines) => {
                journal::stage(
                    &mut case,
                    ctx,
                    "contain.undone",
                    &a.id,
                    &format!("{}: {} undone", a.id, a.kind),
                    json!({"restored": lines}),
                )?;
                let out = ctx.out();
                writeln!(out, "{}: undone", a.id)?;
                for l in &lines {
                    writeln!(out, "  - {}", escape_terminal_str(l))?;
                }
            }
            Err(e) => {
                failures += 1;
                let _ = journal::stage(
                    &mut case,
                    ctx,
                    "contain.undo-failed",
                    &a.id,
                    &format!("{}: undo failed: {e:#}", a.id),
                    json!({"error": format!("{e:#}")}),
                );
                output::error(&format!("{}: undo failed: {e:#}", a.id));
            }
        }
    }
    if failures > 0 {
        anyhow::bail!("{failures} action(s) could not be undone (see above); they are still in force");
    }
    Ok(Outcome::Clean)
}

/// Undoes one action; `store` is its store directory in the case as it is now.
fn undo_one(a: &Action, store: &Path) -> anyhow::Result<Vec<String>> {
    match a.kind.as_str() {
        "network" => Ok(vec![if cordon_contain::network::remove()? {
            "table inet cordon removed: the network is as it was before".to_string()
        } else {
            "table inet cordon was already gone".to_string()
        }]),
        "account" => {
            let mut r: cordon_contain::account::AccountRecord = serde_json::from_value(a.record.clone())?;
            if let Some(s) = &mut r.shadow {
                in_store(&mut s.backup.stored, store);
            }
            r.keys.iter_mut().for_each(|k| in_store(&mut k.stored, store));
            Ok(r.undo()?)
        }
        "file" => {
            let mut r: cordon_contain::quarantine::QuarantineRecord =
                serde_json::from_value(a.record.clone())?;
            r.files.iter_mut().for_each(|f| in_store(&mut f.stored, store));
            Ok(r.undo()?)
        }
        "process" => {
            Ok(serde_json::from_value::<cordon_contain::freeze::FreezeRecord>(a.record.clone())?.undo()?)
        }
        other => anyhow::bail!("unknown containment kind {other:?}"),
    }
}

/// Records name each copy by its absolute path when it was taken, but the case is on the responder's
/// disk, which may be mounted elsewhere now: the copy is taken from the action's store directory in
/// the case as it is, when it is there (undo checks its SHA-256 either way).
fn in_store(stored: &mut PathBuf, store: &Path) {
    if let Some(name) = stored.file_name() {
        let here = store.join(name);
        if here.is_file() {
            *stored = here;
        }
    }
}
