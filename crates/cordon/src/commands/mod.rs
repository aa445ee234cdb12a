//! One file per subcommand: its clap `Args` and its `run`. The dispatcher is this one `match`.

pub mod case;
pub mod evidence;
pub mod journal;
pub mod note;
pub mod status;
pub mod task;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::exit::Outcome;

/// Runs the parsed command.
pub fn dispatch(cli: &Cli, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Case(c) => case::run(c, ctx),
        Command::Note(a) => note::run(a, ctx),
        Command::Journal(a) => journal::run(a, ctx),
        Command::Evidence(c) => evidence::run(c, ctx),
        Command::Status(a) => status::run(a, ctx),
        Command::Task(c) => task::run(c, ctx),
    }
}
