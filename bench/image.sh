#!/usr/bin/env bash
# Imaging throughput: cordon image (SHA-256 while copying, image fsynced) against `dd bs=4M` (no hash,
# no sync), `dd bs=4M conv=fsync`, `dd bs=4M oflag=direct conv=fsync`, `dd | tee | sha256sum` and
# `dc3dd hash=sha256`, on the same file.
# usage: bench/image.sh [SIZE_MiB=4096] [RUNS=5]   (installs hyperfine and dc3dd; builds cordon --release)
#
# Fairness on a shared, noisy machine: the runs are interleaved (one run of every command per round,
# the order rotated each round) instead of all runs of one command and then the next, so a burst of
# load elsewhere hits every command alike; each round is also compared pairwise. Before each run the
# previous outputs are removed and `sync` flushes what they left dirty. The source is left in the page
# cache (one warm-up round reads it) for every command alike: nothing drops caches.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}
runs=${2:-5}
for pkg in hyperfine dc3dd; do
  command -v "$pkg" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null || true; }
done
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 2; }
have_dc3dd=1; command -v dc3dd >/dev/null || { have_dc3dd=0; echo "dc3dd not installed: skipping it" >&2; }
cargo build --release -p cordon >&2
bin=$PWD/target/x86_64-unknown-linux-gnu/release/cordon
work=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/source.img
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$src"
"$bin" case init "$work/case" --title bench --handler bench --allow-suspect-disk >/dev/null 2>&1
export CORDON_CASE=$work/case
mkdir -p "$work/out"
# `oflag=direct` is how cordon writes a raw image (O_DIRECT): that row is the copy without the hash.
names=("dd bs=4M" "dd bs=4M conv=fsync" "dd bs=4M oflag=direct" "dd bs=4M + sha256sum" "cordon image sha256")
cmds=(
  "dd if=$src of=$work/dd.img bs=4M status=none"
  "dd if=$src of=$work/dd.img bs=4M status=none conv=fsync"
  "dd if=$src of=$work/dd.img bs=4M status=none oflag=direct conv=fsync"
  "dd if=$src bs=4M status=none | tee $work/ddsha.img | sha256sum >/dev/null"
  "$bin image $src $work/out >/dev/null 2>&1"
)
if [ $have_dc3dd = 1 ]; then
  names+=("dc3dd hash=sha256")
  cmds+=("dc3dd if=$src of=$work/dc3dd.img hash=sha256 log=/dev/null >/dev/null 2>&1")
fi
prepare="rm -rf $work/dd.img $work/ddsha.img $work/dc3dd.img $work/out/* $work/case/evidence/*; sync"
n=${#names[@]}
echo "$runs interleaved rounds of $n commands on a $size_mib MiB file (+1 warm-up round)" >&2
for round in $(seq 0 "$runs"); do
  args=()
  for k in $(seq 0 $((n - 1))); do
    i=$(((k + round) % n))
    args+=(-n "${names[$i]}" "${cmds[$i]}")
  done
  hyperfine --runs 1 --style none --prepare "$prepare" \
    --export-json "$work/round-$round.json" "${args[@]}" >/dev/null
  echo "round $round done" >&2
done
eval "$prepare"
python3 - "$work" "$runs" "$size_mib" <<'PY'
import json, statistics as st, sys
work, runs, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = []
for r in range(1, runs + 1):  # round 0 is the warm-up
    rounds.append({x["command"]: x for x in json.load(open(f"{work}/round-{r}.json"))["results"]})
names = list(rounds[0])
order = ["dd bs=4M", "dd bs=4M conv=fsync", "dd bs=4M oflag=direct", "dd bs=4M + sha256sum", "cordon image sha256", "dc3dd hash=sha256"]
names.sort(key=lambda n: order.index(n) if n in order else 99)
wall = {n: [r[n]["mean"] for r in rounds] for n in names}
print(f"{'command':22s} {'mean':>7s} {'median':>7s} {'min':>6s} {'max':>6s}  {'MiB/s':>6s}  user    sys   (seconds, {runs} runs)")
for n in names:
    w = wall[n]
    user = st.mean(r[n]["user"] for r in rounds)
    sys_ = st.mean(r[n]["system"] for r in rounds)
    print(f"{n:22s} {st.mean(w):7.2f} {st.median(w):7.2f} {min(w):6.2f} {max(w):6.2f}  {mib / st.mean(w):6.0f}  {user:5.2f}  {sys_:5.2f}")
c = "cordon image sha256"
def ratio(ref, label):
    # Throughput of cordon relative to ref: ref time / cordon time. Pairwise = within one round.
    pair = [a / b for a, b in zip(wall[ref], wall[c])]
    print(f"cordon vs {ref:20s} {st.mean(wall[ref]) / st.mean(wall[c]) * 100:6.1f}% of its throughput (means), "
          f"{st.median(wall[ref]) / st.median(wall[c]) * 100:6.1f}% (medians); pairwise median "
          f"{st.median(pair) * 100:6.1f}% [{min(pair) * 100:.0f}-{max(pair) * 100:.0f}%]{label}")
ratio("dd bs=4M", "  target >= 95%; dd neither hashes nor syncs")
ratio("dd bs=4M conv=fsync", "  both sync the image")
ratio("dd bs=4M oflag=direct", "  same write path, no hash")
ratio("dd bs=4M + sha256sum", "")
if "dc3dd hash=sha256" in wall:
    d = "dc3dd hash=sha256"
    pair = [a / b for a, b in zip(wall[d], wall[c])]
    print(f"cordon vs {d:20s} {st.mean(wall[d]) / st.mean(wall[c]):6.2f}x faster (means), "
          f"{st.median(wall[d]) / st.median(wall[c]):.2f}x (medians); pairwise median {st.median(pair):.2f}x")
PY
