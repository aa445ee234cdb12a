//! `note` and `journal`: hostile text stays raw inside and escaped outside.

use crate::TestCase;

#[test]
fn notes_keep_raw_bytes_and_print_escaped() {
    let t = TestCase::new();
    let hostile: &[u8] = b"attacker said: \x1b[2J\x1b]0;owned\x07\nfake line\r\xff\xfe end";
    assert!(t.run_stdin(&["note", "-"], hostile).status.success());
    // Stored byte for byte.
    let stored: Vec<u8> = t
        .db()
        .query_row("SELECT text FROM journal WHERE kind = 'note'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, hostile);
    // Printed without a single control byte, on one line.
    let out = t.run(&["journal", "--kind", "note"]);
    assert!(
        !out.stdout.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
        "raw control bytes reached the terminal"
    );
    let text = String::from_utf8(out.stdout).expect("terminal output is valid UTF-8");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("\\x1b[2J") && text.contains("\\n") && text.contains("\\xff"),
        "{text}"
    );
    // JSON is valid and lossless.
    let entries = t.journal();
    let note = entries.iter().find(|e| e["kind"] == "note").unwrap();
    let b64 = note["text_b64"].as_str().unwrap();
    assert_eq!(cordon_core::bytes_json::decode_b64(b64).unwrap(), hostile);
}

#[test]
fn note_kinds_and_filters() {
    let t = TestCase::new();
    t.ok(&["note", "saw", "a", "miner"]);
    t.ok(&[
        "note",
        "--kind",
        "decision",
        "isolate rather than power off: keep memory",
    ]);
    t.ok(&["note", "--kind", "communication", "told the CTO"]);
    let notes = t.ok(&["journal", "--kind", "note"]);
    assert_eq!(notes.lines().count(), 3, "{notes}");
    assert!(notes.contains("saw a miner"));
    let decisions = t.ok(&["journal", "--kind", "note.decision"]);
    assert_eq!(decisions.lines().count(), 1);
    assert!(decisions.contains("keep memory"));
    // --since: a span back from now covers everything, a future time nothing.
    assert!(t.ok(&["journal", "--since", "1h"]).lines().count() >= 6);
    assert!(t.ok(&["journal", "--since", "1d"]).lines().count() >= 6);
    assert_eq!(t.ok(&["journal", "--since", "2999-01-01T00:00:00Z"]), "");
    let first_note_time = t.journal().iter().find(|e| e["kind"] == "note.decision").unwrap()["time"]
        .as_str()
        .unwrap()
        .to_owned();
    let since = t.ok(&["journal", "--since", &first_note_time, "--kind", "note"]);
    assert_eq!(since.lines().count(), 2, "{since}");
    let bad = t.run(&["journal", "--since", "yesterday-ish"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn empty_or_oversized_notes_are_refused() {
    let t = TestCase::new();
    assert_eq!(t.run_stdin(&["note", "-"], b"").status.code(), Some(2));
    let huge = vec![b'a'; 16 * 1024 * 1024 + 1];
    let out = t.run_stdin(&["note", "-"], &huge);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::stderr(&out).contains("larger than"));
}
