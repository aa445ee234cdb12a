//! A timeline event: one thing that happened at one instant, from one source.
//!
//! The JSON form is the Timesketch-compatible contract in FORMATS.md: `datetime` (RFC 3339 UTC with
//! nanoseconds), `timestamp` (microseconds since the epoch), `timestamp_desc`, `message`, `source`,
//! plus parsed fields.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::bytes_json::insert_bytes;
use crate::clock::format_utc;

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When (UTC).
    pub time: Timestamp,
    /// What the time means: "Content Modification Time", "Log Entry Written", "Last Login" …
    pub timestamp_desc: String,
    /// The message (the original log line's message, raw bytes).
    pub message: Vec<u8>,
    /// Source file (or `wtmp`, `bodyfile` …), raw bytes.
    pub source: Vec<u8>,
    /// 1-based line (or record) number in the source, when there is one.
    pub line: Option<u64>,
    /// Host name.
    pub host: String,
    /// Parser data type (`linux:auth:sshd`, `fs:stat` …).
    pub data_type: String,
    /// Parsed fields (`user`, `src_ip`, `pid`, `command` …).
    pub attrs: Map<String, Value>,
}

impl Event {
    /// The JSON object of the output contract (Timesketch JSONL).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("datetime".into(), json!(format_utc(self.time)));
        m.insert("timestamp".into(), json!(self.time.as_microsecond()));
        m.insert("timestamp_desc".into(), json!(self.timestamp_desc));
        insert_bytes(&mut m, "message", &self.message);
        insert_bytes(&mut m, "source", &self.source);
        if let Some(line) = self.line {
            m.insert("line".into(), json!(line));
        }
        m.insert("host".into(), json!(self.host));
        m.insert("data_type".into(), json!(self.data_type));
        for (k, v) in &self.attrs {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_timesketch_fields() {
        let mut attrs = Map::new();
        attrs.insert("src_ip".into(), json!("203.0.113.5"));
        let e = Event {
            time: Timestamp::new(1_713_582_847, 0).unwrap(),
            timestamp_desc: "Log Entry Written".into(),
            message: b"Failed password for root from 203.0.113.5 port 4242 ssh2".to_vec(),
            source: b"/var/log/auth.log".to_vec(),
            line: Some(1532),
            host: "web01".into(),
            data_type: "linux:auth:sshd".into(),
            attrs,
        };
        let v = e.to_json();
        assert_eq!(v["datetime"], "2024-04-20T03:14:07.000000000Z");
        assert_eq!(v["timestamp"], 1_713_582_847_000_000i64);
        assert_eq!(v["src_ip"], "203.0.113.5");
        assert_eq!(v["line"], 1532);
    }
}
