#!/usr/bin/env bash
# Idempotent set-up for building and testing the web app: Trunk and the wasm-bindgen CLI (exact
# versions Trunk.toml names), Node.js, Node packages (wasm-opt from npm binaryen,
# playwright-core) and Debian's headless Chromium, each installed only when it is missing
# (scripts/needs.sh). Callers put tests/web/node_modules/.bin on PATH.
# SOSRISK_SETUP_DRY_RUN=1 prints what it would install and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/needs.sh
source scripts/needs.sh

cargo_tool() { # crate version command [extra cargo install flags]
  local crate=$1 version=$2 command=$3
  shift 3
  cargo_install_needed "$crate" "$version" "$command" || return 0
  if [ -n "${SOSRISK_SETUP_DRY_RUN:-}" ]; then
    echo "would install (web app, cargo): $crate $version"
    return 0
  fi
  echo "== cargo install $crate $version (a few minutes, once)" >&2
  cargo install "$crate" --version "$version" "$@"
}
cargo_tool trunk 0.22.1 trunk --locked
# No --locked: one of its locked dependencies is gone from the index.
cargo_tool wasm-bindgen-cli 0.2.130 wasm-bindgen

install_needs "the web app's tests" need_node need_chromium need_chromedriver need_cjk_font

if [ ! -x tests/web/node_modules/.bin/wasm-opt ] || [ ! -d tests/web/node_modules/playwright-core ]; then
  if [ -n "${SOSRISK_SETUP_DRY_RUN:-}" ]; then
    echo "would install (web app, npm): tests/web (npm ci)"
  else
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
