#!/usr/bin/env bash
# Hunt benchmark: detection side by side with chkrootkit on the same planted Debian root, then the
# time of cordon's offline hunt of the clean debootstrap root (chkrootkit on the same root as the peer,
# ratio printed) and of a live hunt of this machine. Installs chkrootkit and hyperfine when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in chkrootkit hyperfine; do
  command -v "$pkg" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
done
cargo build --release --locked -q -p cordon
cargo build --release --locked -q -p cordon-testkit --example plant_root
bin=target/x86_64-unknown-linux-gnu/release/cordon
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clean=$(bash ../shared/tools/make-debian-root.sh "$PWD/target/debian-root")
target/x86_64-unknown-linux-gnu/release/examples/plant_root "$work/planted" > "$work/planted.txt"
planted=$(wc -l < "$work/planted.txt")

"$bin" hunt --root "$work/planted" --json --min-severity info 2>/dev/null > "$work/cordon.jsonl" || true
found=0
while read -r check path; do
  if grep "\"check\":\"$check\"" "$work/cordon.jsonl" | grep -q "\"path\":\"$path"; then
    found=$((found + 1))
  else
    echo "  cordon missed: $check $path"
  fi
done < "$work/planted.txt"
high=$(grep -c '"severity":"\(high\|critical\)"' "$work/cordon.jsonl" || true)
# -q prints only what chkrootkit reports (INFECTED, warnings, the files it lists, its own errors).
chkrootkit -q -r "$work/planted" > "$work/chk.txt" 2>&1 || true
chk_inf=$(grep -c 'INFECTED' "$work/chk.txt" || true)
chk_warn=$(grep -c '^WARNING' "$work/chk.txt" || true)
echo "planted techniques:            $planted"
echo "cordon hunt found:             $found of $planted (findings >= high: $high)"
echo "chkrootkit -q -r:              $chk_inf INFECTED, $chk_warn WARNING lines"
grep -E 'INFECTED|^WARNING' "$work/chk.txt" | sed 's/^/  chkrootkit: /' | head -20

hyperfine --warmup 1 --runs 5 -i --export-json "$work/h.json" \
  -n cordon-offline "$bin hunt --root $clean --json" \
  -n chkrootkit-offline "chkrootkit -q -r $clean" \
  -n cordon-live "$bin hunt --json"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"offline hunt of the debootstrap root: cordon {r['cordon-offline']:.2f} s, chkrootkit {r['chkrootkit-offline']:.2f} s, "
      f"ratio chkrootkit/cordon = {r['chkrootkit-offline'] / r['cordon-offline']:.1f}x (target: cordon under 5 s)")
print(f"live hunt of this machine: cordon {r['cordon-live']:.2f} s (target: under 15 s)")
PY
