#!/usr/bin/env bash
# Times `cordon case verify` on a case with 100,000 journal entries, side by side with the independent
# Python verifier (docs/verify_journal.py, the "third party" of docs/journal.md)
# on the same case, and prints the ratio. Installs hyperfine when it is missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
command -v hyperfine >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q -p cordon
cargo build --release --locked -q -p cordon-case --example fill_journal
bin=target/x86_64-unknown-linux-gnu/release/cordon
work=$(mktemp -d /dev/shm/cordon-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
target/x86_64-unknown-linux-gnu/release/examples/fill_journal "$work/case" "$N"
# Each cordon verify appends one entry; both tools then check N+k entries, within 0.1 % of each other.
hyperfine --warmup 1 --runs 5 --export-json "$work/h.json" \
  -n cordon "$bin --case $work/case case verify" \
  -n python-verifier "python3 docs/verify_journal.py $work/case"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"cordon case verify: {r['cordon']:.3f} s mean; independent python verifier: {r['python-verifier']:.3f} s")
print(f"ratio python/cordon = {r['python-verifier'] / r['cordon']:.2f}x (cordon also runs integrity_check and re-hashes evidence)")
PY
