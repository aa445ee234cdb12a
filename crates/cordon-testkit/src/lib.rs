//! Helpers for cordon's tests: temporary case directories on storage other than the test machine's
//! root (so `case init` accepts them, as it would a USB stick), and running the built `cordon` binary.

pub mod plant;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary directory to create cases in, on a different filesystem from `/` when the machine has
/// one (`/dev/shm`), as a responder's external disk would be.
pub struct CaseParent {
    dir: tempfile::TempDir,
    /// True when no separate filesystem was found and `case init` needs `--allow-suspect-disk`.
    pub needs_allow: bool,
}

impl CaseParent {
    /// Makes one.
    pub fn new() -> std::io::Result<CaseParent> {
        let root_dev = rustix::fs::stat("/").map(|s| s.st_dev).ok();
        let shm_dev = rustix::fs::stat("/dev/shm").map(|s| s.st_dev).ok();
        if shm_dev.is_some() && shm_dev != root_dev {
            let dir = tempfile::Builder::new()
                .prefix("cordon-test-")
                .tempdir_in("/dev/shm")?;
            return Ok(CaseParent {
                dir,
                needs_allow: false,
            });
        }
        Ok(CaseParent {
            dir: tempfile::Builder::new().prefix("cordon-test-").tempdir()?,
            needs_allow: true,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path for a new case inside it.
    pub fn case_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs the `cordon` binary at `bin` against the case `case` and returns its output.
pub fn run_cordon<I, S>(
    bin: &Path,
    case: Option<&Path>,
    args: I,
    stdin: Option<&[u8]>,
) -> std::io::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::io::Write as _;
    let mut cmd = Command::new(bin);
    cmd.args(args).env_remove("CORDON_CASE");
    if let Some(case) = case {
        cmd.env("CORDON_CASE", case);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // The child may stop reading early (a size cap): a broken pipe here is its answer, not ours.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output()
}

/// The clean Debian 12 root used by the tests (`target/debian-root`, or `$CORDON_DEBIAN_ROOT`),
/// built with `../shared/tools/make-debian-root.sh` when it is not there yet (needs root and the
/// Debian mirror; about 80 s once, then cached). Concurrent callers wait on a lock file.
pub fn debian_root() -> std::io::Result<PathBuf> {
    let target = target_dir()?;
    let workspace = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = match std::env::var_os("CORDON_DEBIAN_ROOT") {
        Some(r) => PathBuf::from(r),
        None => target.join("debian-root"),
    };
    if root.join(".complete").exists() {
        return Ok(root);
    }
    let lock = std::fs::File::create(target.join(".debian-root.lock"))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    if !root.join(".complete").exists() {
        let script = workspace.join("../shared/tools/make-debian-root.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(&root)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "{} failed: {status}",
                script.display()
            )));
        }
    }
    Ok(root)
}

/// The cargo target directory the running test binary was built into (found from the binary's own
/// path, so a test built from another checkout still finds the right one), whose parent is the
/// workspace.
fn target_dir() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // The outermost directory tagged as a cache (cargo tags both `target/` and `target/<triple>/`).
    exe.ancestors()
        .filter(|d| d.join("CACHEDIR.TAG").exists())
        .last()
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "{} is not inside a cargo target directory",
                exe.display()
            ))
        })
}

/// Copies the parts of a root the hunt reads (configuration, the package database, system program
/// and unit directories, with the merged-/usr symlinks) into `dest`, for planting.
pub fn copy_root_for_hunt(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for top in ["bin", "sbin", "lib", "lib64"] {
        if let Ok(target) = std::fs::read_link(src.join(top)) {
            std::os::unix::fs::symlink(target, dest.join(top))?;
        }
    }
    for dir in [
        "etc",
        "root",
        "var/lib/dpkg",
        "var/spool",
        "usr/bin",
        "usr/sbin",
        "usr/lib/systemd",
        "usr/lib/udev",
        "usr/lib/modules-load.d",
    ] {
        let from = src.join(dir);
        if !from.exists() {
            continue;
        }
        let to = dest.join(dir);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let status = Command::new("cp").arg("-a").arg(&from).arg(&to).status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("cp -a {} failed", from.display())));
        }
    }
    for dir in ["tmp", "var/tmp", "home", "opt", "var/www", "dev"] {
        std::fs::create_dir_all(dest.join(dir))?;
    }
    Ok(())
}
