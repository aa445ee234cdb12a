#!/usr/bin/env bash
# Runs every cordon test on a fresh Debian/Ubuntu machine: installs the Debian packages the tests use
# (python3 for the independent journal verifier, a C compiler for the LD_PRELOAD rootkit fixture,
# debootstrap for the clean Debian root fixture, debsums as the package-verification peer, procps
# for the `ps` the rootkit test fools, tshark to read captures back, iproute2/nftables/ping for the
# network-namespace containment tests — nft only inspects what cordon installed over netlink), builds the static release binary, then runs the
# whole workspace's tests. Needs a Rust toolchain (1.95+) on PATH and root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.95 or newer first" >&2; exit 2; }

need=()
command -v python3 >/dev/null || need+=(python3)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v debsums >/dev/null || need+=(debsums)
command -v ps >/dev/null || need+=(procps)
command -v zstd >/dev/null || need+=(zstd)
command -v tshark >/dev/null || need+=(tshark)
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v ping >/dev/null || need+=(iputils-ping)
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# The release binary is what responders carry; the tests check it is fully static too.
cargo build --release --locked -p cordon
cargo test --workspace --locked --no-fail-fast
