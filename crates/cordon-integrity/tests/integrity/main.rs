//! Integration tests of cordon-integrity on a real Debian 12 root and on hostile inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod baseline;
mod common;
mod debs;
mod packages;
mod scan;
