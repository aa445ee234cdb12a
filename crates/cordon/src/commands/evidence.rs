//! `cordon evidence add | list`: what the responder gathered by hand, with hashes and custody.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use cordon_case::Case;
use cordon_case::evidence::EvidenceItem;
use cordon_core::bytes_json::insert_bytes;
use cordon_core::escape_terminal;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon evidence …`
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Copy files into the case (screenshots, photos of the console, ISP e-mails), hashed, with custody.
    Add(AddArgs),
    /// Every evidence item with its hash and chain of custody.
    List(ListArgs),
}

/// `cordon evidence add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Files to add; each becomes its own evidence item.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where it came from and why it matters ("e-mail from the ISP abuse desk").
    #[arg(long, default_value = "")]
    pub note: OsString,
}

/// `cordon evidence list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object per item.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cordon evidence …`.
pub fn run(cmd: &EvidenceCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        EvidenceCommand::Add(a) => add(a, ctx),
        EvidenceCommand::List(a) => list(a, ctx),
    }
}

fn add(args: &AddArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let mut failed = Vec::new();
    for file in &args.files {
        match case.add_evidence_file(&ctx.clock, &ctx.actor, file, args.note.as_bytes()) {
            Ok(item) => {
                let files = case.evidence_files(item.id)?;
                let sha = files.first().map(|f| f.sha256.as_str()).unwrap_or("");
                writeln!(
                    ctx.out(),
                    "E{:04}  {sha}  {}",
                    item.id,
                    escape_terminal(&item.path)
                )?;
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} file(s) could not be added (any others were): {}",
            failed.len(),
            args.files.len(),
            failed.join("; ")
        );
    }
    Ok(Outcome::Clean)
}

fn list(args: &ListArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let case = ctx.open_case()?;
    for item in case.evidence_items()? {
        if args.json {
            let line = item_json(&case, &item)?;
            writeln!(ctx.out(), "{line}")?;
        } else {
            print_item(&case, &item, ctx)?;
        }
    }
    Ok(Outcome::Clean)
}

fn print_item(case: &Case, item: &EvidenceItem, ctx: &mut Ctx) -> anyhow::Result<()> {
    let files = case.evidence_files(item.id)?;
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let out = ctx.out();
    writeln!(
        out,
        "E{:04}  {}  [{}]",
        item.id,
        escape_terminal(item.label.as_bytes()),
        item.kind
    )?;
    writeln!(
        out,
        "       stored:  {} ({} file(s), {})",
        escape_terminal(&item.path),
        files.len(),
        output::bytes(bytes)
    )?;
    if let [only] = files.as_slice() {
        writeln!(out, "       sha256:  {}", only.sha256)?;
    }
    writeln!(
        out,
        "       source:  {} on {}",
        escape_terminal(&item.source),
        escape_terminal(item.source_host.as_bytes())
    )?;
    writeln!(out, "       method:  {}", escape_terminal(item.method.as_bytes()))?;
    if !item.note.is_empty() {
        writeln!(out, "       note:    {}", escape_terminal(&item.note))?;
    }
    writeln!(out, "       custody:")?;
    for c in case.custody(item.id)? {
        writeln!(
            out,
            "         {}  {:<9} by {}  (journal entry {})",
            c.time,
            c.action,
            escape_terminal(c.actor.as_bytes()),
            c.seq
        )?;
    }
    Ok(())
}

fn item_json(case: &Case, item: &EvidenceItem) -> anyhow::Result<String> {
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("E{:04}", item.id)));
    m.insert("label".into(), json!(item.label));
    m.insert("kind".into(), json!(item.kind));
    insert_bytes(&mut m, "path", &item.path);
    insert_bytes(&mut m, "note", &item.note);
    insert_bytes(&mut m, "source", &item.source);
    m.insert("source_host".into(), json!(item.source_host));
    m.insert("method".into(), json!(item.method));
    m.insert("acquired_at".into(), json!(item.acquired_at));
    m.insert("acquired_by".into(), json!(item.acquired_by));
    let files: Vec<Value> = case
        .evidence_files(item.id)?
        .iter()
        .map(|f| {
            let mut fm = Map::new();
            insert_bytes(&mut fm, "path", &f.path);
            fm.insert("sha256".into(), json!(f.sha256));
            fm.insert("size".into(), json!(f.size));
            Value::Object(fm)
        })
        .collect();
    m.insert("files".into(), Value::Array(files));
    let custody: Vec<Value> = case
        .custody(item.id)?
        .iter()
        .map(|c| json!({"time": c.time, "action": c.action, "actor": c.actor, "journal_seq": c.seq}))
        .collect();
    m.insert("custody".into(), Value::Array(custody));
    Ok(Value::Object(m).to_string())
}
