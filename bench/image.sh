#!/usr/bin/env bash
# Imaging throughput: cordon image (SHA-256 while copying) against `dd bs=4M` and `dc3dd hash=sha256`.
# usage: bench/image.sh [SIZE_MiB=4096] [RUNS=3]   (installs hyperfine and dc3dd; builds cordon --release)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}
runs=${2:-3}
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
"$bin" case init "$work/case" --title bench --handler bench --allow-suspect-disk >/dev/null
export CORDON_CASE=$work/case
cmds=(
  -n "dd bs=4M" "dd if=$src of=$work/dd.img bs=4M status=none"
  -n "dd bs=4M conv=fsync" "dd if=$src of=$work/dd.img bs=4M status=none conv=fsync"
  -n "dd bs=4M + sha256sum" "dd if=$src bs=4M status=none | tee $work/ddsha.img | sha256sum >/dev/null"
  -n "cordon image sha256" "$bin image $src $work/out >/dev/null 2>&1"
)
[ $have_dc3dd = 1 ] && cmds+=(-n "dc3dd hash=sha256" "dc3dd if=$src of=$work/dc3dd.img hash=sha256 log=/dev/null >/dev/null 2>&1")
mkdir -p "$work/out"
hyperfine --warmup 1 --runs "$runs" \
  --prepare "rm -rf $work/dd.img $work/ddsha.img $work/dc3dd.img $work/out/* $work/case/evidence/*; sync" \
  --export-json "$work/result.json" "${cmds[@]}"
python3 - "$work/result.json" "$size_mib" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
mib = int(sys.argv[2])
for name, t in r.items():
    print(f"{name:24s} {t:8.2f} s  {mib / t:8.0f} MiB/s")
c = r["cordon image sha256"]
print(f"cordon / dd bs=4M throughput: {r['dd bs=4M'] / c * 100:.1f}% (target >= 95%)")
print(f"cordon / dd bs=4M conv=fsync throughput (both sync the image): {r['dd bs=4M conv=fsync'] / c * 100:.1f}%")
if "dc3dd hash=sha256" in r:
    print(f"cordon vs dc3dd hash=sha256: {r['dc3dd hash=sha256'] / c:.2f}x faster")
PY
