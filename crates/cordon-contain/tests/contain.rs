//! Containment actions against real files and processes: account locks on a Debian-like fixture
//! root, quarantine of dropped files, freezing of live processes. Tests that need root say so and
//! skip when not run as root (CI runs them as root).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

#[path = "contain/common.rs"]
mod common;

#[path = "contain/account.rs"]
mod account;

#[path = "contain/quarantine.rs"]
mod quarantine;

#[path = "contain/freeze.rs"]
mod freeze;
