//! Containment: the only code in cordon that changes a host.
//!
//! Everything here follows one shape, because a mistake while an attacker is on the box can lock the
//! responder out or destroy evidence: a request becomes a *plan* that says in plain words (and, for the
//! network, in `nft` syntax) what will change; nothing happens unless the caller applies it; applying
//! returns a serialisable record holding the state it replaced, and that record is enough to undo it.
//! The binary journals the plan before and the record after, so the case alone can undo everything.
//!
//! * [`network`] — one `inet cordon` nf_tables table installed in a single netlink batch, with a
//!   kernel-side dead-man timeout and a watchdog that removes it unless confirmed.
//! * [`account`] — lock and expire an account in `shadow`, move its SSH keys into the case.
//! * [`quarantine`] — move a dropped file into the case and put it back byte-identical.
//! * [`freeze`] — stop (never kill, unless asked after a freeze) a process or its cgroup.
//!
//! Libraries never print: the binary renders plans and records.

pub mod account;
pub mod duration;
pub mod error;
mod examined;
pub mod freeze;
pub mod network;
pub mod nft;
pub mod quarantine;
pub mod session;
pub mod store;

pub use error::Error;
