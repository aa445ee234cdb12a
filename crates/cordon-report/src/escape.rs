//! Escaping for Markdown. (HTML escaping is minijinja's own `AutoEscape::Html`.)
//!
//! A hostile string must stay one inline run of text: no emphasis, code, links, images, tables, raw
//! HTML or line breaks can be smuggled in. Inline markup characters are backslash-escaped everywhere;
//! block markup (`#`, `-`, `+`, `>`, `1.`) only matters at the start of a line, so only a leading one
//! is escaped; bare-URL autolinks are broken (`http\://`, `www\.`) so an attacker's address is never
//! clickable; `<` and `&` become entities (renderers pass raw HTML through); control, bidirectional
//! and zero-width characters and newlines are made visible, as on the terminal. Everything else is
//! left alone so times, paths and hashes stay readable in the plain text a manager receives.

use std::fmt::Write as _;

/// Escapes `s` for use inside a Markdown paragraph, list item or table cell.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars
            .get(i + 1..i + 3)
            .map(|w| w.iter().collect::<String>())
            .unwrap_or_default();
        let before: String = chars
            .get(i.saturating_sub(3)..i)
            .map(|w| w.iter().collect())
            .unwrap_or_default();
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("\\\\n"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            ':' if next == "//" => out.push_str("\\:"),
            '.' if before.eq_ignore_ascii_case("www") => out.push_str("\\."),
            '#' | '-' | '+' | '.' | '!' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markdown_stays_text() {
        let s = markdown(
            "x\n# owned\n[click](http://evil)<script>alert(1)</script>|cell\u{1b}[2J\u{202e} www.evil.example",
        );
        assert!(!s.contains('\n'));
        assert!(!s.contains("<script"));
        assert!(s.contains("\\[click\\](http\\://evil)"));
        assert!(s.contains("\\|cell"));
        assert!(s.contains("\\\\u{1b}"));
        assert!(s.contains("\\\\u{202e}"));
        assert!(s.contains("www\\.evil"));
        assert_eq!(markdown("# heading"), "\\# heading");
        assert_eq!(markdown("- item"), "\\- item");
    }

    #[test]
    fn ordinary_text_stays_readable() {
        assert_eq!(
            markdown("2026-11-24T23:31:16.489794823Z"),
            "2026-11-24T23:31:16.489794823Z"
        );
        assert_eq!(markdown("/etc/cron.d/x (root)"), "/etc/cron.d/x (root)");
    }
}
