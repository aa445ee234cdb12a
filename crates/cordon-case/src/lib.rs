//! The case store: everything cordon learns or does about an incident, in one SQLite file.
//!
//! A case is a directory on the responder's clean media holding `case.sqlite`, `evidence/` and
//! `reports/`. The database keeps an append-only journal whose entries are hash-chained (see
//! `docs/journal.md` for the exact encoding), the evidence registry with its chain of custody, and the
//! response playbook's tasks. Every change to the case is one transaction that also appends the
//! journal entry describing it, so the state and its record can never disagree.
//!
//! This is the only crate that speaks SQL.

pub mod case;
pub mod error;
pub mod evidence;
pub mod findings;
pub mod journal;
pub mod placement;
pub mod plan_facts;
pub mod schema;
pub mod seal;
pub mod sections;
pub mod summary;
pub mod tasks;
pub mod verify;

pub use case::{Actor, Case, CaseInfo, InitOptions, find_case_dir};
pub use error::Error;
pub use journal::{Entry, EntryFilter};
