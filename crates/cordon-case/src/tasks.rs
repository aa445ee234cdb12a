//! The response playbook: the steps of handling a compromised server, as tasks in the case.
//!
//! `case init` seeds them in the order a responder works; commands that do a step tick its task
//! ([`Case::complete_task`]) and `cordon status` recommends the first one still open.

use cordon_core::{Clock, format_utc};
use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use serde_json::json;

use crate::case::{Actor, Case};
use crate::{Error, journal};

/// The seeded playbook: (key, title, how cordon helps).
pub const PLAYBOOK: &[(&str, &str, &str)] = &[
    (
        "notify",
        "Notify management and send a status update every 30 minutes",
        "cordon sitrep (every 30 minutes); cordon case seal and send the line out of band",
    ),
    (
        "collect",
        "Collect volatile evidence before anything else changes",
        "cordon collect",
    ),
    (
        "contain",
        "Contain the host: cut it off except for the responder, lock accounts and keys, freeze suspicious processes",
        "cordon contain",
    ),
    ("image", "Image the disks and memory", "cordon image"),
    (
        "hunt",
        "Hunt persistence, backdoors, tampered packages and known-bad files",
        "cordon hunt",
    ),
    (
        "entry",
        "Find the entry vector and reconstruct the timeline",
        "cordon timeline",
    ),
    (
        "backups",
        "Verify backups and find the last clean one",
        "cordon backup check",
    ),
    (
        "preflight",
        "Preflight the rebuilt host before reconnecting it",
        "cordon preflight",
    ),
    (
        "report",
        "Write the incident report and lessons learned",
        "cordon report",
    ),
];

/// One task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Numeric id (what `task done` takes).
    pub id: i64,
    /// Stable key of a playbook task (`collect`, `hunt` …), none for tasks added by hand.
    pub key: Option<String>,
    /// Text.
    pub title: String,
    /// How cordon helps with it.
    pub hint: String,
    /// `open` or `done`.
    pub status: String,
    /// When it was added.
    pub created_at: String,
    /// When it was done.
    pub done_at: Option<String>,
    /// Who did it.
    pub done_by: Option<String>,
}

impl Task {
    /// True when done.
    pub fn is_done(&self) -> bool {
        self.status == "done"
    }
}

pub(crate) fn seed(tx: &Transaction<'_>, now: &str, seq: i64) -> Result<(), Error> {
    for (pos, (key, title, hint)) in PLAYBOOK.iter().enumerate() {
        tx.execute(
            "INSERT INTO task (key, position, title, hint, status, created_at, journal_seq)
             VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6)",
            params![key, pos as i64, title, hint, now, seq],
        )
        .map_err(Error::sql("seed playbook"))?;
    }
    Ok(())
}

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: r.get(0)?,
        key: r.get(1)?,
        title: r.get(2)?,
        hint: r.get(3)?,
        status: r.get(4)?,
        created_at: r.get(5)?,
        done_at: r.get(6)?,
        done_by: r.get(7)?,
    })
}

const SELECT_TASKS: &str = "SELECT id, key, title, hint, status, created_at, done_at, done_by FROM task";

impl Case {
    /// Every task in playbook order (tasks added by hand last, in the order added).
    pub fn tasks(&self) -> Result<Vec<Task>, Error> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_TASKS} ORDER BY position, id"))
            .map_err(Error::sql("list tasks"))?;
        let rows = stmt
            .query_map([], task_from_row)
            .map_err(Error::sql("list tasks"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("read task"))
    }

    /// Adds a task at the end of the list.
    pub fn add_task(&mut self, clock: &dyn Clock, actor: &Actor, title: &str) -> Result<Task, Error> {
        self.transaction(|tx| {
            let now = format_utc(clock.now());
            tx.execute(
                "INSERT INTO task (key, position, title, hint, status, created_at)
                 VALUES (NULL, (SELECT coalesce(max(position), 0) + 1 FROM task), ?1, '', 'open', ?2)",
                params![title, now],
            )
            .map_err(Error::sql("add task"))?;
            let id = tx.last_insert_rowid();
            let entry = journal::append(
                tx,
                &now,
                &actor.label(),
                "task.add",
                title.as_bytes(),
                &json!({"task_id": id}),
            )?;
            tx.execute("UPDATE task SET journal_seq = ?1 WHERE id = ?2", [entry.seq, id])
                .map_err(Error::sql("add task"))?;
            tx.query_row(&format!("{SELECT_TASKS} WHERE id = ?1"), [id], task_from_row)
                .map_err(Error::sql("add task"))
        })
    }

    /// Marks a task done, by numeric id or playbook key. Returns `None` when it was already done.
    pub fn complete_task(
        &mut self,
        clock: &dyn Clock,
        actor: &Actor,
        id_or_key: &str,
    ) -> Result<Option<Task>, Error> {
        self.transaction(|tx| {
            let task = tx
                .query_row(
                    &format!("{SELECT_TASKS} WHERE CAST(id AS TEXT) = ?1 OR key = ?1"),
                    [id_or_key],
                    task_from_row,
                )
                .optional()
                .map_err(Error::sql("find task"))?
                .ok_or_else(|| Error::NoSuchTask(id_or_key.to_owned()))?;
            if task.is_done() {
                return Ok(None);
            }
            let now = format_utc(clock.now());
            let entry = journal::append(
                tx,
                &now,
                &actor.label(),
                "task.done",
                task.title.as_bytes(),
                &json!({"task_id": task.id, "key": task.key}),
            )?;
            tx.execute(
                "UPDATE task SET status = 'done', done_at = ?1, done_by = ?2, journal_seq = ?3 WHERE id = ?4",
                params![now, actor.label(), entry.seq, task.id],
            )
            .map_err(Error::sql("complete task"))?;
            Ok(Some(Task {
                status: "done".into(),
                done_at: Some(now),
                done_by: Some(actor.label()),
                ..task
            }))
        })
    }
}
