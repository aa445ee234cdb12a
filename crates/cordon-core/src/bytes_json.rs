//! Raw bytes in JSON output without losing any of them.
//!
//! The output contract (FORMATS.md): a field that may hold bytes that are not UTF-8 is written lossily
//! under its own name, and, only when the bytes are not valid UTF-8, losslessly as base64 in a
//! companion field `<name>_b64`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Puts `bytes` into `map` under `name`, adding `<name>_b64` when they are not valid UTF-8.
pub fn insert_bytes(map: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            map.insert(name.to_owned(), Value::String(s.to_owned()));
        }
        Err(_) => {
            map.insert(
                name.to_owned(),
                Value::String(String::from_utf8_lossy(bytes).into_owned()),
            );
            map.insert(format!("{name}_b64"), Value::String(STANDARD.encode(bytes)));
        }
    }
}

/// Decodes a base64 companion field back into bytes.
pub fn decode_b64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_has_no_companion_and_invalid_text_round_trips() {
        let mut m = Map::new();
        insert_bytes(&mut m, "text", "héllo".as_bytes());
        assert_eq!(m.get("text").unwrap(), "héllo");
        assert!(m.get("text_b64").is_none());

        let raw = b"a\xffb\x1b[31m";
        insert_bytes(&mut m, "name", raw);
        assert_eq!(m.get("name").unwrap(), "a\u{fffd}b\u{1b}[31m");
        let b64 = m.get("name_b64").unwrap().as_str().unwrap();
        assert_eq!(decode_b64(b64).unwrap(), raw);
    }
}
