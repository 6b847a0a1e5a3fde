#!/usr/bin/env bash
# Sets up everything the tests need (idempotent) and runs every check: formatting, clippy, and
# all tests. Exits non-zero when any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test
