#!/usr/bin/env bash
# The encoder's ablations in the README ("The fine-tuned encoder"): the augmentation pools (none,
# traditional, GPT-4, both) with the encoder frozen and fully fine-tuned, and 5-fold
# cross-validation of the frozen encoder. Then prints one table from the runs' metrics.json.
#
#   bash scripts/e5-ablation.sh frozen   # 4 runs, minutes each: the encoder's outputs are computed once
#   bash scripts/e5-ablation.sh cv       # frozen, no and traditional augmentation, validation folds 0, 1, 2, 4 (3 is in `frozen`)
#   bash scripts/e5-ablation.sh frozen-long  # frozen, heads trained longer and faster (lr 1e-2, up to 40 epochs): none, traditional
#   bash scripts/e5-ablation.sh full     # 3 runs of 25–45 minutes on 2 cores; "none" is models/e5's own command
#   bash scripts/e5-ablation.sh cv-full  # models/e5's recipe on validation folds 0, 1, 2, 4: 4 runs of ~35 minutes
#   bash scripts/e5-ablation.sh table    # only the table (what the others print at the end)
#
# Full fine-tuning gets about the shipped run's 600 steps in each arm: augmentation makes an
# epoch 5–12 times longer, so those arms run 1 or 2 epochs instead of 12.
# Needs the imported encoder in runs/e5 (README: `import`). Prints scores only, never texts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sosrisk/target}"
cargo build --quiet --bin sosrisk
BIN="$CARGO_TARGET_DIR/debug/sosrisk"
FROZEN=(--encoder runs/e5 --freeze-encoder --lr 1e-3 --epochs 10 --patience 10)
FROZEN_LONG=(--encoder runs/e5 --freeze-encoder --lr 1e-2 --epochs 40 --patience 10)

run() { # out, args…: skips a run whose model is already there
  local out=$1
  shift
  if [ -f "$out/metrics.json" ]; then
    echo "$out: done before" >&2
  else
    "$BIN" finetune "$@" --out "$out" 2>&1 | tr '\r' '\n' | grep -E '^(epoch|best|validation|test)' >&2
  fi
}

for step in "${@:-table}"; do
  case "$step" in
  frozen)
    for a in none traditional llm both; do run "runs/e5-frz-$a" "${FROZEN[@]}" --augment "$a"; done ;;
  cv)
    for a in none traditional; do
      for f in 0 1 2 4; do run "runs/e5-frz-$a-f$f" "${FROZEN[@]}" --augment "$a" --val-fold "$f"; done
    done ;;
  full)
    run runs/e5-aug-both --encoder runs/e5 --augment both --epochs 1
    run runs/e5-aug-llm --encoder runs/e5 --augment llm --epochs 2
    run runs/e5-aug-trad --encoder runs/e5 --augment traditional --epochs 1 ;;
  frozen-long)
    for a in none traditional; do run "runs/e5-frzl-$a" "${FROZEN_LONG[@]}" --augment "$a"; done ;;
  cv-full)
    for f in 0 1 2 4; do run "runs/e5-full-f$f" --encoder runs/e5 --epochs 12 --patience 4 --val-fold "$f"; done ;;
  table) ;;
  *) echo "unknown step: $step (frozen, cv, frozen-long, full, cv-full or table)" >&2; exit 2 ;;
  esac
done

BIN="$BIN" python3 - <<'EOF'
import json, os, statistics, subprocess

def scores(path):
    if not os.path.isfile(path):
        return None
    m = json.load(open(path))
    return [100 * m[s][k] for s in ("validation", "test") for k in ("binary_f1", "level_weighted_f1")]

def row(name, s):
    cells = " | ".join(f"{v:.2f}" for v in s) if s else "not run | | |"
    print(f"| {name} | {cells} |")

print("| run | validation binary F1 | validation weighted F1 | test binary F1 | test weighted F1 |")
print("|---|---|---|---|---|")
for a in ("none", "traditional", "llm", "both"):
    row(f"frozen encoder, augment {a}", scores(f"runs/e5-frz-{a}/metrics.json"))
for a in ("none", "traditional"):
    row(f"frozen encoder, heads at lr 1e-2 × 40 epochs, augment {a}", scores(f"runs/e5-frzl-{a}/metrics.json"))
row("full fine-tuning, augment none (models/e5)", scores("models/e5/metrics.json"))
for a, d in (("traditional", "trad"), ("llm", "llm"), ("both", "both")):
    row(f"full fine-tuning, augment {a}", scores(f"runs/e5-aug-{d}/metrics.json"))

def cv(name, dirs):
    folds = [f for f in (scores(f"{d}/metrics.json") for d in dirs) if f]
    if len(folds) > 1:
        cells = " | ".join(f"{statistics.mean(c):.2f} ± {statistics.stdev(c):.2f}" for c in zip(*folds))
        print(f"| {name}, {len(folds)}-fold CV (mean ± std) | {cells} |")

def average(name, dirs):
    """The fold models' average on the test set (`eval` with one --model per member). No
    validation score: each member trained on the others' validation folds."""
    members = [d for d in dirs if os.path.isfile(f"{d}/metrics.json")]
    if len(members) > 1:
        args = [os.environ["BIN"], "eval", "--split", "test", "--json"]
        for d in members:
            args += ["--model", d]
        m = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        print(f"| {name}, average of the {len(members)} fold models | | | "
              f"{100 * m['binary_f1']:.2f} | {100 * m['level_weighted_f1']:.2f} |")

def fold_dirs(fold3, pattern):
    return [fold3] + [pattern.format(f) for f in (0, 1, 2, 4)]

runs = [(f"frozen encoder, augment {a}", fold_dirs(f"runs/e5-frz-{a}", f"runs/e5-frz-{a}-f{{}}"))
        for a in ("none", "traditional")]
runs.append(("full fine-tuning, augment none", fold_dirs("models/e5", "runs/e5-full-f{}")))
for name, dirs in runs:
    cv(name, dirs)
for name, dirs in runs:
    average(name, dirs)
EOF
