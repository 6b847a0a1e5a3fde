#!/usr/bin/env bash
# Idempotent set-up for building and testing the web app: Trunk and the wasm-bindgen CLI (exact
# versions Trunk.toml names), Node packages (wasm-opt from npm binaryen, playwright-core) and
# Debian's headless Chromium. Callers put tests/web/node_modules/.bin on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! trunk --version 2>/dev/null | grep -q "^trunk 0\.22\."; then
  cargo install trunk --version 0.22.1 --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "^wasm-bindgen 0\.2\.130$"; then
  # No --locked: one of its locked dependencies is gone from the index.
  cargo install wasm-bindgen-cli --version 0.2.130
fi
# A CJK font, so that screenshots show what a counselor sees rather than empty boxes.
if ! command -v node >/dev/null || ! command -v npm >/dev/null || ! command -v chromium >/dev/null \
  || [ ! -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq nodejs npm chromium chromium-driver fonts-wqy-zenhei >/dev/null
  else
    echo "error: the web app's tests need Node.js and Chromium: sudo apt-get install nodejs npm chromium fonts-wqy-zenhei" >&2
    exit 1
  fi
fi
if [ ! -x tests/web/node_modules/.bin/wasm-opt ] || [ ! -d tests/web/node_modules/playwright-core ]; then
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
fi
