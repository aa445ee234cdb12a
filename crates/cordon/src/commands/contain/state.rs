//! What containment is in force, read back from the case journal.
//!
//! The journal is the only state: `contain.apply` (before acting, with the plan), then
//! `contain.applied` (the record needed to undo) or `contain.failed`; later `contain.confirmed`,
//! `contain.rolled-back` (the watchdog) or `contain.undone`. Replaying those entries gives every
//! action and where it stands, so a fresh cordon on another terminal — or the watchdog — agrees.

use cordon_case::{Case, EntryFilter};
use serde_json::Value;

/// Where an applied action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In force, waiting for `confirm` (network) or simply in force.
    Applied,
    /// Network isolation confirmed: stays until undone.
    Confirmed,
    /// Removed by the watchdog at the end of the rollback window.
    RolledBack,
    /// Undone by a responder.
    Undone,
}

impl Stage {
    /// Lower-case word for output.
    pub fn word(self) -> &'static str {
        match self {
            Stage::Applied => "applied",
            Stage::Confirmed => "confirmed",
            Stage::RolledBack => "rolled back",
            Stage::Undone => "undone",
        }
    }

    /// True while the change is on the host.
    pub fn in_force(self) -> bool {
        matches!(self, Stage::Applied | Stage::Confirmed)
    }
}

/// One applied action.
#[derive(Debug, Clone)]
pub struct Action {
    /// `C<seq>`: the journal sequence number of its `contain.apply` entry.
    pub id: String,
    /// `network`, `account`, `file`, `process`.
    pub kind: String,
    /// What it was applied to, for humans.
    pub target: String,
    /// When it was applied (UTC).
    pub applied_at: String,
    /// The record returned by the library (what undo needs).
    pub record: Value,
    /// Everything else the `contain.applied` entry holds (deadline, watchdog pid …).
    pub data: Value,
    /// Where it stands.
    pub stage: Stage,
}

/// Every applied action in journal order.
pub fn actions(case: &Case) -> anyhow::Result<Vec<Action>> {
    let mut out: Vec<Action> = Vec::new();
    let filter = EntryFilter {
        since: None,
        kind: Some("contain".into()),
    };
    case.for_each_entry(&filter, |e| {
        let Ok(data) = serde_json::from_str::<Value>(&e.data) else {
            return Ok(());
        };
        let id = data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let stage = match e.kind.as_str() {
            "contain.applied" => {
                out.push(Action {
                    id,
                    kind: data
                        .get("action")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    target: data
                        .get("target")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    applied_at: e.time.clone(),
                    record: data.get("record").cloned().unwrap_or(Value::Null),
                    data,
                    stage: Stage::Applied,
                });
                return Ok(());
            }
            "contain.confirmed" => Stage::Confirmed,
            "contain.rolled-back" => Stage::RolledBack,
            "contain.undone" => Stage::Undone,
            _ => return Ok(()),
        };
        if let Some(a) = out.iter_mut().find(|a| a.id == id) {
            a.stage = stage;
        }
        Ok(())
    })?;
    Ok(out)
}

/// The stage of one action right now (the watchdog polls this).
pub fn stage_of(case: &Case, id: &str) -> anyhow::Result<Option<Stage>> {
    Ok(actions(case)?.into_iter().find(|a| a.id == id).map(|a| a.stage))
}
