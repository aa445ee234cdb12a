//! End-to-end tests of the `cordon` binary: each runs the real, statically linked executable against a
//! case on a tmpfs (standing in for the responder's USB disk) and checks what a responder would see.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod capture;
mod case_init;
mod contain_host;
mod contain_network;
mod evidence;
mod hunt;
mod image;
mod integrity;
mod journal;
mod journaling;
mod playbook;
mod recover;
mod report;
mod robustness;
mod tamper;
mod timeline;

use std::path::{Path, PathBuf};
use std::process::Output;

use cordon_testkit::{CaseParent, run_cordon};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_cordon");

/// A fresh case created through the CLI.
pub(crate) struct TestCase {
    pub(crate) parent: CaseParent,
    pub(crate) dir: PathBuf,
}

impl TestCase {
    pub(crate) fn new() -> TestCase {
        let parent = CaseParent::new().unwrap();
        let dir = parent.case_path("case");
        let mut args = vec![
            "case",
            "init",
            dir.to_str().unwrap(),
            "--title",
            "web01 compromise",
            "--handler",
            "J. Smith",
        ];
        if parent.needs_allow {
            args.push("--allow-suspect-disk");
        }
        let out = run_cordon(Path::new(BIN), None, &args, None).unwrap();
        assert!(
            out.status.success(),
            "case init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestCase { parent, dir }
    }

    /// Runs cordon with CORDON_CASE set to this case.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        run_cordon(Path::new(BIN), Some(&self.dir), args, None).unwrap()
    }

    /// Runs cordon with bytes on stdin.
    pub(crate) fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        run_cordon(Path::new(BIN), Some(&self.dir), args, Some(stdin)).unwrap()
    }

    /// Runs cordon, asserts exit 0, returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "cordon {args:?} failed:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// The case database, opened directly (for tampering and for reading what cordon stored).
    pub(crate) fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("case.sqlite")).unwrap()
    }

    /// Every journal entry as JSON.
    pub(crate) fn journal(&self) -> Vec<serde_json::Value> {
        self.ok(&["journal", "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs `ip ARGS` quietly (network namespaces for the capture and containment tests); true on success.
pub(crate) fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
