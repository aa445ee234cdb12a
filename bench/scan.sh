#!/usr/bin/env bash
# YARA scan benchmark: `cordon scan` (yara-x, in process) against `yara -r -p 2` (Debian's yara 4) on
# the same rules over /usr/bin, side by side with hyperfine; and yara-x's own `yr scan` when it can be
# installed from crates.io (`cargo install yara-x-cli`, skipped with NO_YR=1).
#   RULES=DIR   rule files to use (default: cordon's rules/yara plus 3,000 generated rules in the
#               style of signature-base's plain-string rules: 4 strings, `2 of them` / `all of`,
#               half with an ELF or script header check; deterministic seed)
#   SCAN=DIR    tree to scan (default /usr/bin)
# Installs yara and hyperfine when missing. BIN=path uses a prebuilt cordon.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in yara hyperfine; do
  command -v "$pkg" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
done
bin=${BIN:-target/x86_64-unknown-linux-gnu/release/cordon}
[ -n "${BIN:-}" ] || cargo build --release --locked -q -p cordon
scan=${SCAN:-/usr/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rules=${RULES:-}
if [ -z "$rules" ]; then
  rules="$work/rules"; mkdir -p "$rules"
  cp rules/yara/*.yar "$rules/"
  python3 - "$rules/generated.yar" <<'PY'
import random, sys
rnd = random.Random(7)
words = "shell exec socket connect payload miner stratum backdoor loader kworker daemon proxy tunnel \
hidden inject hook token cookie upload config beacon agent implant persist cron rootkit".split()
out = []
for i in range(3000):
    strs = []
    for j in range(4):
        w = rnd.choice(words) + rnd.choice(["_", "-", ".", "/", ""]) + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rnd.randint(4, 8)))
        strs.append(f'        $s{j} = "{w}" ascii')
    cond = rnd.choice(["2 of them", "all of them", "any of ($s0, $s1) and all of ($s2, $s3)"])
    if i % 2:
        cond = rnd.choice(["uint32(0) == 0x464c457f", "uint16(0) == 0x2123"]) + " and (" + cond + ")"
    out.append(f"rule gen_{i:05d}\n{{\n    meta:\n        score = 70\n    strings:\n" + "\n".join(strs) + f"\n    condition:\n        filesize < 20MB and {cond}\n}}\n")
open(sys.argv[1], "w").write("\n".join(out))
PY
fi
# yara 4 takes one file of rules: concatenate, leaving out files it cannot compile (reported).
: > "$work/all.yar"
n=0
for f in "$rules"/*.yar; do
  if yarac -d filename= -d filepath= -d extension= -d filetype= -d owner= -d md5= "$f" "$work/t.yarc" 2>/dev/null; then
    cat "$f" >> "$work/all.yar"; echo >> "$work/all.yar"; n=$((n + 1))
  fi
  rm -f "$work/t.yarc"
done
rulecount=$(grep -cE '^\s*(private\s+|global\s+)*rule\s' "$work/all.yar" || true)
echo "rules: $rulecount in $n files; scanning $scan ($(find "$scan" -type f | wc -l) files, $(du -sh "$scan" | cut -f1))"
ext="-d filename= -d filepath= -d extension= -d filetype= -d owner= -d md5="
cmds=(-n cordon "$bin scan $scan --yara $work/all.yar --threads 2 --max-size-mib 4096 --json" -n yara-p2 "yara -r -p 2 -w $ext $work/all.yar $scan")
if [ -z "${NO_YR:-}" ] && ! command -v yr >/dev/null; then
  cargo install --locked -q yara-x-cli >/dev/null 2>&1 || echo "(yr could not be installed; skipped)"
fi
if command -v yr >/dev/null; then
  cmds+=(-n yr "yr scan -r -p 2 -w -s $work/all.yar $scan")
fi
hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$work/h.json" "${cmds[@]}"
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
c = r["cordon"]
for k, v in r.items():
    if k != "cordon":
        print(f"{k}: {v:.2f} s, cordon {c:.2f} s -> cordon is {v / c:.2f}x the speed of {k}")
PY
