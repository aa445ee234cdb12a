//! `cordon task list | done | add`: the response playbook.

use clap::{Args, Subcommand};
use cordon_core::escape_terminal;

use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon task …`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Every task, done or open, in playbook order.
    List,
    /// Mark a task done (by its number or its key, e.g. `collect`).
    Done(DoneArgs),
    /// Add a task of your own.
    Add(AddArgs),
}

/// `cordon task done`
#[derive(Debug, Args)]
pub struct DoneArgs {
    /// Task number (from `cordon task list`) or playbook key.
    pub id: String,
}

/// `cordon task add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// What needs doing.
    #[arg(required = true, num_args = 1..)]
    pub text: Vec<String>,
}

/// Runs `cordon task …`.
pub fn run(cmd: &TaskCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    match cmd {
        TaskCommand::List => {
            for t in case.tasks()? {
                let mark = if t.is_done() { "[x]" } else { "[ ]" };
                let key = t.key.as_deref().map(|k| format!(" ({k})")).unwrap_or_default();
                writeln!(
                    ctx.out(),
                    "{mark} {:>2}{key} {}",
                    t.id,
                    escape_terminal(t.title.as_bytes())
                )?;
                if let (Some(at), Some(by)) = (&t.done_at, &t.done_by) {
                    writeln!(
                        ctx.out(),
                        "         done {at} by {}",
                        escape_terminal(by.as_bytes())
                    )?;
                } else if !t.hint.is_empty() {
                    writeln!(ctx.out(), "         how: {}", escape_terminal(t.hint.as_bytes()))?;
                }
            }
        }
        TaskCommand::Done(a) => match case.complete_task(&ctx.clock, &ctx.actor, &a.id)? {
            Some(t) => writeln!(
                ctx.out(),
                "done: {} {}",
                t.id,
                escape_terminal(t.title.as_bytes())
            )?,
            None => writeln!(
                ctx.out(),
                "task {} was already done",
                escape_terminal(a.id.as_bytes())
            )?,
        },
        TaskCommand::Add(a) => {
            let t = case.add_task(&ctx.clock, &ctx.actor, &a.text.join(" "))?;
            writeln!(
                ctx.out(),
                "added task {}: {}",
                t.id,
                escape_terminal(t.title.as_bytes())
            )?;
        }
    }
    Ok(Outcome::Clean)
}
