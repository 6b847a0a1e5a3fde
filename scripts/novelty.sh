#!/usr/bin/env bash
# Would a note "this text is unlike the texts the model learned from" mark the model's errors?
# For each depth (layers after which the hidden states are pooled), gives a copy of MODEL
# landmarks (`sosrisk novelty`) and prints, per group of both robustness sets, the texts flagged,
# the unfamiliar ones and the flagged ones among those (`eval`'s screening table). ~3 min a depth.
#
#   bash scripts/novelty.sh [MODEL] [DEPTH…]      # default: models/e5, depths 0 2 4 8 12
#
# Reads ../shared/data at run time; prints group names and numbers only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sosrisk/target}"
MODEL="${1:-models/e5}"
shift || true
DEPTHS=("$@")
[ ${#DEPTHS[@]} -gt 0 ] || DEPTHS=(0 2 4 8 12)
cargo build --quiet --bin sosrisk
BIN="$CARGO_TARGET_DIR/debug/sosrisk"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "| depth | set | group | n | flagged | unfamiliar | flagged and unfamiliar |"
echo "|---|---|---|---|---|---|---|"
for depth in "${DEPTHS[@]}"; do
  copy="$WORK/depth-$depth"
  rm -rf "$copy" && cp -r "$MODEL" "$copy"
  "$BIN" novelty --model "$copy" --depth "$depth" >&2
  for set in robustness robustness-holdout; do
    # The screening table's columns: group, n, should be, high risk, flagged, …, unfamiliar,
    # flagged and unfamiliar.
    "$BIN" eval --model "$copy" --data "tests/data/$set.csv" |
      awk -F' *\\| *' -v d="$depth" -v s="$set" \
        '$2 ~ /^[a-z]+$/ && $2 != "group" { print "| " d " | " s " | " $2 " | " $3 " | " $6 " | " $(NF-2) " | " $(NF-1) " |" }'
  done
done
