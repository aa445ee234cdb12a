//! Shared helpers: the real data directory, fixture roots, running the pipeline.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cordon_core::{Event, Finding};
use cordon_host::Target;
use cordon_timeline::detect::{Config, Detector};
use cordon_timeline::sources::{self, Options, Report, Want};

/// `shared/data/logs`, beside the repository.
pub fn logs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/logs");
    assert!(
        dir.is_dir(),
        "real logs not found at {} (shared/ must sit beside the clone)",
        dir.display()
    );
    dir
}

/// The real OpenSSH log's bytes.
pub fn openssh() -> Vec<u8> {
    std::fs::read(logs_dir().join("loghub-OpenSSH_2k.log")).unwrap()
}

/// 2026-11-24T00:00:00Z: the mtime given to fixture logs (as the real files have).
pub const MTIME: u64 = 1_795_478_400;

/// A fixture root in a temp dir.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Default for Root {
    fn default() -> Self {
        Root::new()
    }
}

impl Root {
    pub fn new() -> Root {
        Root {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `inner` (a path of the examined system) with `bytes` and the mtime `mtime`.
    pub fn write(&self, inner: &str, bytes: &[u8], mtime: u64) -> PathBuf {
        let p = self.dir.path().join(inner.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime))
            .unwrap();
        p
    }

    pub fn target(&self) -> Target {
        Target::offline(self.dir.path())
    }
}

/// Everything one run gives.
pub struct Run {
    pub reports: Vec<Report>,
    pub events: Vec<Event>,
    pub findings: Vec<Finding>,
}

/// Discovers and reads every log of `root`, with detections and all events.
pub fn run(root: &Root, cfg: Config) -> Run {
    run_with(root, cfg, Options::new("testhost"))
}

pub fn run_with(root: &Root, cfg: Config, mut opts: Options) -> Run {
    opts.want = Want::All;
    let target = root.target();
    let found = sources::discover(&target);
    let mut det = Detector::new(cfg);
    let mut events = Vec::new();
    let mut reports = Vec::new();
    for f in &found.files {
        reports.push(sources::process(f, &mut opts, Some(&mut det), &mut |e| {
            events.push(e)
        }));
    }
    Run {
        reports,
        events,
        findings: det.finish(),
    }
}

/// Runs a shell pipeline (the independent count) and returns its stdout.
pub fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn grep_c(pattern: &str, file: &Path) -> u64 {
    // grep -c exits 1 when there is no match; that is a count of 0.
    let out = std::process::Command::new("grep")
        .arg("-c")
        .arg("--")
        .arg(pattern)
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

pub fn attr<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
    e.attrs.get(k).and_then(|v| v.as_str())
}

pub fn checks<'a>(fs: &'a [Finding], check: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.check == check).collect()
}
