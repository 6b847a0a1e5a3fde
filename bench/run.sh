#!/usr/bin/env bash
# Regenerates bench/RESULTS.md and its charts: sosrisk natively (both models, flex and wgpu),
# against onnxruntime and PyTorch (bench/peers.py), in the browser against onnxruntime-web
# (bench/web/run.mjs), sizes, and accuracy next to the TF-IDF baseline and the paper.
# Reads ../shared/data/sos1k at run time; prints and writes numbers only.
#
# Run it on an otherwise idle machine: the figures are wall-clock times, and peers and sosrisk
# are timed one after another in the same run. Each step's start and length go to stderr.
# Took 14 minutes on 2026-12-07 (after the first run's PyTorch and onnxruntime install, ~4 min).
#
# e5 on wgpu is timed on the first 32 texts and counts kernels with the sweep at batch 1 only:
# on lavapipe (a CPU Vulkan driver, ~2 GFLOP/s in e5's matmuls) a text at batch 1 took 0.7 s on
# 2026-12-07 and ~4 s on the machine of the session before (its four first calls, one of 32
# posts, ~13 minutes against 1.5 today); there 250 texts and the full sweep (21 token lengths ×
# batches 1, 7, 32) ran past 40 minutes. tests/kernels.rs sweeps e5's
# shapes with one layer (every ninth length at batch 1; 8 to 160 tokens at batches 3, 7, 32);
# the n-gram model is swept here at all three.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sosrisk/target}"
DATA="${SOSRISK_DATA:-../shared/data/sos1k/sos1k.csv}"
mkdir -p bench/out

cargo build --bin sosrisk
BIN="$CARGO_TARGET_DIR/debug/sosrisk"
PY=$(bash bench/setup.sh)
# The browser part (bench/web/run.mjs, prepare.py) uses the same interpreter and binary.
export BENCH_PYTHON="$PY" SOSRISK_BIN="$BIN"

SECONDS=0
step() { echo "== [$(date -u +%H:%M:%S), ${SECONDS} s in] $*" >&2; }

step "sosrisk natively: both models on flex and wgpu"
"$BIN" bench --model models/e5 --backend flex \
  --data "$DATA" --json bench/out/sosrisk-native-e5-flex.json
"$BIN" bench --model models/e5 --backend wgpu --texts 32 --kernel-batches 1 \
  --data "$DATA" --json bench/out/sosrisk-native-e5-wgpu.json
"$BIN" bench --model models/char-ngram --backend flex --backend wgpu \
  --data "$DATA" --json bench/out/sosrisk-native-ngram.json
"$PY" - <<'EOF'
import json
runs = [r for f in ("e5-flex", "e5-wgpu", "ngram") for r in json.load(open(f"bench/out/sosrisk-native-{f}.json"))["runs"]]
json.dump({"runs": runs}, open("bench/out/sosrisk-native.json", "w"), indent=1)
EOF

step "peers: export, parity, sosrisk, onnxruntime, PyTorch, training epoch"
"$PY" bench/peers.py all --bin "$BIN" --data "$DATA"

step "browser: onnxruntime-web against the sosrisk page"
if [ ! -f dist/index.html ]; then
  PATH="$PWD/tests/web/node_modules/.bin:$PATH" trunk build --release --offline
fi
# SOSRISK_WEB_ARGS: e.g. --skip-gpu (WebGPU here is a software renderer and takes minutes).
(cd bench/web && npm ci --no-audit --no-fund && node run.mjs ${SOSRISK_WEB_ARGS:-})

step "first visit: CPU only, WebGPU auto, WebGPU forced (tests/web/backend.test.mjs)"
for m in char-ngram e5; do
  (cd tests/web && SOSRISK_WEB_MODEL=$m node --test --test-name-pattern="first visit" backend.test.mjs >&2)
  cp tests/web/artifacts/backend.json "bench/out/first-visit-$m.json"
done

step "accuracy on the test split"
"$PY" - "$BIN" "$DATA" <<'EOF'
import json, subprocess, sys
bin, data = sys.argv[1], sys.argv[2]
acc = {}
for name, model in (("sosrisk models/e5 (4/5-bit)", "models/e5"), ("sosrisk models/char-ngram", "models/char-ngram")):
    out = subprocess.run([bin, "eval", "--model", model, "--data", data, "--split", "test", "--json"],
                         check=True, capture_output=True, text=True).stdout
    acc[name] = json.loads(out)
peers = json.load(open("bench/out/peers.json"))
for key, label in (("int8", "same model, onnxruntime dynamic int8 (transformers.js-style q8)"),):
    s = peers.get("parity", {}).get("test_scores", {}).get(key)
    if s:
        acc[label] = s
out = subprocess.run([sys.executable, "bench/tfidf_baseline.py", "--data", data],
                     check=True, capture_output=True, text=True).stdout
acc["char 1–3-gram TF-IDF + logistic regression"] = json.loads(out)
json.dump(acc, open("bench/out/accuracy.json", "w"), indent=1)
EOF

"$PY" bench/results.py
step "done"
