#!/usr/bin/env bash
# Renders a demo incident report and takes a screenshot of its HTML with headless Chromium, to look
# at it as a reader would (and prints the report as PDF). Installs chromium and poppler-utils.
# Usage: scripts/report-screenshot.sh [OUT_DIR]   (default: target/report-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/report-demo}
command -v chromium >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium poppler-utils >/dev/null; }
cargo build --locked -q -p cordon
bin=target/x86_64-unknown-linux-gnu/debug/cordon
case=$(mktemp -d /dev/shm/cordon-demo.XXXXXX)
trap 'rm -rf "$case"' EXIT
"$bin" case init "$case/c" --title "web01 compromise" --handler "J. Smith" >/dev/null
export CORDON_CASE="$case/c"
"$bin" note --kind decision "isolate the host, do not power it off: keep memory" >/dev/null
printf 'The web server was entered through a guessed SSH password.\n\nNo customer data is known to have left the host.' | "$bin" report edit summary --from - >/dev/null
"$bin" hunt --no-file-walk >/dev/null 2>&1 || true
mkdir -p "$out"
"$bin" report --format md,html,pdf -o "$out" >/dev/null
chromium --headless --disable-gpu --no-sandbox --hide-scrollbars --window-size=1200,1800 \
  --screenshot="$out/report.png" "file://$PWD/$out/report.html" >/dev/null 2>&1
echo "$out/report.png"; echo "$out/report.pdf"
pdftotext "$out/report.pdf" - | head -5
