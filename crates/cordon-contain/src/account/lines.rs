//! One account's line in `passwd` and `shadow`, found and rewritten byte for byte. Only the first
//! field names the account (a commented-out or look-alike line never matches), a name with several
//! lines is refused rather than guessed at, and locking changes exactly two fields of a nine-field
//! line: every other byte, hostile or not, stays as it was.

use std::ops::Range;
use std::path::Path;

use crate::Error;
use crate::examined::{show, show_local};

/// Field 2 of passwd line `line_no`.
pub(super) fn passwd_field(passwd: &[u8], line_no: usize) -> Option<&[u8]> {
    let line = passwd.split(|&b| b == b'\n').nth(line_no.checked_sub(1)?)?;
    field(line, 1)
}

/// The `n`th (0-based) colon-separated field of a line.
pub(super) fn field(line: &[u8], n: usize) -> Option<&[u8]> {
    line.split(|&b| b == b':').nth(n)
}

/// Line numbers (1-based) and byte ranges (without the newline) of the lines whose first field is
/// `user`.
pub(super) fn find_lines(bytes: &[u8], user: &[u8]) -> Vec<(usize, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.contains(&b':') && field(line, 0) == Some(user) {
            out.push((i + 1, start..start + line.len()));
        }
        start += line.len() + 1;
    }
    out
}

/// The one `shadow` line of `user`; refuses none or several.
pub(super) fn one_line(shadow: &[u8], user: &[u8], etc: &Path) -> Result<(usize, Range<usize>), Error> {
    let found = find_lines(shadow, user);
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Refused(format!(
            "{} has no line in {}: there is no password or expiry to lock",
            show(user),
            show_local(&etc.join("shadow"))
        ))),
        many => {
            let nums: Vec<String> = many.iter().map(|(n, _)| n.to_string()).collect();
            Err(Error::Refused(format!(
                "{} has {} lines in shadow (lines {}): sort that out by hand first",
                show(user),
                many.len(),
                nums.join(", ")
            )))
        }
    }
}

/// The line locked and expired: `!` before the hash unless there, expiry date (field 8) 1.
pub(super) fn lock_line(line: &[u8]) -> Result<Vec<u8>, String> {
    let mut fields: Vec<Vec<u8>> = line.split(|&b| b == b':').map(<[u8]>::to_vec).collect();
    if fields.len() != 9 {
        return Err(format!("has {} fields instead of 9", fields.len()));
    }
    if let Some(pw) = fields.get_mut(1)
        && !pw.starts_with(b"!")
    {
        pw.insert(0, b'!');
    }
    if let Some(expire) = fields.get_mut(7) {
        *expire = b"1".to_vec();
    }
    Ok(fields.join(&b':'))
}

/// `bytes` with `range` replaced by `with`.
pub(super) fn splice(bytes: &[u8], range: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + with.len());
    out.extend_from_slice(bytes.get(..range.start).unwrap_or_default());
    out.extend_from_slice(with);
    out.extend_from_slice(bytes.get(range.end..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn locks_like_usermod_and_keeps_odd_fields() {
        assert_eq!(
            lock_line(b"alice:$y$j9T$abc:19700:0:99999:7:::").unwrap(),
            b"alice:!$y$j9T$abc:19700:0:99999:7::1:"
        );
        assert_eq!(
            lock_line(b"svc:*:19700:0:99999:7:::").unwrap(),
            b"svc:!*:19700:0:99999:7::1:"
        );
        assert_eq!(
            lock_line(b"bob:!x:1:2:3:4:5:6:\r").unwrap(),
            b"bob:!x:1:2:3:4:5:1:\r"
        );
        assert!(lock_line(b"short:x:1").is_err());
    }

    #[test]
    fn finds_lines_by_first_field_only() {
        let s = b"root:x:1::::::\nalice:h:1::::::\n#alice:h:1::::::\nalicex:h::::::\nalice";
        let found = find_lines(s, b"alice");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
        assert_eq!(&s[found[0].1.clone()], b"alice:h:1::::::");
        assert_eq!(splice(b"a\nbb\nc", 2..4, b"XYZ"), b"a\nXYZ\nc");
    }
}
