//! The metadata a moved file takes with it and gets back: access and modification times to the
//! nanosecond, inode flags and extended attributes (file capabilities, ACLs, SELinux labels). A
//! timeline needs them, and the immutable and append-only flags an attacker sets (`chattr +i`) are
//! how cordon knows to clear them before the move and set them again on undo.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::Path;

use cordon_core::escape_terminal;
use cordon_host::meta::FileTime;
use rustix::fs::{IFlags, Timespec};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::examined::{raw_bytes, raw_text, show_local};

/// A point in time as the kernel keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since 1970-01-01 UTC.
    pub sec: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
}

impl From<FileTime> for Timestamp {
    fn from(t: FileTime) -> Self {
        Timestamp {
            sec: t.sec,
            nsec: t.nsec,
        }
    }
}

impl Timestamp {
    pub(super) fn timespec(self) -> Timespec {
        Timespec {
            tv_sec: self.sec,
            tv_nsec: self.nsec.into(),
        }
    }
}

/// One extended attribute of a moved file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    /// Its name (`security.capability`, `user.x`).
    pub name: String,
    /// The name's bytes when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_b64: Option<String>,
    /// Its value, hex.
    pub value_hex: String,
}

/// Inode flags of an open file, `None` where the filesystem has none (tmpfs, many network ones).
pub(crate) fn flags_of(fd: impl AsFd) -> Option<u32> {
    rustix::fs::ioctl_getflags(fd).ok().map(|f| f.bits())
}

/// "immutable", "append-only" among `bits`.
pub(super) fn protective_flags(bits: Option<u32>) -> Vec<&'static str> {
    let Some(bits) = bits else { return Vec::new() };
    let f = IFlags::from_bits_retain(bits);
    let mut out = Vec::new();
    if f.contains(IFlags::IMMUTABLE) {
        out.push("immutable");
    }
    if f.contains(IFlags::APPEND) {
        out.push("append-only");
    }
    out
}

/// Every extended attribute of an open file that can be read (unreadable ones are skipped).
pub(crate) fn read_xattrs(fd: impl AsFd) -> Vec<Xattr> {
    let fd = fd.as_fd();
    let Ok(len) = rustix::fs::flistxattr_query(fd) else {
        return Vec::new();
    };
    let mut names = vec![0u8; len];
    let Ok(n) = rustix::fs::flistxattr(fd, names.as_mut_slice()) else {
        return Vec::new();
    };
    names.truncate(n);
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else { continue };
        let Ok(size) = rustix::fs::fgetxattr_query(fd, cname.as_c_str()) else {
            continue;
        };
        let mut value = vec![0u8; size];
        let Ok(got) = rustix::fs::fgetxattr(fd, cname.as_c_str(), value.as_mut_slice()) else {
            continue;
        };
        value.truncate(got);
        let (name, name_b64) = raw_text(name);
        out.push(Xattr {
            name,
            name_b64,
            value_hex: hex::encode(value),
        });
    }
    out
}

/// Sets `xattrs` on an open file; returns a line for each one that could not be set.
pub(crate) fn write_xattrs(fd: impl AsFd, xattrs: &[Xattr], local: &Path) -> Vec<String> {
    let fd = fd.as_fd();
    let mut lines = Vec::new();
    for x in xattrs {
        let set = raw_bytes(&x.name, x.name_b64.as_deref(), "extended attribute name")
            .ok()
            .and_then(|n| CString::new(n).ok())
            .zip(hex::decode(&x.value_hex).ok())
            .ok_or(Errno::INVAL)
            .and_then(|(name, value)| {
                rustix::fs::fsetxattr(fd, name.as_c_str(), &value, rustix::fs::XattrFlags::empty())
            });
        if let Err(e) = set {
            lines.push(format!(
                "  extended attribute {} of {} could not be set again: {e}",
                escape_terminal(x.name.as_bytes()),
                show_local(local)
            ));
        }
    }
    lines
}
