#!/usr/bin/env bash
# Backup check benchmark: `cordon backup check` of a backup tree against the cost of what it adds
# up to — a hunt of the same tree plus the package hash pass (`cordon verify packages`) — on the clean
# Debian root, side by side with hyperfine; prints the ratio (target: no more than 1.0).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null; }
cargo build --release --locked -q -p cordon
bin=target/x86_64-unknown-linux-gnu/release/cordon
root=$(bash ../shared/tools/make-debian-root.sh "$PWD/target/debian-root")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hyperfine --warmup 1 --runs 5 -i --export-json "$work/h.json" \
  -n backup-check "$bin backup check $root --json" \
  -n hunt-plus-packages "sh -c '$bin hunt --root $root --json >/dev/null; $bin verify packages --root $root --no-conffiles --json >/dev/null'"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"backup check {r['backup-check']:.2f} s; hunt + package pass {r['hunt-plus-packages']:.2f} s; "
      f"ratio = {r['backup-check'] / r['hunt-plus-packages']:.2f} (target <= 1.0)")
PY
