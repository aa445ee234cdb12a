#!/usr/bin/env bash
# Times cordon's collection against the shell one-liners a responder would otherwise run on the
# suspect host (which, unlike cordon, trust its ps/ss/lsof/find/sha256sum and touch atimes).
#
#   bench/collect.sh            # T1 alone, then the full collection (T0–T7, default caps)
#   RUNS=3 bench/collect.sh
#
# Needs hyperfine (apt-get install hyperfine). Uses the `collect` example of cordon-collect (no
# case needed); `cordon collect` runs the same library.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p cordon-collect --example collect
  BIN=target/x86_64-unknown-linux-gnu/release/examples/collect
fi
OUT=$(mktemp -d /tmp/cordon-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
command -v hyperfine >/dev/null || { echo "hyperfine not installed" >&2; exit 2; }

mean() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"; }

echo "== T1 (processes, sockets, network, sessions) vs ps auxww; ss -tanp; lsof -nP"
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/t1.json" \
  --prepare "rm -rf $OUT/t1" "$BIN $OUT/t1 --only T1" \
  "bash -c 'ps auxww >/dev/null; ss -tanp >/dev/null; lsof -nP >/dev/null 2>&1'"
c=$(mean "$OUT/t1.json" 0); s=$(mean "$OUT/t1.json" 1)
python3 -c "print(f'T1: cordon {float($c):.3f} s, shell {float($s):.3f} s, cordon/shell = {float($c)/float($s):.2f}')"

echo "== full collection (T0-T7) vs ps; ss; lsof; find / -xdev -printf; sha256sum of executables"
hyperfine -N --warmup 0 --runs "$RUNS" --export-json "$OUT/full.json" \
  --prepare "rm -rf $OUT/full" "$BIN $OUT/full" \
  "bash -c 'ps auxww >/dev/null; ss -tanp >/dev/null; lsof -nP >/dev/null 2>&1; find / -xdev -printf \"0|%p|%i|%M|%U|%G|%s|%A@|%T@|%C@|0\n\" >/dev/null 2>&1; find / -xdev -type f -perm /111 -print0 2>/dev/null | xargs -0 sha256sum >/dev/null 2>&1 || true'"
c=$(mean "$OUT/full.json" 0); s=$(mean "$OUT/full.json" 1)
python3 -c "print(f'full: cordon {float($c):.3f} s, shell {float($s):.3f} s, cordon/shell = {float($c)/float($s):.2f}')"
