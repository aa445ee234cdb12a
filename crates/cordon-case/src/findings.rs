//! Findings and timeline events in the case.
//!
//! A detector run stores its findings in one transaction with one journal entry that names the new
//! ones; a finding seen again (same id: same check, target, path, pid, user and evidence) is counted,
//! not duplicated. Events are stored the same way, in batches. Both keep the contract JSON
//! (FORMATS.md) so the report and exporters read exactly what the detectors wrote.

use std::collections::BTreeMap;

use cordon_core::{Clock, Event, Finding, Severity, format_utc};
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::case::{Actor, Case};
use crate::{Error, journal};

/// What storing a run's findings did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Findings not in the case before.
    pub new: usize,
    /// Findings the case already held (seen again).
    pub again: usize,
    /// The journal entry.
    pub journal_seq: i64,
}

fn rank(s: Severity) -> i64 {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

impl Case {
    /// Stores the findings of one detector run (`source`: `hunt`, `logs`, `scan` …) against `target`.
    pub fn record_findings(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        source: &str,
        target: &str,
        findings: &[Finding],
    ) -> Result<Recorded, Error> {
        self.transaction(|tx| {
            let now = format_utc(clock.now());
            let mut new_ids = Vec::new();
            let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
            let mut digest = Sha256::new();
            let mut again = 0;
            for f in findings {
                let exists: Option<i64> = tx
                    .query_row("SELECT 1 FROM finding WHERE id = ?1", [&f.id], |r| r.get(0))
                    .optional()
                    .map_err(Error::sql("look up finding"))?;
                if exists.is_some() {
                    again += 1;
                } else {
                    new_ids.push(f.id.clone());
                    *by_severity.entry(f.severity.as_str()).or_default() += 1;
                }
                digest.update(f.to_json().to_string().as_bytes());
                digest.update(b"\n");
            }
            let summary: Vec<String> = Severity::ALL
                .iter()
                .rev()
                .filter_map(|s| by_severity.get(s.as_str()).map(|n| format!("{n} {}", s.as_str())))
                .collect();
            let text = format!(
                "{source} on {target}: {} new finding(s){}{}",
                new_ids.len(),
                if summary.is_empty() { String::new() } else { format!(" ({})", summary.join(", ")) },
                if again > 0 { format!(", {again} seen before") } else { String::new() }
            );
            let entry = journal::append(
                tx,
                &now,
                &actor.label(),
                "findings.add",
                text.as_bytes(),
                &json!({"source": source, "target": target, "new": new_ids, "again": again,
                        "by_severity": by_severity, "findings_sha256": hex::encode(digest.finalize())}),
            )?;
            for f in findings {
                tx.execute(
                    "INSERT INTO finding (id, source, check_id, severity, severity_rank, target, json, first_seen,
                                          last_seen, times_seen, journal_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 1, ?9)
                     ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen, times_seen = times_seen + 1",
                    params![f.id, source, f.check, f.severity.as_str(), rank(f.severity), f.target,
                            f.to_json().to_string(), now, entry.seq],
                )
                .map_err(Error::sql("store finding"))?;
            }
            Ok(Recorded { new: new_ids.len(), again, journal_seq: entry.seq })
        })
    }

    /// Stored findings at or above `min`, most severe first.
    pub fn findings(&self, min: Severity) -> Result<Vec<Finding>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM finding WHERE severity_rank >= ?1 ORDER BY severity_rank DESC, first_seen, id")
            .map_err(Error::sql("list findings"))?;
        let rows = stmt
            .query_map([rank(min)], |r| r.get::<_, String>(0))
            .map_err(Error::sql("list findings"))?;
        let mut out = Vec::new();
        for json in rows {
            let json = json.map_err(Error::sql("read finding"))?;
            if let Some(f) = serde_json::from_str(&json)
                .ok()
                .as_ref()
                .and_then(Finding::from_json)
            {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Number of stored findings per severity.
    pub fn finding_counts(&self) -> Result<BTreeMap<Severity, i64>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT severity, count(*) FROM finding GROUP BY severity")
            .map_err(Error::sql("count findings"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(Error::sql("count findings"))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (s, n) = row.map_err(Error::sql("count findings"))?;
            if let Some(s) = Severity::parse(&s) {
                out.insert(s, n);
            }
        }
        Ok(out)
    }

    /// Stores timeline events from one source in one transaction with one journal entry carrying their
    /// count and a digest of their JSON lines.
    pub fn record_events(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        source: &str,
        events: &[Event],
    ) -> Result<usize, Error> {
        let lines: Vec<(String, String)> = events
            .iter()
            .map(|e| (format_utc(e.time), e.to_json().to_string()))
            .collect();
        let mut digest = Sha256::new();
        for (_, json) in &lines {
            digest.update(json.as_bytes());
            digest.update(b"\n");
        }
        let digest = hex::encode(digest.finalize());
        self.transaction(|tx| {
            let entry = journal::append(
                tx,
                &format_utc(clock.now()),
                &actor.label(),
                "events.add",
                format!("{} timeline event(s) from {source}", lines.len()).as_bytes(),
                &json!({"source": source, "count": lines.len(), "events_sha256": digest}),
            )?;
            let mut stmt = tx
                .prepare("INSERT INTO event (time, json, journal_seq) VALUES (?1, ?2, ?3)")
                .map_err(Error::sql("store events"))?;
            for (time, json) in &lines {
                stmt.execute(params![time, json, entry.seq])
                    .map_err(Error::sql("store event"))?;
            }
            Ok(lines.len())
        })
    }

    /// Stored events between two canonical UTC times (inclusive), oldest first, as contract JSON.
    pub fn events_between(&self, from: &str, to: &str, mut f: impl FnMut(&str)) -> Result<(), Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM event WHERE time >= ?1 AND time <= ?2 ORDER BY time, id")
            .map_err(Error::sql("list events"))?;
        let mut rows = stmt.query([from, to]).map_err(Error::sql("list events"))?;
        while let Some(r) = rows.next().map_err(Error::sql("read event"))? {
            let json: String = r.get(0).map_err(Error::sql("read event"))?;
            f(&json);
        }
        Ok(())
    }
}
