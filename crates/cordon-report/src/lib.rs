//! Turning a case into words for people: the incident report and the management sitrep.
//!
//! [`gather`] reads everything the case holds into one context; [`render`] fills a template for a
//! medium. Evidence quoted in a report (file names, process names, log lines, notes) is attacker-
//! controlled, so this crate is the one place that escapes for HTML and Markdown: templates never
//! build markup from evidence by hand, the escaping formatter does ([`escape`]).

pub mod escape;
pub mod gather;
pub mod plan;
pub mod render;
pub mod sitrep;

pub use gather::gather;
pub use render::{Medium, render};

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the case failed.
    #[error(transparent)]
    Case(#[from] cordon_case::Error),
    /// The organisation's facts could not be read or written.
    #[error("{0}")]
    Plan(String),
    /// A template failed to render (a bug in a template).
    #[error("template {template}: {source}")]
    Template {
        /// Template name.
        template: &'static str,
        /// The error.
        #[source]
        source: minijinja::Error,
    },
}
