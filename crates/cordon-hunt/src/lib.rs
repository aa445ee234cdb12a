//! The hunt: what did the attacker leave behind?
//!
//! Almost all modern persistence lives in files no package owns, so package verification alone cannot
//! see it, and fixed lists of old rootkit files (chkrootkit, rkhunter) drown responders in false
//! positives. The hunt instead inventories every place that can start code ([`launch`]), judges every
//! command found there with one set of heuristics ([`heuristics`]), and adds structural checks on
//! accounts ([`accounts`]), files ([`files`]) and — on the live host — processes and the kernel
//! ([`live`]). It runs the same way on the live server, a mounted image of its disk and a backup.

pub mod accounts;
pub mod allow;
pub mod backup;
pub mod catalog;
pub mod context;
pub mod error;
pub mod files;
pub mod fs;
pub mod heuristics;
pub mod indicators;
pub mod launch;
pub mod live;
pub mod preflight;

use std::collections::HashSet;

use cordon_core::{Finding, Severity};
use cordon_host::Target;

pub use allow::Allowlist;
pub use error::Error;
pub use launch::LaunchPoint;

/// What to hunt and how.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// Suppress known-good findings.
    pub allow: Allowlist,
    /// Directories never walked (`dev`, `ino`): the case directory, so evidence copies are not hunted.
    pub exclude: HashSet<(u32, u32, u64)>,
    /// Skip the whole-filesystem walk (faster; launch points, accounts and live checks only).
    pub no_file_walk: bool,
}

/// What a hunt found.
#[derive(Debug, Default)]
pub struct HuntReport {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Every launch point read.
    pub launch_points: Vec<LaunchPoint>,
    /// Findings suppressed by the allowlist.
    pub suppressed: usize,
    /// Files and directories walked.
    pub files_walked: u64,
    /// What could not be read or checked.
    pub notes: Vec<String>,
    /// Name used as the findings' target.
    pub target: String,
}

impl HuntReport {
    /// True when a finding at or above `s` exists.
    pub fn has_at_least(&self, s: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= s)
    }
}

/// Findings of one check kept at most (a build tree in /tmp can hold thousands of programs).
pub const MAX_PER_CHECK: usize = 200;

/// Keeps the first [`MAX_PER_CHECK`] findings of each check and says how many more there were.
fn cap_per_check(findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    findings.retain(|f| {
        let n = count.entry(f.check.clone()).or_default();
        *n += 1;
        *n <= MAX_PER_CHECK
    });
    for (check, n) in count {
        if n > MAX_PER_CHECK {
            notes.push(format!("{check}: {n} findings, only the first {MAX_PER_CHECK} are kept; look at the rest with the evidence bundle"));
        }
    }
}

/// Runs every check on `target`.
pub fn hunt(target: &Target, opts: &HuntOptions) -> Result<HuntReport, Error> {
    let label = if target.is_live() {
        cordon_host::identity::hostname()
    } else {
        target.root().display().to_string()
    };
    let fs = fs::RootFs::open(target)?;
    let mut ctx = context::Ctx::new(fs, label.clone());
    let mut findings = Vec::new();

    let launch_points = launch::inventory(&mut ctx);
    findings.extend(launch::judge_all(&launch_points, &label));
    accounts::check(&mut ctx, &mut findings);
    files::hosts_hijack(&mut ctx, &mut findings);
    files::history_tampering(&mut ctx, &mut findings);
    let files_walked = if opts.no_file_walk {
        0
    } else {
        files::check(
            &mut ctx,
            &files::FileOptions {
                exclude: opts.exclude.clone(),
            },
            &mut findings,
        )
    };
    if target.is_live() {
        live::check(&mut ctx, &mut findings);
    } else {
        ctx.notes.push(
            "offline target: process, socket and kernel checks need the running system and were skipped"
                .into(),
        );
    }

    // One finding per id (the same line can be reached through two paths, e.g. /lib and /usr/lib).
    let mut seen = HashSet::new();
    findings.retain(|f| seen.insert(f.id.clone()));
    cap_per_check(&mut findings, &mut ctx.notes);
    let before = findings.len();
    findings.retain(|f| !opts.allow.suppresses(f));
    let suppressed = before - findings.len();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(HuntReport {
        findings,
        launch_points,
        suppressed,
        files_walked,
        notes: ctx.notes,
        target: label,
    })
}
