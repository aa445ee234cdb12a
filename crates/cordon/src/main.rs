//! `cordon`: incident response for a compromised Linux server.
//!
//! This file only wires things: parse the command line, run the command, journal the run, exit.

mod cli;
mod command_log;
mod commands;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    exit::run_and_exit()
}
