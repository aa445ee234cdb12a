//! `status` and `task`: the playbook and the case at a glance.

use crate::TestCase;

#[test]
fn status_shows_progress_update_age_counts_and_the_next_step() {
    let t = TestCase::new();
    let s = t.ok(&["status"]);
    assert!(s.contains("web01 compromise"), "{s}");
    assert!(s.contains("0/9 tasks done"), "{s}");
    assert!(s.contains("no update to management yet"), "{s}");
    assert!(s.contains("next      [1] Notify management"), "{s}");
    assert!(s.contains("findings  none yet"), "{s}");

    t.ok(&[
        "note",
        "--kind",
        "communication",
        "phoned the CTO: host isolated at 14:05",
    ]);
    t.ok(&["task", "done", "1"]);
    let s = t.ok(&["status"]);
    assert!(s.contains("1/9 tasks done"), "{s}");
    assert!(s.contains("last update to management 0 min ago"), "{s}");
    assert!(s.contains("next      [2] Collect volatile evidence"), "{s}");

    let f = t.parent.path().join("photo.jpg");
    std::fs::write(&f, b"jpeg").unwrap();
    t.ok(&["evidence", "add", f.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(j["tasks_done"], 1);
    assert_eq!(j["tasks_total"], 9);
    assert_eq!(j["evidence_items"], 1);
    assert_eq!(j["evidence_bytes"], 4);
    assert_eq!(j["minutes_since_update"], 0);
    assert_eq!(j["update_due"], false);
    assert_eq!(j["next_task"]["key"], "collect");
}

#[test]
fn an_overdue_update_is_flagged() {
    let t = TestCase::new();
    t.ok(&["note", "--kind", "communication", "first update"]);
    // Age the update by rewriting its time: status reads times, it does not verify the chain.
    t.db()
        .execute(
            "UPDATE journal SET time = '2000-01-01T00:00:00.000000000Z' WHERE kind = 'note.communication'",
            [],
        )
        .unwrap();
    let s = t.ok(&["status"]);
    assert!(s.contains("an update to management is due now"), "{s}");
    // The cadence is configurable: a sitrep resets the clock, and a 0-minute cadence is always due.
    t.ok(&["sitrep"]);
    assert!(!t.ok(&["status"]).contains("due now"));
    assert!(t.ok(&["status", "--update-every", "0"]).contains("due now"));
}

#[test]
fn tasks_can_be_done_by_number_or_key_and_added() {
    let t = TestCase::new();
    assert!(t.ok(&["task", "done", "hunt"]).contains("done: 5"));
    assert!(t.ok(&["task", "done", "5"]).contains("already done"));
    assert!(
        t.ok(&["task", "add", "call", "the", "hosting", "provider"])
            .contains("added task 10")
    );
    let list = t.ok(&["task", "list"]);
    assert!(list.contains("[x]  5 (hunt)"), "{list}");
    assert!(list.contains("[ ] 10 call the hosting provider"), "{list}");
    let done = t.ok(&["journal", "--kind", "task"]);
    assert_eq!(done.lines().count(), 2, "{done}");
}
