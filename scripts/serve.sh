#!/usr/bin/env bash
# Builds the web app with the shipped model and serves it on http://127.0.0.1:${PORT:-8080}/ .
# Everything runs in the browser; this server only hands out static files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/web-tools.sh
export PATH="$PWD/tests/web/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build --release --offline
port="${PORT:-8080}"
echo "serving the web app on http://127.0.0.1:$port/ (Ctrl+C stops)"
exec python3 -m http.server --bind 127.0.0.1 --directory dist "$port"
