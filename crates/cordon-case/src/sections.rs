//! The human-written parts of the incident report (summary, impact, root cause, lessons …), kept in
//! the case and journaled whenever they change, so the report's narrative has the same audit trail
//! as everything else.

use std::collections::BTreeMap;

use cordon_core::{Clock, format_utc};
use rusqlite::params;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::case::{Actor, Case};
use crate::{Error, journal};

/// Sections a responder writes, in report order, with what each should say.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "summary",
        "Executive summary: what happened, the impact, where things stand, what management must decide",
    ),
    ("scope", "Scope: the hosts, accounts and data affected"),
    (
        "impact",
        "Impact: functional, information, recoverability; cost and business impact",
    ),
    (
        "root_cause",
        "Root cause and entry vector: what went wrong, technically and in process",
    ),
    (
        "recovery",
        "Recovery: how the service was restored and how it was verified clean",
    ),
    (
        "lessons",
        "Lessons learned: what worked, what did not, what was needed sooner",
    ),
    (
        "recommendations",
        "Recommendations: corrective actions with owner and due date",
    ),
];

/// One stored section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its text (raw bytes as written).
    pub text: Vec<u8>,
    /// When it last changed.
    pub updated_at: String,
    /// Who changed it.
    pub updated_by: String,
}

impl Case {
    /// Replaces a section's text, journaling the change with the text's hash.
    pub fn set_section(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        name: &str,
        text: &[u8],
    ) -> Result<(), Error> {
        if !SECTIONS.iter().any(|(n, _)| *n == name) {
            return Err(Error::NoSuchSection(name.to_owned()));
        }
        self.transaction(|tx| {
            let now = format_utc(clock.now());
            let sha = hex::encode(Sha256::digest(text));
            let entry = journal::append(
                tx,
                &now,
                &actor.label(),
                "report.section",
                text,
                &json!({"section": name, "sha256": sha, "bytes": text.len()}),
            )?;
            tx.execute(
                "INSERT INTO report_section (name, text, updated_at, updated_by, journal_seq) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at,
                 updated_by = excluded.updated_by, journal_seq = excluded.journal_seq",
                params![name, text, now, actor.label(), entry.seq],
            )
            .map_err(Error::sql("store report section"))?;
            Ok(())
        })
    }

    /// Every section written so far.
    pub fn sections(&self) -> Result<BTreeMap<String, Section>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, text, updated_at, updated_by FROM report_section")
            .map_err(Error::sql("read report sections"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Section {
                        text: r.get(1)?,
                        updated_at: r.get(2)?,
                        updated_by: r.get(3)?,
                    },
                ))
            })
            .map_err(Error::sql("read report sections"))?;
        rows.collect::<Result<_, _>>()
            .map_err(Error::sql("read report section"))
    }
}
