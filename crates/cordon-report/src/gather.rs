//! Everything the case holds, in one context for the templates.

use cordon_case::sections::SECTIONS;
use cordon_case::{Case, EntryFilter};
use cordon_core::{Severity, format_utc};
use serde_json::{Value, json};

use crate::Error;

/// Timeline events included in a report (the full timeline is exported separately).
pub const MAX_EVENTS: usize = 300;

/// Journal kinds that are milestones of the response, for the report's timeline.
const MILESTONES: &[&str] = &[
    "case.init",
    "note",
    "note.observation",
    "note.action",
    "note.decision",
    "note.communication",
    "evidence.add",
    "findings.add",
    "task.done",
    "seal",
    "sitrep",
    "contain.applied",
    "contain.confirmed",
    "contain.rolled-back",
    "contain.undone",
    "contain.killed",
    "warning",
    "report.section",
];

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The phase of the response, from the playbook's progress (NIST: detection & analysis,
/// containment, eradication, recovery, post-incident).
pub fn phase(done: &dyn Fn(&str) -> bool) -> &'static str {
    if done("report") {
        "post-incident (report written)"
    } else if done("preflight") || done("backups") {
        "recovery"
    } else if done("hunt") || done("entry") {
        "eradication"
    } else if done("contain") {
        "containment"
    } else {
        "detection and analysis"
    }
}

/// Reads the case into the report context. `now` is the canonical UTC time of generation.
pub fn gather(case: &Case, now: &str) -> Result<Value, Error> {
    let info = case.info()?;
    let tasks = case.tasks()?;
    let is_done = |key: &str| tasks.iter().any(|t| t.key.as_deref() == Some(key) && t.is_done());
    let summary = case.summary()?;

    let mut timeline = Vec::new();
    let mut actions = Vec::new();
    let mut communications = Vec::new();
    let mut decisions = Vec::new();
    let mut containment: Vec<Value> = Vec::new();
    case.for_each_entry(&EntryFilter::default(), |e| {
        let text = lossy(&e.text);
        if e.kind == "command" {
            let d = e.data_json();
            let argv: Vec<String> = at(&d, "argv")
                .as_array()
                .map(|a| a.iter().map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| at(x, "lossy").as_str().unwrap_or("").to_owned())).collect())
                .unwrap_or_default();
            actions.push(json!({"seq": e.seq, "time": e.time, "actor": e.actor, "command": argv.join(" "),
                                "exit_status": at(&d, "exit_status"), "error": at(&d, "error")}));
        } else if MILESTONES.contains(&e.kind.as_str()) {
            timeline.push(json!({"time": e.time, "what": e.kind, "who": e.actor, "text": text, "source": format!("journal entry {}", e.seq)}));
        }
        if matches!(e.kind.as_str(), "note.communication" | "sitrep" | "seal") {
            let first_line = text.lines().next().unwrap_or("").to_owned();
            communications.push(json!({"time": e.time, "kind": e.kind, "who": e.actor, "text": first_line}));
        }
        if let Some(step) = e.kind.strip_prefix("contain.") {
            note_containment(&mut containment, step, &e.time, &e.actor, &e.data_json());
        }
        if e.kind == "note.decision" {
            decisions.push(json!({"time": e.time, "who": e.actor, "text": text}));
        }
        Ok(())
    })?;
    let mut events = Vec::new();
    let mut event_count = 0usize;
    case.events_between("0000", "9999", |json| {
        event_count += 1;
        if events.len() < MAX_EVENTS
            && let Ok(v) = serde_json::from_str::<Value>(json)
        {
            events.push(json!({"time": at(&v, "datetime"), "what": at(&v, "timestamp_desc"), "who": v.get("user").cloned().unwrap_or(Value::Null),
                               "text": at(&v, "message"), "source": at(&v, "source")}));
        }
    })?;
    timeline.extend(events);
    timeline.sort_by(|a, b| {
        at(a, "time")
            .as_str()
            .unwrap_or("")
            .cmp(at(b, "time").as_str().unwrap_or(""))
    });

    let findings: Vec<Value> = case
        .findings(Severity::Info)?
        .iter()
        .map(|f| {
            json!({"severity": f.severity.as_str(), "check": f.check, "technique": f.technique, "confidence": f.confidence.as_str(),
                   "path": f.path.as_deref().map(lossy), "user": f.user.as_deref().map(lossy), "pid": f.pid,
                   "summary": f.summary, "evidence": lossy(&f.evidence), "remediation": f.remediation, "target": f.target})
        })
        .collect();
    let by = case.finding_counts()?;
    let counts: Vec<Value> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| by.get(s).map(|n| json!({"severity": s.as_str(), "n": n})))
        .collect();

    let mut evidence = Vec::new();
    for item in case.evidence_items()? {
        let files = case.evidence_files(item.id)?;
        let custody: Vec<Value> = case
            .custody(item.id)?
            .iter()
            .map(|c| json!({"time": c.time, "action": c.action, "actor": c.actor, "seq": c.seq}))
            .collect();
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        evidence.push(json!({
            "id": format!("E{:04}", item.id), "label": item.label, "kind": item.kind, "path": lossy(&item.path),
            "sha256": if files.len() == 1 { files.first().map(|f| f.sha256.clone()) } else { None },
            "files": files.len(), "bytes": bytes, "source": lossy(&item.source), "source_host": item.source_host,
            "method": item.method, "acquired_at": item.acquired_at, "acquired_by": item.acquired_by,
            "note": lossy(&item.note), "custody": custody,
        }));
    }

    let stored = case.sections()?;
    let sections: Vec<Value> = SECTIONS
        .iter()
        .map(|(name, prompt)| {
            let s = stored.get(*name);
            // Paragraphs, so the templates can keep the writer's paragraph breaks while escaping each.
            let paragraphs: Option<Vec<String>> = s.map(|s| {
                lossy(&s.text).split("\n\n").map(|p| p.replace('\n', " ").trim().to_owned()).filter(|p| !p.is_empty()).collect()
            });
            json!({"name": name, "prompt": prompt, "text": s.map(|s| lossy(&s.text)), "paragraphs": paragraphs,
                   "updated_at": s.map(|s| s.updated_at.clone()), "updated_by": s.map(|s| s.updated_by.clone())})
        })
        .collect();
    let task_list: Vec<Value> = tasks
        .iter()
        .map(|t| json!({"id": t.id, "key": t.key, "title": t.title, "done": t.is_done(), "done_at": t.done_at, "done_by": t.done_by, "how": t.hint}))
        .collect();

    Ok(json!({
        "case": {"id": info.id, "title": info.title, "handler": info.handler, "opened_at": info.created_at},
        "generated_at": now,
        "tool": format!("cordon {}", env!("CARGO_PKG_VERSION")),
        "phase": phase(&is_done),
        "tasks": task_list,
        "sections": sections,
        "findings": findings,
        "finding_counts": counts,
        "timeline": timeline,
        "timeline_events_total": event_count,
        "timeline_events_shown": event_count.min(MAX_EVENTS),
        "actions": actions,
        "communications": communications,
        "decisions": decisions,
        "containment": containment,
        "evidence": evidence,
        "journal": {"entries": summary.entries, "head": summary.head},
    }))
}

/// Follows one containment action through the journal: applied, then confirmed, rolled back, undone.
fn note_containment(list: &mut Vec<Value>, step: &str, time: &str, actor: &str, data: &Value) {
    let id = at(data, "id").as_str().unwrap_or("").to_owned();
    if step == "applied" {
        list.push(
            json!({"id": id, "kind": at(data, "action"), "target": at(data, "target"), "applied_at": time,
                         "applied_by": actor, "state": "in force", "history": []}),
        );
        return;
    }
    let state = match step {
        "confirmed" => "in force (confirmed)",
        "rolled-back" => "rolled back automatically",
        "undone" => "undone",
        "killed" => "frozen processes killed",
        _ => return,
    };
    if let Some(Value::Object(a)) = list
        .iter_mut()
        .find(|a| at(a, "id").as_str() == Some(id.as_str()))
    {
        a.insert("state".into(), json!(state));
        if let Some(Value::Array(h)) = a.get_mut("history") {
            h.push(json!({"time": time, "who": actor, "what": state}));
        }
    }
}

/// Canonical "now" for callers that hold a clock.
pub fn now(clock: &dyn cordon_core::Clock) -> String {
    format_utc(clock.now())
}

/// `v[key]`, or null (JSON lookups never fail, and never panic).
pub fn at(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}
