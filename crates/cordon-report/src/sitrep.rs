//! The management sitrep: one screen for a non-technical reader — phase, what happened since the
//! last update, findings so far, impact known, next steps, and the decisions management must take.

use cordon_case::{Case, EntryFilter};
use cordon_core::Severity;
use serde_json::{Value, json};

use crate::gather::at;

use crate::{Error, gather};

/// Journal kinds reported as "what happened" in a sitrep.
const NEWS: &[&str] = &[
    "note",
    "note.observation",
    "note.action",
    "note.decision",
    "note.communication",
    "evidence.add",
    "task.done",
    "findings.add",
    "seal",
    "warning",
    "case.verify",
];

/// The sitrep context: [`gather`]'s plus what changed since the last sitrep. `next_due` is the
/// time the next update is due (canonical UTC).
pub fn context(case: &Case, now: &str, next_due: &str) -> Result<Value, Error> {
    let mut ctx = gather(case, now)?;
    let last = case.last_of_kinds(&["sitrep"])?;
    let since_seq = last.as_ref().map_or(0, |e| e.seq);
    let mut recent = Vec::new();
    let mut new_findings = 0u64;
    case.for_each_entry(&EntryFilter::default(), |e| {
        if e.seq <= since_seq || !NEWS.contains(&e.kind.as_str()) {
            return Ok(());
        }
        if e.kind == "findings.add" {
            new_findings += at(&e.data_json(), "new").as_array().map_or(0, |a| a.len() as u64);
        }
        recent.push(json!({"time": e.time, "text": String::from_utf8_lossy(&e.text).lines().next().unwrap_or("").to_owned()}));
        Ok(())
    })?;
    let keep_from = recent.len().saturating_sub(15);
    let recent: Vec<Value> = recent.split_off(keep_from);

    let tasks = case.tasks()?;
    let next_steps: Vec<Value> = tasks
        .iter()
        .filter(|t| !t.is_done())
        .take(3)
        .map(|t| json!({"title": t.title, "how": t.hint}))
        .collect();
    let open = |key: &str| {
        tasks
            .iter()
            .any(|t| t.key.as_deref() == Some(key) && !t.is_done())
    };
    let findings = case.findings(Severity::Medium)?;
    let critical = findings.iter().any(|f| f.severity == Severity::Critical);
    let accounts = findings.iter().any(|f| {
        [
            "account.",
            "ssh.",
            "sudoers.",
            "authorized_keys.",
            "pam.",
            "logs.",
        ]
        .iter()
        .any(|p| f.check.starts_with(p))
    });
    let mut decisions = Vec::new();
    if open("contain") {
        decisions.push("Approve cutting the server off the network except for the responders (cordon contain): its service will be interrupted.".to_owned());
    }
    if critical {
        decisions.push("Approve rebuilding the server from trusted media instead of cleaning it: critical findings mean the attacker had deep control.".to_owned());
    }
    if accounts {
        decisions.push(
            "Approve resetting credentials (passwords, SSH keys, API tokens) of the affected accounts."
                .to_owned(),
        );
    }
    if open("notify") || critical {
        decisions.push("Decide whom to notify outside the team (customers, regulator, law enforcement, insurer) and when.".to_owned());
    }

    let impact = case
        .sections()?
        .get("impact")
        .map(|s| String::from_utf8_lossy(&s.text).into_owned());
    let total: i64 = case.finding_counts()?.values().sum();
    if let Value::Object(m) = &mut ctx {
        m.insert("since".into(), json!(last.as_ref().map(|e| e.time.clone())));
        m.insert("recent".into(), Value::Array(recent));
        m.insert("new_findings".into(), json!(new_findings));
        m.insert("findings_total".into(), json!(total));
        m.insert("impact".into(), json!(impact));
        m.insert("next_steps".into(), Value::Array(next_steps));
        m.insert("decisions_needed".into(), json!(decisions));
        m.insert(
            "tasks_done".into(),
            json!(tasks.iter().filter(|t| t.is_done()).count()),
        );
        m.insert("tasks_total".into(), json!(tasks.len()));
        m.insert("next_due".into(), json!(next_due));
    }
    Ok(ctx)
}
