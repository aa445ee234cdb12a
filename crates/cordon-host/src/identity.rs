//! Who is running cordon, and on which host: for the journal and for custody records.

use std::path::Path;

use crate::accounts::user_name;

/// The invoking user and host, as the kernel and the local account file tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    /// Real user id.
    pub uid: u32,
    /// Effective user id (differs under sudo-less setuid, for instance).
    pub euid: u32,
    /// Name of `uid` in `/etc/passwd`, or `uid N` when there is no local entry.
    pub user: String,
    /// `uname` node name.
    pub host: String,
}

/// Reads the invoker from the kernel (`getuid`, `uname`) and `/etc/passwd` (never NSS).
pub fn invoker() -> Invoker {
    let uid = rustix::process::getuid().as_raw();
    let euid = rustix::process::geteuid().as_raw();
    let user = match user_name(Path::new("/"), uid) {
        Some(name) => String::from_utf8_lossy(&name).into_owned(),
        None => format!("uid {uid}"),
    };
    Invoker {
        uid,
        euid,
        user,
        host: hostname(),
    }
}

/// The kernel's host name (`uname -n`), without DNS.
pub fn hostname() -> String {
    String::from_utf8_lossy(rustix::system::uname().nodename().to_bytes()).into_owned()
}
