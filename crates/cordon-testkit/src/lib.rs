//! Helpers for cordon's tests: temporary case directories on storage other than the test machine's
//! root (so `case init` accepts them, as it would a USB stick), and running the built `cordon` binary.

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
