#!/usr/bin/env bash
# Package verification benchmark: `cordon verify packages` against `debsums -s -a` on the same
# system, side by side with hyperfine, warm page cache, both cores available to both tools.
#   bench/verify_packages.sh            this machine (/)
#   ROOT=DIR bench/verify_packages.sh   a mounted tree (default also runs the Debian fixture root)
# Also times --debs against the fixture root's own .deb files (no peer: debsums cannot do this).
# Installs debsums and hyperfine when missing. BIN=path uses a prebuilt cordon.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in debsums hyperfine; do
  command -v "$pkg" >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
done
bin=${BIN:-target/x86_64-unknown-linux-gnu/release/cordon}
[ -n "${BIN:-}" ] || cargo build --release --locked -q -p cordon
fixture=$(bash ../shared/tools/make-debian-root.sh "$PWD/target/debian-root")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ratio() { # hyperfine json -> "cordon mean, peer mean, peer/cordon"
  python3 -c 'import json,sys; r={x["command"]:x["mean"] for x in json.load(open(sys.argv[1]))["results"]}; c=r["cordon"]; p=r["debsums"]; print(f"cordon {c:.3f} s, debsums {p:.3f} s, cordon is {p/c:.1f}x faster")' "$1"
}

run() { # name root
  local root=$1 rootarg=() debroot=()
  [ "$root" = / ] || { rootarg=(--root "$root"); debroot=(--root="$root"); }
  # Same results first (paths reported), then time.
  "$bin" verify packages "${rootarg[@]}" --json 2>/dev/null | python3 -c 'import json,sys; [print(json.loads(l)["path"]) for l in sys.stdin]' | sort > "$work/c.txt" || true
  debsums -s -a "${debroot[@]}" 2>&1 | sed -n 's/^debsums: \(changed\|missing\) file \(.*\) (from .*/\2/p' | sed "s|^${root%/}||" | sort > "$work/d.txt" || true
  echo "== $root: cordon $(wc -l < "$work/c.txt") results, debsums $(wc -l < "$work/d.txt"); differences:"
  diff "$work/c.txt" "$work/d.txt" | head -20 || true
  echo "(end of differences)"
  hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$work/h.json" \
    -n cordon "$bin verify packages ${rootarg[*]} --json" \
    -n debsums "debsums -s -a ${debroot[*]}"
  ratio "$work/h.json"
}

run "${ROOT:-/}"
[ -n "${ROOT:-}" ] || run "$fixture"
echo "== --debs on the fixture root (SHA-256 of every data.tar member, no peer)"
hyperfine --warmup 1 --runs 3 -i "$bin verify packages --root $fixture --debs $fixture/var/cache/apt/archives --json"
