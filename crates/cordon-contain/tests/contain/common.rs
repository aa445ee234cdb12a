//! Helpers shared by the containment tests.

use std::path::Path;

use sha2::{Digest, Sha256};

/// True when running as root; otherwise prints why `test` is skipped.
pub fn root_or_skip(test: &str) -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        eprintln!("{test}: skipped, needs root");
    }
    root
}

/// SHA-256 of bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Sets a file's access and modification times (seconds, nanoseconds), not following a link.
pub fn set_times(path: &Path, atime: (i64, i64), mtime: (i64, i64)) {
    let ts = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    };
    rustix::fs::utimensat(rustix::fs::CWD, path, &ts, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
}

/// `(mode, atime, mtime)` of a path, not following a link.
pub fn mode_and_times(path: &Path) -> (u32, (i64, u32), (i64, u32)) {
    let m = cordon_host::meta::statx_path(path).unwrap();
    let a = m.atime.unwrap();
    let t = m.mtime.unwrap();
    (m.mode, (a.sec, a.nsec), (t.sec, t.nsec))
}

/// Every name in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
