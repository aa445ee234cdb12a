//! Integration tests of cordon-timeline on real logs and on records the tests write themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "timeline/common.rs"]
mod common;

#[path = "timeline/openssh.rs"]
mod openssh;

#[path = "timeline/apache.rs"]
mod apache;

#[path = "timeline/logins.rs"]
mod logins;

#[path = "timeline/hostile.rs"]
mod hostile;

#[path = "timeline/formats.rs"]
mod formats;
