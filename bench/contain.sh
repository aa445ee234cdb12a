#!/usr/bin/env bash
# Network isolation: `cordon contain network --apply` (plan, journal before/after, one netlink batch,
# watchdog started) against `nft -f` loading the very same ruleset (cordon prints it in the plan), each
# followed by removal, inside a network namespace made for the benchmark. Also times `contain undo`
# against `nft delete table`.
#
#   bench/contain.sh            # RUNS=20 by default
#
# Needs root, iproute2, nftables (the peer) and hyperfine; installs the last two if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
for pkg in hyperfine nft; do
  command -v "$pkg" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkg/nft/nftables}" >/dev/null; }
done
cargo build --release -q -p cordon
bin=$PWD/target/x86_64-unknown-linux-gnu/release/cordon
work=$(mktemp -d /dev/shm/cordon-bench.XXXXXX)
ns=cordon-bench-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null; pkill -f "contain watchdog" 2>/dev/null; rm -rf "$work"' EXIT
ip -n "$ns" link set lo up
"$bin" case init "$work/case" --title bench --handler bench --allow-suspect-disk >/dev/null 2>&1
export CORDON_CASE=$work/case
allow="198.51.100.10,203.0.113.0/24,2001:db8::/64"
# The ruleset cordon would install, as nft syntax, for the peer.
ip netns exec "$ns" "$bin" contain network --allow "$allow" --allow-dns --rollback 10m \
  | sed -n '/^    table inet cordon/,/^    }$/p' | sed 's/^    //' > "$work/ruleset.nft"
grep -q 'chain output' "$work/ruleset.nft"
x="ip netns exec $ns"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/apply.json" \
  -n "cordon contain network --apply" \
  --prepare "sh -c '$x $bin contain undo --all >/dev/null 2>&1; true'" \
  "$x $bin contain network --allow $allow --allow-dns --rollback 10m --apply" \
  -n "nft -f (same ruleset)" \
  --prepare "sh -c '$x nft delete table inet cordon 2>/dev/null; true'" \
  "$x nft -f $work/ruleset.nft" 2>&1 | grep -v '^ *$' || true
python3 - "$work/apply.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
c, n = r["cordon contain network --apply"], r["nft -f (same ruleset)"]
print(f"apply: cordon {c*1000:.1f} ms, nft -f {n*1000:.1f} ms, cordon/nft = {c/n:.2f}")
PY
