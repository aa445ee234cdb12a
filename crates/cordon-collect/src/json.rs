//! JSON helpers shared by the sources: raw bytes through `cordon_core::bytes_json`, times in the one
//! canonical UTC form, file metadata with fixed field names.

use cordon_core::bytes_json::insert_bytes;
use cordon_core::format_utc;
use cordon_host::meta::{FileMeta, FileTime};
use serde_json::{Map, Value};

/// A JSON object under construction.
pub type Obj = Map<String, Value>;

/// RFC 3339 UTC with nanoseconds, or null.
pub fn time(t: Option<FileTime>) -> Value {
    t.and_then(|t| jiff::Timestamp::new(t.sec, i32::try_from(t.nsec).ok()?).ok())
        .map_or(Value::Null, |ts| Value::String(format_utc(ts)))
}

/// Seconds since the epoch as RFC 3339 UTC, or null when out of range.
pub fn epoch(sec: i64) -> Value {
    jiff::Timestamp::from_second(sec)
        .ok()
        .map_or(Value::Null, |ts| Value::String(format_utc(ts)))
}

/// Adds a raw-bytes field (lossy text + `<name>_b64` when not UTF-8).
pub fn bytes(o: &mut Obj, name: &str, b: &[u8]) {
    insert_bytes(o, name, b);
}

/// Adds an optional raw-bytes field (null when absent).
pub fn opt_bytes(o: &mut Obj, name: &str, b: Option<&[u8]>) {
    match b {
        Some(b) => insert_bytes(o, name, b),
        None => {
            o.insert(name.to_owned(), Value::Null);
        }
    }
}

/// Adds `<name>` and `<name>_b64` when needed, for NUL-separated lists (argv, environ).
pub fn nul_list(o: &mut Obj, name: &str, b: &[u8]) {
    let parts: Vec<&[u8]> = b.split(|&c| c == 0).collect();
    let n = parts.len();
    let items: Vec<Value> = parts
        .into_iter()
        .enumerate()
        // A trailing NUL ends the list; it does not start an empty item.
        .filter(|(i, s)| !(s.is_empty() && i + 1 == n))
        .map(|(_, s)| {
            let mut m = Obj::new();
            insert_bytes(&mut m, "v", s);
            if m.len() == 1 {
                m.remove("v").unwrap_or(Value::Null)
            } else {
                Value::Object(m)
            }
        })
        .collect();
    o.insert(name.to_owned(), Value::Array(items));
}

/// The metadata fields every listed file carries.
pub fn meta(o: &mut Obj, m: &FileMeta) {
    o.insert("type".into(), Value::from(type_name(m)));
    o.insert("mode".into(), Value::from(format!("{:04o}", m.mode & 0o7777)));
    o.insert("mode_string".into(), Value::from(m.mode_string()));
    o.insert("uid".into(), Value::from(m.uid));
    o.insert("gid".into(), Value::from(m.gid));
    o.insert("size".into(), Value::from(m.size));
    o.insert("blocks".into(), Value::from(m.blocks));
    o.insert("inode".into(), Value::from(m.ino));
    o.insert("dev".into(), Value::from(format!("{}:{}", m.dev.0, m.dev.1)));
    o.insert("nlink".into(), Value::from(m.nlink));
    o.insert("atime".into(), time(m.atime));
    o.insert("mtime".into(), time(m.mtime));
    o.insert("ctime".into(), time(m.ctime));
    o.insert("btime".into(), time(m.btime));
}

/// `file`, `dir`, `symlink`, `fifo`, `socket`, `char_device`, `block_device`.
pub fn type_name(m: &FileMeta) -> &'static str {
    use rustix::fs::FileType;
    match m.file_type() {
        FileType::RegularFile => "file",
        FileType::Directory => "dir",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "char_device",
        FileType::BlockDevice => "block_device",
        FileType::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_lists_keep_empty_arguments_but_not_the_terminator() {
        let mut o = Obj::new();
        nul_list(&mut o, "argv", b"sleep\0\x0030\0");
        assert_eq!(o["argv"], serde_json::json!(["sleep", "", "30"]));
        nul_list(&mut o, "bad", b"a\xff\0");
        assert_eq!(o["bad"][0]["v_b64"], "Yf8=");
    }
}
