#!/usr/bin/env bash
# One model for issues 16 and 17 (docs/model.md, "Where one model is to come from"): a teacher
# trained on the tree hole alone, and a student that learns from it on the posts and the
# LLM-written posts while the ordinary texts keep their hard "low" label.
#
#   bash scripts/student.sh teacher [FOLDS…]  # the old recipe's fold models: ~15–20 min a fold on 2 cores
#                                             # (teacher and student: once all five folds are done, the
#                                             # out-of-fold summary and the uniform soup of the fold models)
#   bash scripts/student.sh student [FOLDS…]  # the student's cross-validation: fold f is taught by the
#                                             # teacher's fold-f model (it never saw fold f): ~30 min a fold
#                                             # VARIANT=1: taught on the posts and all GPT-4 posts;
#                                             # 2: --untaught generated; 3 (default): --untaught generated-high
#   bash scripts/student.sh final             # the student on all 999 posts, taught by all five teacher
#                                             # models, epochs and calibration from the student's CV
#   bash scripts/student.sh judge MODEL…      # each model on SOS-1K's test set, both robustness sets and
#                                             # the everyday pool's test split (~6 min a model)
#
# Run directories under $RUNS (default ~/.cache/sosrisk/runs); every step resumes where it stopped.
# Needs the imported encoder in runs/e5 (README: `import`). Prints scores only, never texts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sosrisk/target}"
RUNS="${RUNS:-$HOME/.cache/sosrisk/runs}"
TEACHER="$RUNS/plain-g"
VARIANT="${VARIANT:-3}"
case "$VARIANT" in
1) UNTAUGHT=() ;;
2) UNTAUGHT=(--untaught generated) ;;
3) UNTAUGHT=(--untaught generated-high) ;;
*) echo "VARIANT is 1, 2 or 3" >&2; exit 2 ;;
esac
STUDENT="$RUNS/student$VARIANT"
cargo build --quiet --bin sosrisk
BIN="$CARGO_TARGET_DIR/debug/sosrisk"

COMMON=(--encoder runs/e5 --group-by-length --quiet)
# Cross-validation's schedule; the final run takes its epoch count from the student's CV.
SCHEDULE=(--epochs 12 --patience 4)
# The robust recipe's pools (models/e5's, with robust2's LLM-written low-risk posts) and the teacher.
TAUGHT=(--everyday-per-batch 2 --everyday-hard-per-batch 3 --generated-per-batch 4
  --generated-low-per-batch 3 --head-lr-scale 10 --distill-alpha 0.5 --distill-temperature 2
  ${UNTAUGHT[@]+"${UNTAUGHT[@]}"})

folds() { if [ $# -gt 0 ]; then echo "$@"; else echo 3 0 1 2 4; fi; }

step=${1:-}
shift || true
case "$step" in
teacher)
  # shellcheck disable=SC2046
  "$BIN" cv "${COMMON[@]}" "${SCHEDULE[@]}" --soup --runs "$TEACHER" --folds $(folds "$@") ;;
student)
  # shellcheck disable=SC2046
  "$BIN" cv "${COMMON[@]}" "${SCHEDULE[@]}" --soup "${TAUGHT[@]}" --teacher "$TEACHER" --runs "$STUDENT" --folds $(folds "$@") ;;
final)
  "$BIN" finetune "${COMMON[@]}" "${TAUGHT[@]}" --teacher "$TEACHER" --final-from "$STUDENT" \
    --out "$STUDENT-final" --resume ;;
judge)
  [ $# -gt 0 ] || { echo "judge: name one or more model directories" >&2; exit 2; }
  for m in "$@"; do
    echo "## $m"
    "$BIN" eval --model "$m" --split test --thresholds 0.3,0.7
    "$BIN" eval --model "$m" --data tests/data/robustness.csv
    "$BIN" eval --model "$m" --data tests/data/robustness-holdout.csv
    "$BIN" eval --model "$m" --data ../shared/data/everyday/everyday.csv --split test
  done ;;
*)
  echo "usage: bash scripts/student.sh teacher|student [FOLDS…] | final | judge MODEL…" >&2
  exit 2 ;;
esac
