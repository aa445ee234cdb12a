//! What every command gets: the clock, who is acting, the case (once a command asks for it), stdout.

use std::io::{BufWriter, Stdout, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use cordon_case::{Actor, Case, find_case_dir};
use cordon_core::SystemClock;

/// The run's context.
pub struct Ctx {
    /// The clock.
    pub clock: SystemClock,
    /// The OS account and host running cordon.
    pub actor: Actor,
    /// `--case` / `CORDON_CASE`.
    pub case_arg: Option<PathBuf>,
    /// The case this run used, once known (the run is journaled there).
    pub case_dir: Option<PathBuf>,
    /// Buffered standard output.
    pub out: BufWriter<Stdout>,
}

impl Ctx {
    /// A context for this process.
    pub fn new(case_arg: Option<PathBuf>) -> Ctx {
        let who = cordon_host::identity::invoker();
        Ctx {
            clock: SystemClock,
            actor: Actor {
                user: who.user,
                uid: who.uid,
                host: who.host,
            },
            case_arg,
            case_dir: None,
            out: BufWriter::new(std::io::stdout()),
        }
    }

    /// Finds and opens the case, remembering it so the run is journaled there.
    pub fn open_case(&mut self) -> anyhow::Result<Case> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let dir = find_case_dir(self.case_arg.as_deref(), &cwd)?;
        let case = Case::open(&dir)?;
        self.case_dir = Some(dir);
        Ok(case)
    }

    /// Opens the case when one is named or found, `None` when the command runs without one. A case
    /// named explicitly (`--case`, `CORDON_CASE`) that cannot be opened is an error.
    pub fn try_open_case(&mut self) -> anyhow::Result<Option<Case>> {
        if self.case_arg.is_some() {
            return self.open_case().map(Some);
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        match find_case_dir(None, &cwd) {
            Ok(dir) => {
                let case = Case::open(&dir)?;
                self.case_dir = Some(dir);
                Ok(Some(case))
            }
            Err(_) => Ok(None),
        }
    }

    /// True when standard output is a terminal (colour, progress).
    pub fn stdout_is_terminal(&self) -> bool {
        rustix::termios::isatty(std::io::stdout())
    }

    /// Standard output.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }
}
