//! Making hostile bytes safe to show on a terminal.
//!
//! Evidence (file names, process names, log lines, notes pasted from an attacker's ransom text) can
//! carry ANSI escape sequences that rewrite the responder's screen, newlines that forge extra output
//! lines, bidirectional overrides that reorder what is shown ("Trojan Source") and bytes that are not
//! UTF-8. Cordon stores the raw bytes and passes them through [`escape_terminal`] only when printing.
//!
//! The escaping is lossless and unambiguous: a backslash is doubled, so every `\` in the output
//! starts an escape.

use std::fmt::Write as _;

/// Escapes raw bytes for a terminal: printable UTF-8 stays, everything else becomes visible.
///
/// * `\\`, `\n`, `\r`, `\t` for backslash and the common whitespace controls;
/// * `\xNN` for other C0 controls, DEL, and every byte that is not part of valid UTF-8;
/// * `\u{NNNN}` for C1 controls, bidirectional and zero-width format characters.
pub fn escape_terminal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        escape_str_into(chunk.valid(), &mut out);
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// [`escape_terminal`] for text that is already known to be UTF-8.
pub fn escape_terminal_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_str_into(s, &mut out);
    out
}

fn escape_str_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_invisible_or_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// C1 controls (U+0080–U+009F; U+009B is a one-byte CSI on some terminals), bidirectional
/// embeddings/overrides/isolates and marks, zero-width characters, the line/paragraph separators and
/// the BOM: characters that change how the surrounding text looks without being seen themselves.
fn is_invisible_or_control(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f
        | 0x061c
        | 0x200b..=0x200f
        | 0x2028..=0x202e
        | 0x2060..=0x2069
        | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ansi_newlines_and_invalid_utf8_are_made_visible() {
        let hostile = b"ok\x1b[2J\x1b]0;pwned\x07\nroot\xff\xfe\\";
        assert_eq!(
            escape_terminal(hostile),
            "ok\\x1b[2J\\x1b]0;pwned\\x07\\nroot\\xff\\xfe\\\\"
        );
    }

    #[test]
    fn bidi_override_and_c1_csi_are_escaped_but_letters_stay() {
        assert_eq!(escape_terminal_str("café\u{202e}gpj.exe"), "café\\u{202e}gpj.exe");
        assert_eq!(escape_terminal("a\u{9b}31m".as_bytes()), "a\\u{9b}31m");
    }

    proptest! {
        #[test]
        fn output_never_holds_a_control_character(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let out = escape_terminal(&bytes);
            prop_assert!(!out.chars().any(|c| c.is_control() || is_invisible_or_control(c)));
        }
    }
}
