//! `cordon note`: the responder's running log ("pulled the network cable at 14:02").

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::context::Ctx;
use crate::exit::Outcome;

/// Largest note read from standard input.
const STDIN_CAP: u64 = 16 * 1024 * 1024;

/// What sort of note (NIST SP 800-61's running log distinguishes these).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NoteKind {
    /// Something seen.
    Observation,
    /// Something done.
    Action,
    /// Something decided, and ideally why.
    Decision,
    /// Someone told or asked (management, ISP, legal): counts as a status update.
    Communication,
}

/// `cordon note`
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The note; `-` reads it, byte for byte, from standard input.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    pub text: Vec<OsString>,
    /// What sort of note it is.
    #[arg(long, value_enum)]
    pub kind: Option<NoteKind>,
}

/// Runs `cordon note`.
pub fn run(args: &NoteArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let text = if args.text.len() == 1 && args.text.first().is_some_and(|t| t == "-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(STDIN_CAP + 1)
            .read_to_end(&mut buf)
            .context("cannot read the note from standard input")?;
        if buf.len() as u64 > STDIN_CAP {
            bail!("the note on standard input is larger than {STDIN_CAP} bytes; add it as evidence instead");
        }
        buf
    } else {
        let mut buf = Vec::new();
        for (i, t) in args.text.iter().enumerate() {
            if i > 0 {
                buf.push(b' ');
            }
            buf.extend_from_slice(t.as_bytes());
        }
        buf
    };
    if text.is_empty() {
        bail!("the note is empty");
    }
    let kind = match args.kind {
        None => "note".to_owned(),
        Some(k) => format!(
            "note.{}",
            k.to_possible_value()
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default()
        ),
    };
    let mut case = ctx.open_case()?;
    let entry = case.append(&ctx.clock, &ctx.actor, &kind, &text, &json!({}))?;
    writeln!(ctx.out(), "journal entry {} at {}", entry.seq, entry.time)?;
    Ok(Outcome::Clean)
}
