//! The allowlist: known-good findings a site has reviewed, each with a reason.
//!
//! One rule a line, `KIND VALUE -- REASON`; `#` starts a comment. The reason is required: an
//! allowlist entry nobody can explain is how a backdoor survives the next incident.
//!
//! ```text
//! check   sudoers.nopasswd_all            -- ops team sudo policy, ticket OPS-12
//! path    /opt/app/bin/*                  -- our application, deployed by CI
//! key     SHA256:3nE0f3kV…                -- J. Smith's laptop
//! id      f-0a1b2c3d4e5f6a7b              -- reviewed 2026-11-24
//! ```

use std::os::unix::ffi::OsStrExt as _;

use cordon_core::Finding;
use globset::{Glob, GlobMatcher};

use crate::Error;

/// One rule.
#[derive(Debug, Clone)]
enum Rule {
    Check(String),
    Path(GlobMatcher),
    Key(String),
    Id(String),
}

/// Parsed allowlist.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    rules: Vec<(Rule, String)>,
}

impl Allowlist {
    /// Parses an allowlist file's text.
    pub fn parse(text: &str) -> Result<Allowlist, Error> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| Error::Allowlist {
                line: i + 1,
                why: why.to_owned(),
            };
            let (rule, reason) = line
                .split_once("--")
                .ok_or_else(|| bad("no reason: write `KIND VALUE -- why it is fine`"))?;
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(bad("the reason after `--` is empty"));
            }
            let (kind, value) = rule
                .trim()
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `KIND VALUE`"))?;
            let value = value.trim().to_owned();
            let rule = match kind {
                "check" => Rule::Check(value),
                "path" => Rule::Path(
                    Glob::new(&value)
                        .map_err(|e| bad(&format!("bad glob: {e}")))?
                        .compile_matcher(),
                ),
                "key" => Rule::Key(value),
                "id" => Rule::Id(value),
                other => return Err(bad(&format!("unknown kind {other:?} (check, path, key, id)"))),
            };
            rules.push((rule, reason.to_owned()));
        }
        Ok(Allowlist { rules })
    }

    /// True when a rule covers the finding.
    pub fn suppresses(&self, f: &Finding) -> bool {
        self.reason_for(f).is_some()
    }

    /// The reason of the first rule covering the finding.
    pub fn reason_for(&self, f: &Finding) -> Option<&str> {
        self.rules
            .iter()
            .find(|(r, _)| matches(r, f))
            .map(|(_, why)| why.as_str())
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn matches(rule: &Rule, f: &Finding) -> bool {
    match rule {
        Rule::Check(c) => &f.check == c,
        Rule::Id(id) => &f.id == id,
        Rule::Key(k) => f.attrs.get("fingerprint").and_then(|v| v.as_str()) == Some(k.as_str()),
        Rule::Path(g) => f
            .path
            .as_ref()
            .is_some_and(|p| g.is_match(std::ffi::OsStr::from_bytes(p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_core::{Confidence, Severity};

    #[test]
    fn rules_need_reasons_and_match_by_kind() {
        let a = Allowlist::parse(
            "# ours\ncheck sudoers.nopasswd_all -- ops policy\npath /opt/app/** -- our app\n",
        )
        .unwrap();
        assert_eq!(a.len(), 2);
        let f = Finding::new("cron.unowned", Severity::Low, Confidence::Low, "x", "y", "t")
            .path("/opt/app/bin/run");
        assert_eq!(a.reason_for(&f), Some("our app"));
        let g =
            Finding::new("cron.unowned", Severity::Low, Confidence::Low, "x", "y", "t").path("/etc/cron.d/x");
        assert!(!a.suppresses(&g));
        assert!(Allowlist::parse("check x").is_err());
        assert!(Allowlist::parse("check x --  ").is_err());
        assert!(Allowlist::parse("color blue -- why").is_err());
    }
}
