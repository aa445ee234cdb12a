//! Domain types every cordon crate shares, with no I/O of their own.
//!
//! Evidence is hostile: it keeps its raw bytes everywhere inside cordon and becomes text only at the
//! edge, through [`escape`]. Time is a parameter ([`clock::Clock`]) so that libraries never read the
//! wall clock themselves and tests can pin it.

pub mod bytes_json;
pub mod clock;
pub mod escape;
pub mod event;
pub mod finding;

pub use clock::{Clock, FixedClock, SystemClock, format_utc, parse_utc};
pub use escape::{escape_terminal, escape_terminal_str};
pub use event::Event;
pub use finding::{Confidence, Finding, Severity};
