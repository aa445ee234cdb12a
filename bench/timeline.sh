#!/usr/bin/env bash
# Timeline benchmark.
#  1. auth.log parse rate: a synthetic auth.log made by repeating the real loghub OpenSSH log REPS times
#     (default 500 = 1,000,000 lines), each copy shifted one day later, read through the whole
#     `cordon logs` pipeline (header, year inference, sshd classification, detections) on one core —
#     by the library (examples/parse_log) and by the cordon binary (`cordon logs --log … --json`).
#     The issue's bar is 1,000,000 events/s/core.
#  2. The filesystem timeline of this machine's /usr (`cordon timeline --sources fs --fs-path /usr`,
#     streaming bodyfile and sorted JSONL) side by side with `find /usr -printf '%T@ %p\n'`.
# BIN=path overrides the cordon binary; REPS=n the size of the synthetic log.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q -p cordon-timeline --example parse_log
[ -n "${BIN:-}" ] || cargo build --release --locked -q -p cordon
bin=${BIN:-target/x86_64-unknown-linux-gnu/release/cordon}
ex=target/x86_64-unknown-linux-gnu/release/examples/parse_log
real=../shared/data/logs/loghub-OpenSSH_2k.log
reps=${REPS:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$reps" "$real" > "$work/auth.log" <<'PY'
import datetime, sys
reps, path = int(sys.argv[1]), sys.argv[2]
lines = open(path, "rb").read().splitlines()
base = datetime.date(2025, 12, 10) - datetime.timedelta(days=reps - 1)
out = sys.stdout.buffer
for k in range(reps):
    d = base + datetime.timedelta(days=k)
    head = ("%s %2d" % (d.strftime("%b"), d.day)).encode()
    for l in lines:
        out.write(head + l[6:] + b"\n")
PY
lines=$(wc -l < "$work/auth.log")
size=$(du -m "$work/auth.log" | cut -f1)
echo "synthetic auth.log: $lines lines, $size MiB ($reps copies of $real, one day apart)"
"$ex" "$work/auth.log" syslog

hyperfine -i --warmup 1 --runs 5 --export-json "$work/parse.json" \
  -n library-parse+detect "$ex $work/auth.log syslog" \
  -n cordon-logs "$bin logs --log $work/auth.log --json > /dev/null" 2>&1 | grep -v '^ *$'
python3 - "$work/parse.json" "$lines" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
lines = int(sys.argv[2])
for r in res:
    rate = lines / r["mean"]
    print(f"{r['command']:>22}: {r['mean']:.3f} s ± {r['stddev']:.3f}  →  {rate/1e6:.2f} M lines/s on one core"
          f"  ({'meets' if rate >= 1e6 else 'BELOW'} the 1,000,000/s bar)")
PY

echo
echo "filesystem timeline of /usr ($(find /usr 2>/dev/null | wc -l) entries), page cache warm:"
hyperfine --warmup 2 --runs 7 --export-json "$work/fs.json" \
  -n find "find /usr -printf '%T@ %p\n' > /dev/null" \
  -n cordon-bodyfile "$bin timeline --sources fs --fs-path /usr --format bodyfile > /dev/null" \
  -n cordon-jsonl-sorted "$bin timeline --sources fs --fs-path /usr --format jsonl > /dev/null" 2>&1 | grep -v '^ *$'
python3 - "$work/fs.json" <<'PY'
import json, sys
res = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
f = res["find"]
for k in ("cordon-bodyfile", "cordon-jsonl-sorted"):
    print(f"{k:>20}: {res[k]:.3f} s vs find {f:.3f} s  →  cordon/find = {res[k]/f:.2f}"
          f"  ({'at least as fast as find' if res[k] <= f else 'slower than find'})")
PY
