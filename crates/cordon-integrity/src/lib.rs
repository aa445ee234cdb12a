//! Which files of the examined system can be trusted, and which are known to be bad.
//!
//! * [`packages`]: every file of every installed dpkg package checked against the package database
//!   (`/var/lib/dpkg/info/*.md5sums`, conffile hashes in `status`), the way `debsums -a` does, but in
//!   parallel and without running anything of the suspect system.
//! * [`deb`]: the same files checked against the original `.deb` archives instead (`ar` +
//!   `data.tar.*` read natively, SHA-256 of every member, modes and symlink targets), because an
//!   attacker who replaced a binary can also rewrite its line in the md5sums file.
//! * [`baseline`]: an AIDE-style record of a tree (type, mode, owner, size, times, inode, hash,
//!   capabilities, immutable flags), and the difference between that record and the tree now.
//! * [`ioc`] and [`yara`]: a sweep for known-bad hashes, names, addresses and YARA rule matches.
//!
//! Reads go through `cordon_host` (no-atime, no-follow opens resolved inside the target's root).
//! Nothing here prints or reads the clock; results are values the binary prints and stores.

pub mod baseline;
pub mod deb;
pub mod error;
pub mod hash;
pub mod ioc;
pub mod packages;
pub mod rootfs;
pub mod scan;
pub mod yara;

pub use error::Error;
