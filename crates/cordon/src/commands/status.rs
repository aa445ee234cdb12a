//! `cordon status`: the case at a glance, and the next thing to do.

use clap::Args;
use cordon_core::{Clock as _, Severity, escape_terminal, parse_utc};
use serde_json::json;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output;

/// Journal kinds that count as an update to management.
const UPDATE_KINDS: &[&str] = &["note.communication", "seal", "sitrep"];

/// `cordon status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    /// Minutes between status updates to management; an older last update is flagged as due.
    #[arg(long, value_name = "MIN", default_value_t = 30, env = "CORDON_UPDATE_EVERY")]
    pub update_every: i64,
}

/// Runs `cordon status`.
pub fn run(args: &StatusArgs, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    let case = ctx.open_case()?;
    let info = case.info()?;
    let tasks = case.tasks()?;
    let summary = case.summary()?;
    let counts = case.finding_counts()?;
    let now = ctx.clock.now();
    let minutes_since = |t: &str| parse_utc(t).ok().map(|t| (now.as_second() - t.as_second()) / 60);
    let last_update = case.last_of_kinds(UPDATE_KINDS)?;
    let update_age = last_update.as_ref().and_then(|e| minutes_since(&e.time));
    let open_age = minutes_since(&info.created_at);
    let done = tasks.iter().filter(|t| t.is_done()).count();
    let next = tasks.iter().find(|t| !t.is_done());
    let contained = super::contain::in_force_lines(&case)?;

    if args.json {
        let v = json!({
            "case_id": info.id, "title": info.title, "handler": info.handler, "opened_at": info.created_at,
            "tasks_done": done, "tasks_total": tasks.len(),
            "last_update_at": last_update.as_ref().map(|e| &e.time),
            "minutes_since_update": update_age,
            "update_due": update_age.or(open_age).is_some_and(|m| m >= args.update_every),
            "evidence_items": summary.evidence_items, "evidence_files": summary.evidence_files,
            "evidence_bytes": summary.evidence_bytes, "findings": summary.findings,
            "findings_by_severity": counts.iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "timeline_events": summary.events, "containment_in_force": contained,
            "journal_entries": summary.entries, "journal_head": summary.head,
            "next_task": next.map(|t| json!({"id": t.id, "key": t.key, "title": t.title, "how": t.hint})),
        });
        writeln!(ctx.out(), "{v}")?;
        return Ok(Outcome::Clean);
    }

    let out = ctx.out();
    writeln!(
        out,
        "case      {}  ({})",
        escape_terminal(info.title.as_bytes()),
        info.id
    )?;
    writeln!(
        out,
        "handler   {}, opened {}{}",
        escape_terminal(info.handler.as_bytes()),
        info.created_at,
        open_age
            .map(|m| format!(" ({} ago)", minutes(m)))
            .unwrap_or_default()
    )?;
    writeln!(out, "playbook  {done}/{} tasks done", tasks.len())?;
    match update_age {
        Some(m) => {
            let due = if m >= args.update_every {
                " — an update to management is due now"
            } else {
                ""
            };
            writeln!(out, "updates   last update to management {} ago{due}", minutes(m))?;
        }
        None => writeln!(
            out,
            "updates   no update to management yet — send one now, then every {} minutes \
             (cordon sitrep; cordon note --kind communication \"…\")",
            args.update_every
        )?,
    }
    writeln!(
        out,
        "evidence  {} item(s), {} file(s), {}",
        summary.evidence_items,
        summary.evidence_files,
        output::bytes(u64::try_from(summary.evidence_bytes).unwrap_or(0))
    )?;
    if summary.findings == 0 {
        writeln!(out, "findings  none yet")?;
    } else {
        let by: Vec<String> = Severity::ALL
            .iter()
            .rev()
            .filter_map(|s| counts.get(s).map(|n| format!("{n} {}", s.as_str())))
            .collect();
        writeln!(out, "findings  {} ({})", summary.findings, by.join(", "))?;
    }
    if summary.events > 0 {
        writeln!(out, "timeline  {} event(s)", summary.events)?;
    }
    for (i, line) in contained.iter().enumerate() {
        let label = if i == 0 { "contain" } else { "" };
        writeln!(out, "{label:<9} {}", escape_terminal(line.as_bytes()))?;
    }
    writeln!(
        out,
        "journal   {} entries, head {}",
        summary.entries,
        summary.head.as_deref().unwrap_or("-")
    )?;
    match next {
        Some(t) => writeln!(
            out,
            "next      [{}] {} → {}",
            t.id,
            escape_terminal(t.title.as_bytes()),
            escape_terminal(t.hint.as_bytes())
        )?,
        None => writeln!(out, "next      every playbook task is done")?,
    }
    Ok(Outcome::Clean)
}

fn minutes(m: i64) -> String {
    if m >= 60 {
        format!("{}h {:02}m", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}
