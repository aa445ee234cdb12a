//! The super timeline and the log detections of cordon: how did they get in, and what did they do?
//!
//! * [`lines`] reads a log of the examined system line by line through the host crate's safe open,
//!   with a cap on line length and on decompressed bytes (rotated `.gz` logs, gzip bombs).
//! * [`syslog`] parses syslog headers (traditional without a year, RFC 3339) and infers the year of
//!   year-less lines from the file's mtime, across New Year rollovers; [`civil`] turns local civil time
//!   into UTC with the examined system's time zone.
//! * [`auth`] classifies auth.log/secure messages (sshd and sshd-session, pam_unix, sudo, su,
//!   useradd/usermod/groupadd/passwd, cron, logind) following the programs' own format strings.
//! * [`web`] parses Apache/nginx access logs and recognises attack requests.
//! * [`logins`] reads utmp/wtmp/btmp (x86-64 and aarch64 layouts) and lastlog records.
//! * [`other`] parses dpkg, apt, yum/dnf, auditd, shell histories, journald JSON export, web error logs.
//! * [`setup`] reads the examined system's name, time zone and accounts (as data).
//! * [`sources`] finds the logs of a target (rotated ones included) and turns them into [`Event`]s.
//! * [`fs`] is the filesystem timeline (statx: mtime, atime, ctime, birth).
//! * [`export`] merges and sorts events and writes them as JSONL (Timesketch), CSV or a TSK 3 bodyfile.
//! * [`detect`] runs detections over the parsed records and produces [`Finding`]s.
//!
//! Nothing here prints or reads the clock: times of "now" come in as parameters.
//!
//! [`Event`]: cordon_core::Event
//! [`Finding`]: cordon_core::Finding

pub mod auth;
pub mod civil;
pub mod detect;
pub mod error;
pub mod export;
pub mod fs;
pub mod lines;
pub mod logins;
pub mod other;
pub mod setup;
pub mod sources;
pub mod syslog;
pub mod web;

pub use error::Error;
