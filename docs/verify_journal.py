#!/usr/bin/env python3
"""Verifies a cordon case's journal from docs/journal.md alone, without cordon.
Usage: verify_journal.py CASE_DIR [SEAL_LINE]. Exit 0 intact, 1 broken."""
import hashlib, sqlite3, sys

db = sqlite3.connect(f"file:{sys.argv[1]}/case.sqlite?mode=ro", uri=True)
def field(b): return len(b).to_bytes(8, "big") + b
prev, expected, hashes = "0" * 64, 1, {}
for seq, time, actor, kind, text, data, p, h in db.execute(
        "SELECT seq, time, actor, kind, text, data, prev, hash FROM journal ORDER BY seq"):
    text = text if isinstance(text, bytes) else text.encode()
    parts = [b"cordon-journal-v1", str(seq).encode(), time.encode(), actor.encode(),
             kind.encode(), text, data.encode(), p.encode()]
    if seq != expected or p != prev or hashlib.sha256(b"".join(map(field, parts))).hexdigest() != h:
        sys.exit(f"BROKEN at entry {expected}")
    prev, expected, hashes[seq] = h, expected + 1, h
head = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('head_seq', 'head_hash')"))
if (head.get("head_seq"), head.get("head_hash")) != (str(expected - 1), prev):
    sys.exit("BROKEN: entries removed from the end")
if len(sys.argv) > 2:
    seal = dict(w.split("=", 1) for w in sys.argv[2].split()[2:])
    if hashes.get(int(seal["entries"])) != seal["head"]:
        sys.exit("BROKEN: seal does not hold")
print(f"intact: {expected - 1} entries, head {prev}")
