#!/usr/bin/env bash
# Baseline hashing benchmark: `cordon baseline create /usr` against b3sum and sha256sum over the same
# files with the same parallelism (2 workers), warm page cache, side by side with hyperfine. cordon
# also walks, statx-es, reads capabilities and inode flags and writes the compressed baseline, so
# the ratio is conservative. The issue's target: cordon at least 90% of the peer's throughput.
#   TREE=/usr (default)   THREADS=2 (default)   BIN=path uses a prebuilt cordon
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null; }
command -v b3sum >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q b3sum >/dev/null; }
bin=${BIN:-target/x86_64-unknown-linux-gnu/release/cordon}
[ -n "${BIN:-}" ] || cargo build --release --locked -q -p cordon
tree=${TREE:-/usr}
threads=${THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "tree $tree: $(find "$tree" -xdev -type f | wc -l) files, $(du -sxh "$tree" | cut -f1); $threads workers"
# The peers get the file list for free (find runs once, outside the timing).
find "$tree" -xdev -type f -print0 > "$work/files"
hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$work/h.json" \
  --prepare "rm -f $work/b3.zst $work/sha.zst" \
  -n cordon-blake3 "$bin baseline create $tree --hash blake3 --threads $threads -o $work/b3.zst" \
  -n b3sum "xargs -0 -P $threads -n 256 b3sum --num-threads 1 < $work/files > /dev/null" \
  -n cordon-sha256 "$bin baseline create $tree --hash sha256 --threads $threads -o $work/sha.zst" \
  -n sha256sum "xargs -0 -P $threads -n 256 sha256sum < $work/files > /dev/null"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
for ours, peer in (("cordon-blake3", "b3sum"), ("cordon-sha256", "sha256sum")):
    print(f"{ours}: {r[ours]:.2f} s, {peer}: {r[peer]:.2f} s -> cordon runs at {100 * r[peer] / r[ours]:.0f}% of {peer}'s throughput")
PY
