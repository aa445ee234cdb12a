//! The incident's own indicators: what this attacker left on this host, as recorded in the case's
//! findings, turned into things to look for elsewhere — in a backup before restoring it, or on the
//! rebuilt host before it goes back online. No rule set knows this attacker; the case does.

use std::collections::BTreeSet;

use cordon_core::{Finding, Severity};

use crate::fs::RootFs;
use crate::launch::logical_lines;

/// One thing the attacker left.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indicator {
    /// A line (cron entry, unit command, key, preload entry …) in a given file.
    Line {
        /// The file (as the examined system writes it).
        path: Vec<u8>,
        /// The line, trimmed.
        line: Vec<u8>,
    },
    /// A file the attacker dropped (a program in /tmp, a setuid copy, a web shell, a rootkit file).
    File {
        /// Its path.
        path: Vec<u8>,
    },
    /// An account the attacker created or abused (uid 0 twin, service account that logs in).
    Account {
        /// Login name.
        name: Vec<u8>,
    },
}

impl Indicator {
    /// One line for people.
    pub fn describe(&self) -> String {
        let e = cordon_core::escape_terminal;
        match self {
            Indicator::Line { path, line } => format!("line in {}: {}", e(path), e(line)),
            Indicator::File { path } => format!("file {}", e(path)),
            Indicator::Account { name } => format!("account {}", e(name)),
        }
    }

    /// The file the indicator lives in (`/etc/passwd` for accounts).
    pub fn path(&self) -> &[u8] {
        match self {
            Indicator::Line { path, .. } | Indicator::File { path } => path,
            Indicator::Account { .. } => b"/etc/passwd",
        }
    }
}

/// Checks whose findings name a dropped file rather than a line.
const FILE_CHECKS: &[&str] = &[
    "file.known_rootkit",
    "file.suid_unowned",
    "file.tmp_executable",
    "file.dev_regular",
    "file.hidden_system_dir",
    "file.unowned_system_binary",
    "file.backdated_binary",
    "file.miner",
    "kmod.foreign_ko",
    "kmod.unowned_ko",
    "web.shell",
    "web.script_in_uploads",
];

/// The indicators behind the case's findings of at least medium severity (live-only findings such
/// as processes have no trace in a file and are left out).
pub fn from_findings(findings: &[Finding]) -> Vec<Indicator> {
    let mut out = BTreeSet::new();
    for f in findings.iter().filter(|f| f.severity >= Severity::Medium) {
        // Accounts the attacker made; not accounts the attacker abused (those existed before).
        let made_account = f.check.starts_with("account.") || f.check == "logs.new_account";
        let Some(path) = f
            .path
            .clone()
            .filter(|p| p.starts_with(b"/") && !p.starts_with(b"/proc/"))
        else {
            if made_account && let Some(user) = &f.user {
                out.insert(Indicator::Account { name: user.clone() });
            }
            continue;
        };
        if f.check.starts_with("process.") {
            continue;
        }
        if FILE_CHECKS.contains(&f.check.as_str()) {
            out.insert(Indicator::File { path });
        } else if made_account {
            if let Some(user) = &f.user {
                out.insert(Indicator::Account { name: user.clone() });
            }
        } else if f.check.starts_with("logs.") {
            // A log line is evidence of the past, not something left behind.
            continue;
        } else if !f.evidence.is_empty() && !f.evidence.contains(&b'\n') {
            out.insert(Indicator::Line {
                path,
                line: f.evidence.trim_ascii().to_vec(),
            });
        } else if !f.evidence.is_empty() {
            // A whole script (cron.daily, motd): its first meaningful line stands for it.
            if let Some((_, first)) = logical_lines(&f.evidence).into_iter().next() {
                out.insert(Indicator::Line { path, line: first });
            }
        } else {
            out.insert(Indicator::File { path });
        }
    }
    out.into_iter().collect()
}

/// True when `content` (the file the indicator names) carries it.
pub fn matches_content(ind: &Indicator, content: &[u8]) -> bool {
    match ind {
        Indicator::Line { line, .. } => logical_lines(content).iter().any(|(_, l)| l == line),
        Indicator::File { .. } => true,
        Indicator::Account { name } => {
            let mut prefix = name.clone();
            prefix.push(b':');
            content.split(|&b| b == b'\n').any(|l| l.starts_with(&prefix))
        }
    }
}

/// The indicators present on the system behind `fs`.
pub fn present(fs: &RootFs, indicators: &[Indicator]) -> Vec<Indicator> {
    indicators
        .iter()
        .filter(|ind| match ind {
            Indicator::File { path } => matches!(fs.meta(path), Ok(Some(_))),
            _ => matches!(fs.read(ind.path(), 16 << 20), Ok(Some(c)) if matches_content(ind, &c.bytes)),
        })
        .cloned()
        .collect()
}
