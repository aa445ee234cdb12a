//! One file per subcommand: its clap `Args` and its `run`. The dispatcher is this one `match`.

pub mod backup;
pub mod baseline;
pub mod capture;
pub mod case;
pub mod collect;
pub mod comms;
pub mod contain;
pub mod evidence;
pub mod hunt;
pub mod image;
pub mod journal;
pub mod logs;
pub mod memory;
pub mod note;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod scan;
pub mod sitrep;
pub mod status;
pub mod task;
pub mod timeline;
pub mod triage;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::exit::Outcome;

/// Runs the parsed command.
pub fn dispatch(cli: &Cli, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Case(c) => case::run(c, ctx),
        Command::Collect(a) => collect::run(a, ctx),
        Command::Hunt(a) => hunt::run(a, ctx),
        Command::Image(a) => image::run(a, ctx),
        Command::Memory(a) => memory::run(a, ctx),
        Command::Capture(a) => capture::run(a, ctx),
        Command::Contain(c) => contain::run(c, ctx),
        Command::Verify(c) => verify::run(c, ctx),
        Command::Scan(a) => scan::run(a, ctx),
        Command::Baseline(c) => baseline::run(c, ctx),
        Command::Logs(a) => logs::run(a, ctx),
        Command::Timeline(a) => timeline::run(a, ctx),
        Command::Note(a) => note::run(a, ctx),
        Command::Journal(a) => journal::run(a, ctx),
        Command::Evidence(c) => evidence::run(c, ctx),
        Command::Status(a) => status::run(a, ctx),
        Command::Task(c) => task::run(c, ctx),
        Command::Report(a) => report::run(a, ctx),
        Command::Sitrep(a) => sitrep::run(a, ctx),
        Command::Triage(a) => triage::run(a, ctx),
        Command::Plan(c) => plan::run(c, ctx),
        Command::Comms(a) => comms::run(a, ctx),
        Command::Backup(c) => backup::run(c, ctx),
        Command::Preflight(a) => preflight::run(a, ctx),
    }
}
