//! Counts for `cordon status`: the case at a glance.

use crate::Error;
use crate::case::Case;

/// How much the case holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Journal entries.
    pub entries: i64,
    /// Hash of the last entry.
    pub head: Option<String>,
    /// Evidence items.
    pub evidence_items: i64,
    /// Evidence files.
    pub evidence_files: i64,
    /// Bytes of evidence.
    pub evidence_bytes: i64,
    /// Findings recorded.
    pub findings: i64,
    /// Timeline events recorded.
    pub events: i64,
}

impl Case {
    /// Counts of what the case holds.
    pub fn summary(&self) -> Result<Summary, Error> {
        let one = |sql: &str| -> Result<i64, Error> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(Error::sql("count case contents"))
        };
        Ok(Summary {
            entries: one("SELECT count(*) FROM journal")?,
            head: self.meta("head_hash")?,
            evidence_items: one("SELECT count(*) FROM evidence")?,
            evidence_files: one("SELECT count(*) FROM evidence_file")?,
            evidence_bytes: one("SELECT coalesce(sum(size), 0) FROM evidence_file")?,
            findings: one("SELECT count(*) FROM finding")?,
            events: one("SELECT count(*) FROM event")?,
        })
    }
}
