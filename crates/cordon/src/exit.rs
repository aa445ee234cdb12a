//! Exit codes, in one place: 0 clean, 1 findings present / verification failed, 2 usage or runtime
//! error. A closed pipe (`cordon journal | head`) is not an error and exits 0.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::command_log::CommandRun;
use crate::context::Ctx;
use crate::{commands, output};

/// What a command that ran to the end reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report.
    Clean,
    /// Findings present, or a verification failed.
    Attention,
}

/// Exit status for usage and runtime errors.
pub const ERROR: u8 = 2;

/// Parses, runs, journals, prints errors and turns the result into the process exit status.
pub fn run_and_exit() -> ExitCode {
    let run = CommandRun::start();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { ERROR } else { 0 };
            let _ = e.print();
            if code != 0 {
                run.finish_without_ctx(code, Some(&e.to_string()));
            }
            return ExitCode::from(code);
        }
    };
    let mut ctx = Ctx::new(cli.case.clone());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commands::dispatch(&cli, &mut ctx)
    }));
    let (code, error) = match result {
        Ok(Ok(Outcome::Clean)) => (0, None),
        Ok(Ok(Outcome::Attention)) => (1, None),
        Ok(Err(e)) if is_broken_pipe(&e) => (0, None),
        Ok(Err(e)) => (ERROR, Some(format!("{e:#}"))),
        Err(_) => (
            ERROR,
            Some("cordon crashed (a bug: please report it with this case's journal)".to_owned()),
        ),
    };
    let _ = ctx.out.flush();
    if let Some(msg) = &error {
        output::error(msg);
    }
    run.finish(&mut ctx, code, error.as_deref());
    ExitCode::from(code)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
