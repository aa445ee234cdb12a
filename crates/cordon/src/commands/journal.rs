//! `cordon journal`: list the case journal, escaped for the terminal or as JSON lines.

use std::io::Write as _;

use anyhow::{Context as _, bail};
use clap::Args;
use cordon_case::{Entry, EntryFilter};
use cordon_core::bytes_json::insert_bytes;
use cordon_core::{Clock as _, escape_terminal, format_utc, parse_utc};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;

/// `cordon journal`
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Only entries since TIME: an RFC 3339 time ("2026-11-24T14:00:00Z", "…+01:00") or a span back
    /// from now ("30m", "2h", "1d").
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries of this kind (`note` includes `note.decision` …).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cordon journal`.
pub fn run(args: &JournalArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let since = args.since.as_deref().map(|s| parse_since(s, ctx)).transpose()?;
    let case = ctx.open_case()?;
    let filter = EntryFilter {
        since,
        kind: args.kind.clone(),
    };
    let json = args.json;
    let out = &mut ctx.out;
    case.for_each_entry(&filter, |e| {
        let line = if json { json_line(&e) } else { text_line(&e) };
        writeln!(out, "{line}").map_err(|source| cordon_case::Error::Io {
            what: "write",
            path: "stdout".into(),
            source,
        })
    })?;
    Ok(Outcome::Clean)
}

fn parse_since(s: &str, ctx: &Ctx) -> anyhow::Result<String> {
    if let Ok(ts) = parse_utc(s) {
        return Ok(format_utc(ts));
    }
    // Days are taken as 24 hours: "1d" means the last 24 hours, whatever the local calendar says.
    let span = s
        .parse::<jiff::Span>()
        .ok()
        .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok());
    let Some(span) = span else {
        bail!("--since {s:?}: give an RFC 3339 time (2026-11-24T14:00:00Z) or a span such as 30m, 2h, 1d");
    };
    let ts = ctx
        .clock
        .now()
        .checked_sub(span.abs())
        .context("--since goes back too far")?;
    Ok(format_utc(ts))
}

fn text_line(e: &Entry) -> String {
    format!(
        "{:>6}  {}  {:<18} {:<16} {}",
        e.seq,
        e.time,
        escape_terminal(e.actor.as_bytes()),
        e.kind,
        escape_terminal(&e.text)
    )
}

fn json_line(e: &Entry) -> String {
    let mut m = Map::new();
    m.insert("seq".into(), json!(e.seq));
    m.insert("time".into(), json!(e.time));
    m.insert("actor".into(), json!(e.actor));
    m.insert("kind".into(), json!(e.kind));
    insert_bytes(&mut m, "text", &e.text);
    m.insert("data".into(), e.data_json());
    m.insert("prev".into(), json!(e.prev));
    m.insert("hash".into(), json!(e.hash));
    Value::Object(m).to_string()
}
