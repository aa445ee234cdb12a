//! `cordon case init | verify | seal`.

use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use cordon_case::seal::Seal;
use cordon_case::verify::{SealCheck, VerifyReport};
use cordon_case::{Case, InitOptions};
use cordon_core::escape_terminal;
use serde_json::{Map, json};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// `cordon case …`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Create a case directory on the responder's clean media.
    Init(InitArgs),
    /// Check the database, the journal hash chain and every evidence file's hash.
    Verify(VerifyArgs),
    /// Print one line pinning the journal as it is now, to send to management out of band.
    Seal,
}

/// `cordon case init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the case in (on external media, not the suspect's disk).
    pub dir: PathBuf,
    /// Short title of the incident ("web01 compromise").
    #[arg(long)]
    pub title: String,
    /// Name of the incident handler ("J. Smith").
    #[arg(long)]
    pub handler: String,
    /// Root of the suspect system, whose disks the case must not be written to.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub suspect_root: PathBuf,
    /// Create the case even on the suspect system's own storage (journaled as a warning).
    #[arg(long)]
    pub allow_suspect_disk: bool,
    /// An Incident Response Plan from `cordon plan init`: its contacts and deadlines seed the case.
    #[arg(long, value_name = "PLAN.md")]
    pub plan: Option<PathBuf>,
}

/// `cordon case verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A seal line printed earlier by `cordon case seal`: prove nothing up to it changed since.
    #[arg(long, value_name = "LINE")]
    pub seal: Option<String>,
}

/// Runs `cordon case …`.
pub fn run(cmd: &CaseCommand, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match cmd {
        CaseCommand::Init(a) => init(a, ctx),
        CaseCommand::Verify(a) => verify(a, ctx),
        CaseCommand::Seal => seal(ctx),
    }
}

fn init(args: &InitArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let opts = InitOptions {
        title: args.title.clone(),
        handler: args.handler.clone(),
        suspect_root: args.suspect_root.clone(),
        allow_suspect_disk: args.allow_suspect_disk,
    };
    // Read the plan before creating anything, so a bad plan leaves no half-made case behind.
    let plan = match &args.plan {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(cordon_report::plan::OrgFacts::from_plan(&text)?)
        }
        None => None,
    };
    let mut case = Case::init(&args.dir, &opts, &ctx.clock, &ctx.actor)?;
    ctx.case_dir = Some(args.dir.clone());
    if let Some(facts) = &plan {
        let json = serde_json::to_value(facts)?;
        case.load_plan(&ctx.clock, &ctx.actor, &json, &plan_tasks(facts))?;
    }
    let info = case.info()?;
    let dir = escape_terminal(args.dir.as_os_str().as_bytes());
    if args.allow_suspect_disk && case.last_of_kinds(&["warning"])?.is_some() {
        output::warn(
            "the case is on the suspect system's own storage (--allow-suspect-disk); this is journaled",
        );
    }
    let out = ctx.out();
    writeln!(out, "case {} created in {dir}", info.id)?;
    writeln!(out, "  title:   {}", escape_terminal(info.title.as_bytes()))?;
    writeln!(out, "  handler: {}", escape_terminal(info.handler.as_bytes()))?;
    writeln!(out, "next: export CORDON_CASE={dir}; cordon status")?;
    Ok(Outcome::Clean)
}

/// The tasks a plan adds to the playbook: the calls and deadlines it names.
fn plan_tasks(f: &cordon_report::plan::OrgFacts) -> Vec<String> {
    let who = |c: &Option<cordon_report::plan::Contact>| {
        c.as_ref().and_then(|c| {
            c.name.clone().map(|n| {
                format!(
                    "{n}{}",
                    c.phone.as_ref().map(|p| format!(" ({p})")).unwrap_or_default()
                )
            })
        })
    };
    let mut out = Vec::new();
    if let Some(r) = who(&f.retainer) {
        out.push(format!(
            "Call the incident-response retainer {r} and give them the case id"
        ));
    }
    if let Some(i) = who(&f.insurer) {
        out.push(format!("Call the cyber insurer {i} before engaging paid help"));
    }
    if let Some(reg) = &f.regulator
        && let Some(name) = &reg.name
    {
        let hours = reg.deadline_hours.unwrap_or(72);
        out.push(format!(
            "Decide with legal whether to notify {name}: the deadline is {hours} hours after detection"
        ));
    }
    if let Some(m) = who(&f.management) {
        let every = f
            .escalation
            .as_ref()
            .and_then(|e| e.update_every_minutes)
            .unwrap_or(30);
        out.push(format!("Brief {m} every {every} minutes (cordon sitrep)"));
    }
    if let Some(l) = who(&f.law_enforcement) {
        out.push(format!(
            "Decide with legal and management whether to report to {l}"
        ));
    }
    out
}

fn verify(args: &VerifyArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let seal = args.seal.as_deref().map(Seal::parse).transpose()?;
    let mut case = ctx.open_case()?;
    let report = case.verify(seal.as_ref()).context("verification could not run")?;
    print_report(&report, ctx)?;
    let summary = if report.ok() {
        format!(
            "case verified: {} journal entries, {} evidence items ({} files) intact",
            report.entries, report.evidence_items, report.evidence_files
        )
    } else {
        format!("case verification FAILED: {}", first_problem(&report))
    };
    let mut data = Map::new();
    data.insert("ok".into(), json!(report.ok()));
    data.insert("entries".into(), json!(report.entries));
    data.insert("evidence_items".into(), json!(report.evidence_items));
    data.insert("evidence_files".into(), json!(report.evidence_files));
    data.insert("bytes".into(), json!(report.bytes));
    if let Some(s) = &seal {
        data.insert("seal".into(), json!(s.line()));
    }
    // Never extend a broken chain with a "verified" custody event.
    let intact = if report.ok() {
        report.intact_items.clone()
    } else {
        Vec::new()
    };
    if let Err(e) = case.record_verification(&ctx.clock, &ctx.actor, &summary, data, &intact) {
        output::warn(&format!("the verification could not be journaled: {e}"));
    }
    Ok(if report.ok() {
        Outcome::Clean
    } else {
        Outcome::Attention
    })
}

fn first_problem(r: &VerifyReport) -> String {
    if let Some(i) = r.integrity.first() {
        return format!("SQLite integrity: {i}");
    }
    if let Some((_, why)) = &r.chain_break {
        return why.clone();
    }
    if let Some(h) = &r.head_problem {
        return h.clone();
    }
    if let Some(Some(SealCheck::Broken(why))) = Some(&r.seal) {
        return format!("seal: {why}");
    }
    if let Some(t) = r.table_problems.first() {
        return t.clone();
    }
    if let Some(f) = r.file_problems.first() {
        return format!(
            "E{:04} {}: {}",
            f.evidence_id,
            String::from_utf8_lossy(&f.path),
            f.why
        );
    }
    "unknown".into()
}

fn print_report(r: &VerifyReport, ctx: &mut Ctx) -> anyhow::Result<()> {
    let out = ctx.out();
    let mark = |ok: bool| if ok { "ok    " } else { "BROKEN" };
    writeln!(out, "{} database integrity", mark(r.integrity.is_empty()))?;
    for line in &r.integrity {
        writeln!(out, "         {}", escape_terminal(line.as_bytes()))?;
    }
    let chain_ok = r.chain_break.is_none() && r.head_problem.is_none();
    writeln!(
        out,
        "{} journal hash chain: {} entries",
        mark(chain_ok),
        r.entries
    )?;
    if let Some((seq, why)) = &r.chain_break {
        writeln!(
            out,
            "         first broken entry: {seq}: {}",
            escape_terminal(why.as_bytes())
        )?;
    }
    if let Some(h) = &r.head_problem {
        writeln!(out, "         {h}")?;
    }
    match &r.seal {
        Some(SealCheck::Holds) => writeln!(out, "ok     seal holds: nothing up to the sealed entry changed")?,
        Some(SealCheck::Broken(why)) => writeln!(out, "BROKEN seal: {}", escape_terminal(why.as_bytes()))?,
        None => {}
    }
    writeln!(
        out,
        "{} evidence registry matches the journal",
        mark(r.table_problems.is_empty())
    )?;
    for p in &r.table_problems {
        writeln!(out, "         {}", escape_terminal(p.as_bytes()))?;
    }
    writeln!(
        out,
        "{} evidence files: {} items, {} files, {} re-hashed",
        mark(r.file_problems.is_empty()),
        r.evidence_items,
        r.evidence_files,
        output::bytes(r.bytes)
    )?;
    for p in &r.file_problems {
        writeln!(
            out,
            "         E{:04} {}: {}",
            p.evidence_id,
            escape_terminal(&p.path),
            escape_terminal(p.why.as_bytes())
        )?;
    }
    for u in &r.unregistered {
        writeln!(
            out,
            "note   not registered as evidence (interrupted copy, or put there by hand): {}",
            escape_terminal(u)
        )?;
    }
    writeln!(
        out,
        "{}",
        if r.ok() {
            "case intact"
        } else {
            "case verification FAILED"
        }
    )?;
    Ok(())
}

fn seal(ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let mut case = ctx.open_case()?;
    let seal = case.seal(&ctx.clock, &ctx.actor)?;
    writeln!(ctx.out(), "{}", seal.line())?;
    Ok(Outcome::Clean)
}
