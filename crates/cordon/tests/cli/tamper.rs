//! `case verify` and the independent verifier catch every kind of tampering with the stored case.

use std::process::Command;

use crate::{TestCase, stdout};

const PY_VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_journal.py");

/// A case with some history: notes (one hostile), a task, an evidence file.
fn case_with_history() -> TestCase {
    let t = TestCase::new();
    t.ok(&["note", "first observation"]);
    assert!(
        t.run_stdin(&["note", "-"], b"pasted \x1b[31mred\x1b[0m \xff ransom note")
            .status
            .success()
    );
    t.ok(&["task", "done", "notify"]);
    let f = t.parent.path().join("isp-mail.eml");
    std::fs::write(&f, b"From: abuse@isp.example\n\nYour host attacks others.\n").unwrap();
    t.ok(&["evidence", "add", f.to_str().unwrap(), "--note", "ISP abuse desk"]);
    t.ok(&["note", "last observation"]);
    t
}

fn python_verifier(t: &TestCase, seal: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new("python3");
    cmd.arg(PY_VERIFIER).arg(&t.dir);
    if let Some(s) = seal {
        cmd.arg(s);
    }
    cmd.output()
        .expect("python3 is needed for the independent verifier (scripts/test.sh installs it)")
}

/// Verification must fail (exit 1) naming `needle`, and the independent verifier must agree.
fn assert_broken(t: &TestCase, needle: &str, python_too: bool) {
    let out = t.run(&["case", "verify"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify should fail:\n{text}{}",
        crate::stderr(&out)
    );
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    assert!(text.contains("case verification FAILED"));
    if python_too {
        let py = python_verifier(t, None);
        assert_eq!(
            py.status.code(),
            Some(1),
            "independent verifier missed it: {}",
            stdout(&py)
        );
    }
}

fn exec(t: &TestCase, sql: &str) {
    t.db()
        .execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
        .unwrap();
}

#[test]
fn an_intact_case_verifies_with_cordon_and_independently() {
    let t = case_with_history();
    let out = t.ok(&["case", "verify"]);
    assert!(out.contains("case intact"), "{out}");
    assert!(out.contains("1 items, 1 files"), "{out}");
    let py = python_verifier(&t, None);
    assert_eq!(py.status.code(), Some(0), "{}{}", stdout(&py), crate::stderr(&py));
    assert!(stdout(&py).starts_with("intact:"));
    // The verification itself is journaled, with a `verified` custody event for the evidence.
    let list = t.ok(&["evidence", "list"]);
    assert!(list.contains("verified"), "{list}");
    // And the case still verifies after that (the verify entry extended the chain correctly).
    t.ok(&["case", "verify"]);
    assert_eq!(python_verifier(&t, None).status.code(), Some(0));
}

#[test]
fn editing_an_entrys_text_is_caught() {
    let t = case_with_history();
    exec(
        &t,
        "UPDATE journal SET text = CAST('nothing happened' AS BLOB) WHERE seq = 3",
    );
    assert_broken(&t, "first broken entry: 3: entry 3 was altered", true);
}

#[test]
fn flipping_one_byte_of_a_stored_entry_is_caught() {
    let t = case_with_history();
    // Flip a single bit in the raw (hostile) note bytes.
    let (seq, mut text): (i64, Vec<u8>) = t
        .db()
        .query_row(
            "SELECT seq, text FROM journal WHERE text LIKE '%ransom%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    text[3] ^= 0x01;
    t.db()
        .execute(
            "UPDATE journal SET text = ?1 WHERE seq = ?2",
            rusqlite::params![text, seq],
        )
        .unwrap();
    assert_broken(
        &t,
        &format!("first broken entry: {seq}: entry {seq} was altered"),
        true,
    );
}

#[test]
fn editing_data_actor_time_or_kind_is_caught() {
    for (column, value) in [
        ("data", "'{}'"),
        ("actor", "'mallory@web01'"),
        ("time", "'2020-01-01T00:00:00.000000000Z'"),
        ("kind", "'note'"),
    ] {
        let t = case_with_history();
        exec(
            &t,
            &format!("UPDATE journal SET {column} = {value} WHERE seq = 4"),
        );
        assert_broken(&t, "first broken entry: 4", true);
    }
}

#[test]
fn deleting_an_entry_is_caught() {
    let t = case_with_history();
    exec(&t, "DELETE FROM journal WHERE seq = 5");
    assert_broken(&t, "entry 5 is missing", true);
}

#[test]
fn deleting_the_last_entries_is_caught() {
    let t = case_with_history();
    exec(
        &t,
        "DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal)",
    );
    assert_broken(&t, "entries were removed from the end", true);
    // Later appends do not paper over the gap: they follow the recorded head.
    t.run(&["note", "after the deletion"]);
    assert_broken(&t, "is missing", true);
}

#[test]
fn inserting_an_entry_is_caught() {
    let t = case_with_history();
    // Make room by shifting later entries up, then insert a forged entry 3 that links to entry 2.
    exec(
        &t,
        "UPDATE journal SET seq = seq + 1000 WHERE seq >= 3;
         UPDATE journal SET seq = seq - 999 WHERE seq >= 1003;
         INSERT INTO journal SELECT 3, time, actor, 'note', CAST('forged' AS BLOB), '{}', hash, hash FROM journal WHERE seq = 2;",
    );
    assert_broken(&t, "first broken entry: 3", true);
}

#[test]
fn reordering_entries_is_caught() {
    let t = case_with_history();
    exec(
        &t,
        "UPDATE journal SET seq = -1 WHERE seq = 3; UPDATE journal SET seq = 3 WHERE seq = 4; UPDATE journal SET seq = 4 WHERE seq = -1;",
    );
    assert_broken(&t, "first broken entry: 3", true);
}

#[test]
fn changing_an_evidence_file_or_its_record_is_caught() {
    let t = case_with_history();
    let path: Vec<u8> = t
        .db()
        .query_row("SELECT path FROM evidence_file", [], |r| r.get(0))
        .unwrap();
    let path = String::from_utf8(path).unwrap();
    let file = t.dir.join(&path);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    assert_broken(&t, "content changed", false);

    // Putting the file back fixes it; then "fixing" the recorded hash to a forged file is caught too.
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    t.ok(&["case", "verify"]);
    std::fs::write(&file, b"forged").unwrap();
    let forged = crate::sha256_hex(b"forged");
    exec(
        &t,
        &format!("UPDATE evidence_file SET sha256 = '{forged}', size = 6"),
    );
    assert_broken(&t, "differs from what journal entry", false);

    let t = case_with_history();
    std::fs::remove_file(t.dir.join(&path)).unwrap();
    assert_broken(&t, "cannot be read", false);
}

#[test]
fn removing_a_custody_event_is_caught() {
    let t = case_with_history();
    exec(&t, "DELETE FROM custody");
    assert_broken(&t, "missing from the custody table", false);
}

#[test]
fn a_seal_proves_nothing_up_to_it_changed() {
    let t = case_with_history();
    let line = t.ok(&["case", "seal"]).trim().to_owned();
    assert!(line.starts_with("cordon-seal v1 case="), "{line}");
    assert_eq!(t.ok(&["case", "seal"]).lines().count(), 1, "the seal is one line");
    let entries: i64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("entries="))
        .unwrap()
        .parse()
        .unwrap();
    // More work after the seal does not disturb it.
    t.ok(&["note", "after the seal"]);
    let out = t.ok(&["case", "verify", "--seal", &line]);
    assert!(out.contains("seal holds"), "{out}");
    assert_eq!(python_verifier(&t, Some(&line)).status.code(), Some(0));
    // The seal was journaled.
    assert!(t.ok(&["journal", "--kind", "seal"]).contains(&line));

    // Someone rewrites the whole chain consistently (recomputing every hash, fixing the head): the
    // file alone looks intact, but the seal does not hold.
    rewrite_chain_consistently(&t, entries - 1);
    let out = t.run(&["case", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a consistent rewrite passes without a seal:\n{}",
        stdout(&out)
    );
    let out = t.run(&["case", "verify", "--seal", &line]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("BROKEN seal"), "{}", stdout(&out));
    assert_eq!(python_verifier(&t, Some(&line)).status.code(), Some(1));

    // A seal of another case, and a garbled line.
    let other = TestCase::new();
    let out = other.run(&["case", "verify", "--seal", &line]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("the seal is for case"));
    assert_eq!(
        t.run(&["case", "verify", "--seal", "hello"]).status.code(),
        Some(2)
    );
}

/// Changes entry `seq`'s text and recomputes every hash after it, as a careful forger would.
fn rewrite_chain_consistently(t: &TestCase, seq: i64) {
    let db = t.db();
    db.execute(
        "UPDATE journal SET text = CAST('rewritten' AS BLOB) WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    let rows: Vec<(i64, String, String, String, Vec<u8>, String)> = db
        .prepare("SELECT seq, time, actor, kind, text, data FROM journal ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = "0".repeat(64);
    for (s, time, actor, kind, text, data) in rows {
        let hash = cordon_case::journal::entry_hash(s, &time, &actor, &kind, &text, &data, &prev);
        db.execute(
            "UPDATE journal SET prev = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, s],
        )
        .unwrap();
        prev = hash;
    }
    db.execute("UPDATE meta SET value = ?1 WHERE key = 'head_hash'", [prev])
        .unwrap();
}
