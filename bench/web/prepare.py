"""Inputs for the browser benchmark (run by run.mjs with the bench venv's Python).

Writes bench/out/web-inputs.json (bench/out is gitignored; the dataset's texts must never be
committed or printed):
  - `texts`: the dataset's test split in file order, first N, each with its id, its text (only
    for the sosrisk page, which tokenizes by itself) and its token ids from sosrisk's e5
    tokenization (bench/e5_text.py: "query: " prefix, tokenizer.json, 160 tokens keeping </s>),
    which onnxruntime-web gets ready-made: ort-web has no tokenizer, so its timings are
    session.run only (tensor creation, run, reading the outputs), while the sosrisk page's
    include its own tokenization (`tokenize_ms_per_text` below bounds what that costs natively).
  - `parity`: synthetic texts written here (none from the dataset), their ids and
    `sosrisk predict --json` on them, to check ort-web's numbers against sosrisk's.

Usage: prepare.py N
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

import e5_text  # noqa: E402  (bench/e5_text.py, the Python peers' copy of sosrisk's tokenizer)

DATA = ROOT.parent / "shared" / "data" / "sos1k" / "sos1k.csv"
MODEL = ROOT / "models" / "e5"
OUT = ROOT / "bench" / "out" / "web-inputs.json"
# bench/run.sh exports SOSRISK_BIN; otherwise the binary of CARGO_TARGET_DIR (as run.sh's default).
BIN = Path(
    os.environ.get("SOSRISK_BIN")
    or Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "sosrisk" / "target")) / "debug" / "sosrisk"
)

# Written for this benchmark; none comes from the dataset.
PARITY = [
    "今天天气很好，和朋友去公园散步了。",
    "最近总是睡不着，觉得活着没有什么意思，想一个人消失。",
    "工作压力好大，每天加班到很晚，有点撑不住了。",
    "I feel fine today, 123 ok",
    "我已经写好了遗书，不想再拖下去了。",
    "繁體中文的句子，測試一下。" * 30,  # longer than 160 tokens: read in windows
]


def main() -> None:
    n = int(sys.argv[1])
    config = json.loads((MODEL / "config.json").read_text())
    spec = config["model"]
    tok = e5_text.PieceTokenizer(MODEL / "tokenizer.json", spec["query_prefix"], spec["max_tokens"])
    rows = e5_text.test_rows(DATA)[:n]
    t0 = time.perf_counter()
    ids = [tok.encode(r.text).ids for r in rows]
    tokenize_ms = (time.perf_counter() - t0) * 1e3 / max(len(rows), 1)

    run = subprocess.run(
        [str(BIN), "predict", "--json", "--model", str(MODEL), "--file", "/dev/stdin"],
        input="\n".join(PARITY) + "\n", capture_output=True, text=True, check=True,
    )
    cli = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert len(cli) == len(PARITY), run.stderr

    OUT.write_text(json.dumps({
        "data": str(DATA),
        "model": str(MODEL),
        "pad_id": e5_text.PAD_ID,
        "tokenize_ms_per_text": tokenize_ms,
        "texts": [{"id": r.id, "text": r.text, "ids": i} for r, i in zip(rows, ids)],
        # A long text's result is its deciding window's: ort-web gets that window's pieces.
        "parity": [{"text": t, "ids": tok.encode(e5_text.deciding_text(t, c)).ids, "sosrisk": c}
                   for t, c in zip(PARITY, cli)],
    }, ensure_ascii=False))
    lengths = sorted(len(i) for i in ids)
    print(f"prepare: {len(rows)} test texts, tokens min/median/max {lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}, "
          f"{len(PARITY)} parity texts -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
