//! Reading a system without changing it and without trusting it.
//!
//! Every read of the examined system (the live host, a mounted image, a backup tree) goes through this
//! crate: files are opened `O_RDONLY|O_NOATIME|O_NOFOLLOW|O_NONBLOCK`, only regular files are read,
//! reads are capped, and names and contents stay raw bytes. Nothing here executes a program of the
//! examined system or asks its NSS libraries anything: `/etc/passwd` is parsed, not looked up.

pub mod accounts;
pub mod dpkg;
pub mod error;
pub mod identity;
pub mod meta;
pub mod mounts;
pub mod net;
pub mod open;
pub mod procfs;
pub mod target;
pub mod utmp;
pub mod walk;

pub use error::Error;
pub use target::Target;
