//! The merged, time-sorted timeline and its writers: JSONL (the Event contract, which Timesketch
//! imports as is), Timesketch JSONL with an explicit `+00:00` offset and microseconds, CSV, and TSK 3
//! bodyfile lines.
//!
//! [`Timeline`] keeps log events as [`Event`]s and filesystem entries compactly (one [`FsEntry`] for
//! up to four events); sorting moves 24-byte keys, not events.

use std::io::Write;

use cordon_core::Event;
use jiff::Timestamp;
use serde_json::Value;

use crate::Error;
use crate::fs::{FsEntry, bodyfile_line, bodyfile_name};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One Event contract object per line.
    Jsonl,
    /// Timesketch JSONL: `message`, `datetime` (`…+00:00`, microseconds), `timestamp_desc`, `timestamp`.
    Timesketch,
    /// CSV with a header.
    Csv,
    /// TSK 3 bodyfile.
    Bodyfile,
}

#[derive(Debug, Clone, Copy)]
enum Ref {
    Log(u32),
    Fs(u32, u8),
}

#[derive(Debug, Clone, Copy)]
struct Key {
    nanos: i128,
    item: Ref,
}

/// A timeline being built.
#[derive(Debug, Default)]
pub struct Timeline {
    events: Vec<Event>,
    fs: Vec<FsEntry>,
    keys: Vec<Key>,
    host: String,
}

fn nanos_of(sec: i64, nsec: u32) -> i128 {
    i128::from(sec) * 1_000_000_000 + i128::from(nsec)
}

impl Timeline {
    /// An empty timeline; `host` names the examined system in filesystem events.
    pub fn new(host: &str) -> Timeline {
        Timeline {
            host: host.to_owned(),
            ..Timeline::default()
        }
    }

    /// Adds a log event.
    pub fn push_event(&mut self, e: Event) {
        let idx = u32::try_from(self.events.len()).unwrap_or(u32::MAX);
        self.keys.push(Key {
            nanos: e.time.as_nanosecond(),
            item: Ref::Log(idx),
        });
        self.events.push(e);
    }

    /// Adds a file: one key per time it has that `keep` accepts.
    pub fn push_fs(&mut self, entry: FsEntry, keep: &dyn Fn(Timestamp) -> bool) {
        let idx = u32::try_from(self.fs.len()).unwrap_or(u32::MAX);
        let mut any = false;
        for (i, t) in entry.times.iter().enumerate() {
            if let Some(t) = t
                && let Ok(ts) = Timestamp::new(t.sec, i32::try_from(t.nsec).unwrap_or(0))
                && keep(ts)
            {
                any = true;
                self.keys.push(Key {
                    nanos: nanos_of(t.sec, t.nsec),
                    item: Ref::Fs(idx, u8::try_from(i).unwrap_or(0)),
                });
            }
        }
        if any {
            self.fs.push(entry);
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keeps only the events whose time `keep` accepts.
    pub fn retain(&mut self, keep: &dyn Fn(Timestamp) -> bool) {
        self.keys
            .retain(|k| Timestamp::from_nanosecond(k.nanos).is_ok_and(keep));
    }

    /// Sorts by time (stable: same-instant events keep source order).
    pub fn sort(&mut self) {
        self.keys.sort_by_key(|k| k.nanos);
    }

    fn event_at(&self, k: &Key) -> Option<Event> {
        match k.item {
            Ref::Log(i) => self.events.get(usize::try_from(i).ok()?).cloned(),
            Ref::Fs(i, which) => self
                .fs
                .get(usize::try_from(i).ok()?)?
                .event(usize::from(which), &self.host),
        }
    }

    /// Calls `f` with every event in order.
    pub fn for_each(&self, f: &mut dyn FnMut(&Event)) {
        for k in &self.keys {
            if let Some(e) = self.event_at(k) {
                f(&e);
            }
        }
    }

    /// Writes the timeline (sorted first by the caller) in `format`.
    pub fn write(&self, format: Format, w: &mut dyn Write) -> Result<u64, Error> {
        let what = match format {
            Format::Jsonl => "jsonl",
            Format::Timesketch => "timesketch",
            Format::Csv => "csv",
            Format::Bodyfile => "bodyfile",
        };
        let err = |source: std::io::Error| Error::Write { what, source };
        let mut n = 0u64;
        match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(w);
                csv.write_record(CSV_HEADER).map_err(|e| err(csv_io(e)))?;
                for k in &self.keys {
                    if let Some(e) = self.event_at(k) {
                        csv.write_record(csv_row(&e)).map_err(|e| err(csv_io(e)))?;
                        n += 1;
                    }
                }
                csv.flush().map_err(err)?;
            }
            Format::Bodyfile => {
                let mut buf = Vec::new();
                let mut written_fs = vec![false; self.fs.len()];
                for k in &self.keys {
                    buf.clear();
                    match k.item {
                        Ref::Fs(i, _) => {
                            let Some(slot) = written_fs.get_mut(usize::try_from(i).unwrap_or(usize::MAX))
                            else {
                                continue;
                            };
                            if *slot {
                                continue;
                            }
                            *slot = true;
                            let Some(f) = self.fs.get(usize::try_from(i).unwrap_or(usize::MAX)) else {
                                continue;
                            };
                            bodyfile_line(&f.path, f.ino, f.mode, f.uid, f.gid, f.size, &f.times, &mut buf);
                        }
                        Ref::Log(_) => {
                            let Some(e) = self.event_at(k) else { continue };
                            bodyfile_event(&e, &mut buf);
                        }
                    }
                    w.write_all(&buf).map_err(err)?;
                    n += 1;
                }
            }
            Format::Jsonl | Format::Timesketch => {
                let mut line = Vec::new();
                for k in &self.keys {
                    let Some(e) = self.event_at(k) else { continue };
                    line.clear();
                    let v = if format == Format::Timesketch {
                        timesketch_json(&e)
                    } else {
                        e.to_json()
                    };
                    serde_json::to_writer(&mut line, &v).map_err(|e| err(e.into()))?;
                    line.push(b'\n');
                    w.write_all(&line).map_err(err)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}

/// The I/O error inside a CSV error (so a closed pipe stays recognisable as one).
fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Timesketch's own datetime form: microseconds and an explicit `+00:00`.
pub fn timesketch_datetime(t: Timestamp) -> String {
    let s = format!("{t:.6}");
    match s.strip_suffix('Z') {
        Some(head) => format!("{head}+00:00"),
        None => s,
    }
}

/// The event as Timesketch JSONL: the contract JSON with `datetime` in Timesketch's form.
pub fn timesketch_json(e: &Event) -> Value {
    let mut v = e.to_json();
    if let Some(m) = v.as_object_mut() {
        m.insert("datetime".into(), Value::String(timesketch_datetime(e.time)));
    }
    v
}

/// The CSV columns.
pub const CSV_HEADER: [&str; 12] = [
    "datetime",
    "timestamp",
    "timestamp_desc",
    "message",
    "source",
    "line",
    "host",
    "data_type",
    "user",
    "src_ip",
    "event",
    "attrs",
];

/// Guards a CSV cell against spreadsheet formula injection (OWASP): a cell starting with `=`, `+`,
/// `-`, `@`, tab or CR gets a leading `'`. Text is UTF-8 (invalid bytes replaced).
pub fn csv_cell(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b).into_owned();
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

fn csv_row(e: &Event) -> Vec<String> {
    let a = |k: &str| {
        e.attrs.get(k).map(|v| match v {
            Value::String(s) => csv_cell(s.as_bytes()),
            other => other.to_string(),
        })
    };
    let mut rest = e.attrs.clone();
    for k in ["user", "src_ip", "event"] {
        rest.remove(k);
    }
    vec![
        timesketch_datetime(e.time),
        e.time.as_microsecond().to_string(),
        e.timestamp_desc.clone(),
        csv_cell(&e.message),
        csv_cell(&e.source),
        e.line.map(|l| l.to_string()).unwrap_or_default(),
        csv_cell(e.host.as_bytes()),
        e.data_type.clone(),
        a("user").unwrap_or_default(),
        a("src_ip").unwrap_or_default(),
        a("event").unwrap_or_default(),
        csv_cell(Value::Object(rest).to_string().as_bytes()),
    ]
}

/// A log event as a bodyfile line: name `[data_type] source:line message`, its time as mtime, the
/// other times 0 (mactime shows it as an `m...` entry).
pub fn bodyfile_event(e: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"0|");
    let mut name = format!("[{}] ", e.data_type).into_bytes();
    name.extend_from_slice(&e.source);
    if let Some(l) = e.line {
        name.extend_from_slice(format!(":{l}").as_bytes());
    }
    name.push(b' ');
    name.extend_from_slice(&e.message);
    bodyfile_name(&name, out);
    out.extend_from_slice(format!("|0|-/----------|0|0|0|0|{}|0|0\n", e.time.as_second()).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timesketch_datetime_has_an_offset_and_microseconds() {
        let t = Timestamp::new(1_713_582_847, 123_456_789).unwrap();
        assert_eq!(timesketch_datetime(t), "2024-04-20T03:14:07.123456+00:00");
        assert_eq!(csv_cell(b"=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    }
}
