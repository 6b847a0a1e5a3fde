#!/usr/bin/env bash
# Sets up everything the tests need (idempotent) and runs every check: formatting, clippy, and
# all tests. Exits non-zero when any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null; then
  echo "error: rustup is needed (https://rustup.rs); it installs the toolchain pinned in rust-toolchain.toml" >&2
  exit 1
fi
# Installs the pinned toolchain, components and wasm target from rust-toolchain.toml.
rustup toolchain install

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test
