//! Shared fixtures: copies of the real Debian root that tests may tamper with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The clean Debian 12 root (read-only for tests: never write into it).
pub fn debian() -> PathBuf {
    cordon_testkit::debian_root().expect("debian root")
}

/// A copy of the whole Debian root in `dir`, hard-linked (fast). Change files only through
/// [`replace`], [`remove`] and [`chmod_copy`], which break the link first so the shared root is
/// never modified.
pub fn linked_copy(dir: &Path) -> PathBuf {
    let dest = dir.join("root");
    let st = Command::new("cp")
        .arg("-al")
        .arg(debian())
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success());
    dest
}

/// Replaces the file at `rel` (below `root`) with `bytes`, keeping its mode, without touching the
/// original inode.
pub fn replace(root: &Path, rel: &str, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = root.join(rel);
    let mode = std::fs::symlink_metadata(&p)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644);
    let tmp = p.with_extension("cordon-test-tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777)).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
}

/// Removes `rel`.
pub fn remove(root: &Path, rel: &str) {
    std::fs::remove_file(root.join(rel)).unwrap();
}

/// Gives `rel` its own inode (same content) and sets `mode` on it.
pub fn chmod_copy(root: &Path, rel: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = root.join(rel);
    let bytes = std::fs::read(&p).unwrap();
    replace(root, rel, &bytes);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// MD5 of bytes, hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..32].to_owned()
}

/// Rewrites the md5sums line of `path` (as listed, no leading slash) in `pkg`'s md5sums to `md5`,
/// the way an attacker who replaced the file would.
pub fn rewrite_md5sums_line(root: &Path, pkg: &str, listed: &str, md5: &str) {
    let info = root.join("var/lib/dpkg/info");
    let file = [format!("{pkg}:amd64.md5sums"), format!("{pkg}.md5sums")]
        .into_iter()
        .map(|n| info.join(n))
        .find(|p| p.exists())
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut found = false;
    let new: String = text
        .lines()
        .map(|l| {
            if l.get(34..) == Some(listed) {
                found = true;
                format!("{md5}  {listed}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(found, "{listed} not in {}", file.display());
    let rel = file.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
    replace(root, &rel, new.as_bytes());
}
