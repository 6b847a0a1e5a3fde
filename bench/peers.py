"""Peer benchmarks: sosrisk's e5 model in PyTorch and onnxruntime (CPU), against `sosrisk`.

Subcommands (each adds its section to bench/out/peers.json; `all` runs them in order):

  export   `sosrisk export` -> e5.safetensors; torch -> e5.onnx (fp32); quantize_dynamic -> e5-int8.onnx
  parity   PyTorch vs `sosrisk predict` on synthetic texts (written below, none from the dataset);
           onnxruntime fp32/int8 vs PyTorch; test-split F1 of each next to `sosrisk eval`
  sosrisk  `sosrisk bench --backend flex` on the same texts and training rows -> sosrisk.json
  speed    load time, throughput (batch 1 and 32), peak memory, file sizes: ort fp32, ort int8, torch
  train    one PyTorch training epoch on the rows `sosrisk bench --train-rows` uses
  report   ratios sosrisk / peer from the JSON files, as a Markdown table

Every timed peer runs in a fresh process of its own (`_worker`), so its load time and peak
memory (VmHWM, as sosrisk reads it) are its own. Run the timings one after another on an
otherwise quiet machine; compare ratios from one session, not absolute times.

The dataset's texts are read at run time and never printed or written: only ids and numbers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import e5_text  # noqa: E402

DEFAULT_BIN = os.environ.get("SOSRISK_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sosrisk/target")), "debug", "sosrisk"
)

# Synthetic texts for parity: everyday Chinese, mixed scripts, emoji, full-width and traditional
# characters, odd whitespace, and one text long enough to be read in windows. Written for
# this harness; none comes from the dataset. (No newlines: `sosrisk predict --file` reads lines.)
PARITY_TEXTS = [
    "今天天气不错，我们去公园散步吧。",
    "早上起晚了，地铁上人特别多。",
    "最近工作压力很大，晚上总是睡不着。",
    "考试没考好，心情有点低落，不想说话。",
    "周末和朋友一起吃火锅，太开心了！",
    "I feel a bit tired today, 但是还好。",
    "这部电影真的很好看 👍👍 推荐给大家",
    "😭😭😭 为什么总是这样",
    "ＡＢＣ全角字母和１２３数字",
    "妳們在說什麼？我聽不懂。",
    "   前后有空格   中间也有   ",
    "好",
    "ok",
    "猫咪今天又把杯子打翻了 🐱☕",
    "下周要出差去上海，行李还没收拾。",
    "有时候觉得一切都没有意义，但还是会继续努力。",
    "Deadline is tomorrow and I haven't started yet 哈哈哈",
    "妈妈做的红烧肉是世界上最好吃的。",
    "天气预报说明天有雨，记得带伞。" * 3,
    # ~300 tokens: read in overlapping windows of the model's length (src/windows.rs); the
    # deciding window's result, chars_used and the windows' spans must match sosrisk's.
    "".join(f"第{i}天，我照常上班、下班、做饭、看书，然后睡觉。" for i in range(1, 31)),
]


# ----------------------------------------------------------------------------- helpers


def threads_default() -> int:
    return len(os.sched_getaffinity(0))


def vm(field: str) -> float | None:
    """MiB from /proc/self/status (VmRSS, VmHWM), as `sosrisk::bench::memory` reads them."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def memory() -> dict:
    return {"rss_mib": vm("VmRSS"), "peak_mib": vm("VmHWM")}


def loadavg() -> list[float]:
    """1/5/15-minute load: recorded with every timing, since the machine is shared."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def out_dir(args) -> Path:
    d = Path(args.out)
    d.mkdir(parents=True, exist_ok=True)
    return d


def update_report(args, key: str, value) -> None:
    """Merges one section into peers.json, so subcommands can be rerun one at a time."""
    path = out_dir(args) / "peers.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report[key] = value
    report["machine"] = {
        "cpus": threads_default(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    path.write_text(json.dumps(report, indent=2))


def versions() -> dict:
    import onnxruntime
    import tokenizers
    import torch

    return {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__}


def paths(args) -> dict[str, Path]:
    """Exported models live in --artifacts (default bench/out), shared by every --out."""
    d = Path(args.artifacts or args.out)
    d.mkdir(parents=True, exist_ok=True)
    return {
        "safetensors": d / "e5.safetensors",
        "onnx": d / "e5.onnx",
        "int8": d / "e5-int8.onnx",
        # Per-channel weight scales: scored for accuracy only, next to the per-tensor default.
        "int8pc": d / "e5-int8-per-channel.onnx",
    }


def model_fingerprint(model_dir: Path) -> str:
    """config.json names every model file by its SHA-256, so its own hash pins the model."""
    import hashlib

    return hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()


def check_model(args) -> None:
    """Refuses to time a model other than the one exported (a retrained models/e5 would make
    the peers run stale weights while sosrisk runs the new ones)."""
    path = Path(args.artifacts or args.out) / "peers.json"
    exported = json.loads(path.read_text()).get("export", {}).get("model_fingerprint") if path.exists() else None
    if exported != model_fingerprint(Path(args.model)):
        sys.exit(f"{args.model} is not the model exported to {path.parent}: run `peers.py export` first")


def load_tokenizer(model_dir: Path) -> tuple[e5_text.PieceTokenizer, dict]:
    config = json.loads((model_dir / "config.json").read_text())
    spec = config["model"]
    tok = e5_text.PieceTokenizer(model_dir / "tokenizer.json", spec["query_prefix"], spec["max_tokens"])
    return tok, config


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    # One pool of `threads` for the ops (burn's flex backend runs rayon over every core); no
    # inter-op parallelism, as neither burn nor a sequential PyTorch forward has it.
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_probs(sess, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    level, binary = sess.run(None, {"input_ids": ids, "attention_mask": mask})
    return level, binary


def scores(labels: list[e5_text.Row], level: np.ndarray, binary: np.ndarray, threshold: float) -> dict:
    """sosrisk's definitions (src/metrics.rs): F1 of the high class on rows with a binary label,
    with the model's threshold on P(high); support-weighted F1 of the level argmax."""
    from sklearn.metrics import f1_score

    lv_pred = level.argmax(1)
    lv_true = np.array([r.level for r in labels])
    known = [i for i, r in enumerate(labels) if r.binary is not None]
    b_true = np.array([labels[i].binary for i in known])
    b_pred = (binary[known, e5_text.HIGH_RISK] >= threshold).astype(int)
    return {
        "n": len(labels),
        "binary_f1": float(f1_score(b_true, b_pred, pos_label=1, zero_division=0)),
        "binary_accuracy": float((b_true == b_pred).mean()),
        "level_weighted_f1": float(f1_score(lv_true, lv_pred, average="weighted", zero_division=0)),
        "level_accuracy": float((lv_true == lv_pred).mean()),
    }


def run_json(cmd: list[str], lines: bool = True):
    """A sosrisk command's JSON: one object per line (`predict --json`) or one document."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    if not lines:
        return json.loads(out.stdout)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- export


def cmd_export(args) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import torch_model as tm

    p = paths(args)
    # sosrisk refuses to overwrite; the weights are regenerated from the model every time so
    # that a retrained model never meets stale weights.
    p["safetensors"].unlink(missing_ok=True)
    subprocess.run(
        [args.bin, "export", "--model", str(args.model), "--out", str(p["safetensors"])], check=True, cwd=ROOT
    )
    loaded = tm.load(Path(args.model), p["safetensors"])

    class OnnxWrapper(torch.nn.Module):
        """int64 mask in, as transformers.js and HF exports take it; probabilities out."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids, attention_mask.to(torch.float32))

    wrapper = OnnxWrapper(loaded.model).eval()
    ids, mask = e5_text.batch_np([[0, 100, 200, 2], [0, 300, 2]])
    example = (torch.from_numpy(ids), torch.from_numpy(mask))
    batch_dim, seq_dim = torch.export.Dim("batch"), torch.export.Dim("tokens", max=512)
    started = time.perf_counter()
    program = torch.onnx.export(
        wrapper,
        example,
        dynamo=True,
        input_names=["input_ids", "attention_mask"],
        output_names=["level_probs", "binary_probs"],
        dynamic_shapes={"input_ids": {0: batch_dim, 1: seq_dim}, "attention_mask": {0: batch_dim, 1: seq_dim}},
        optimize=True,
    )
    program.save(str(p["onnx"]), external_data=False)
    export_s = time.perf_counter() - started
    onnx.checker.check_model(str(p["onnx"]))

    started = time.perf_counter()
    # transformers.js's `model_quantized.onnx`: dynamic int8 quantisation of the weights
    # (MatMul and Gather), activations quantised per call.
    quantize_dynamic(str(p["onnx"]), str(p["int8"]), weight_type=QuantType.QInt8)
    quant_s = time.perf_counter() - started
    quantize_dynamic(str(p["onnx"]), str(p["int8pc"]), weight_type=QuantType.QInt8, per_channel=True)
    ops = {}
    for name in ("onnx", "int8", "int8pc"):
        graph = onnx.load(str(p[name])).graph
        counts: dict[str, int] = {}
        for node in graph.node:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        ops[name] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    info = {
        "model": str(args.model),
        "model_fingerprint": model_fingerprint(Path(args.model)),
        "export_seconds": export_s,
        "quantize_seconds": quant_s,
        "opset": next(o.version for o in onnx.load(str(p["onnx"])).opset_import if o.domain in ("", "ai.onnx")),
        "ops": ops,
        "versions": versions(),
    }
    update_report(args, "export", info)
    print(json.dumps({k: v for k, v in info.items() if k != "ops"}, indent=2))


# ----------------------------------------------------------------------------- parity


def cmd_parity(args) -> None:
    import torch

    check_model(args)
    import torch_model as tm

    p = paths(args)
    model_dir = Path(args.model)
    loaded = tm.load(model_dir, p["safetensors"])
    tok, config = loaded.tokenizer, loaded.config
    threshold = loaded.threshold
    torch.set_num_threads(args.threads)

    # 1. PyTorch vs sosrisk on the synthetic texts.
    text_file = out_dir(args) / "parity_texts.txt"
    text_file.write_text("\n".join(PARITY_TEXTS) + "\n", encoding="utf-8")
    native = run_json([args.bin, "predict", "--model", str(model_dir), "--json", "--file", str(text_file)])
    assert len(native) == len(PARITY_TEXTS), f"sosrisk gave {len(native)} predictions for {len(PARITY_TEXTS)} texts"
    # Each text as sosrisk reads it: bounded, then whole or in windows (e5_text.PieceTokenizer.windows);
    # a text's result is its window with the highest P(high risk).
    bounded = [t[: e5_text.MAX_CHARS] for t in PARITY_TEXTS]
    spans = [tok.windows(t) for t in bounded]
    pieces = [tok.encode(t if len(sp) == 1 else t[a:b]) for t, sp in zip(bounded, spans) for a, b in sp]
    with torch.inference_mode():
        # One window per call, and all in one padded batch: padding must not change the result.
        single = [loaded.model(*tm.batch([pc.ids])) for pc in pieces]
        lv_b, bn_b = loaded.model(*tm.batch([pc.ids for pc in pieces]))
    lv_w = torch.cat([s[0] for s in single]).numpy()
    bn_w = torch.cat([s[1] for s in single]).numpy()
    # Each text's rows among the windows, which come text after text.
    ends = np.cumsum([len(sp) for sp in spans])
    rows_of = [list(range(end - len(sp), end)) for sp, end in zip(spans, ends)]
    decided = [rows[int(np.argmax(bn_w[rows, 1]))] for rows in rows_of]
    lv_1, bn_1 = lv_w[decided], bn_w[decided]
    lv_n = np.array([n["level_probs"] for n in native], dtype=np.float32)
    hr_n = np.array([n["high_risk_prob"] for n in native], dtype=np.float32)
    per_text = []
    for i, (t, sp, n) in enumerate(zip(PARITY_TEXTS, spans, native)):
        pc = pieces[decided[i]]
        whole = len(sp) == 1
        per_text.append(
            {
                "index": i,
                "tokens": len(pc.ids),
                "chars_used": [pc.chars_used if whole else len(bounded[i]), n["chars_used"]],
                "truncated": [(whole and pc.truncated) or len(t) > e5_text.MAX_CHARS, n["truncated"]],
                "windows": [
                    None if whole else [list(x) for x in sp],
                    [[w["start"], w["end"]] for w in n["windows"]] if n.get("windows") else None,
                ],
                # Every window's P(high), not only the deciding one's.
                "windows_max_abs_diff_p_high": float(
                    max(abs(bn_w[k, 1] - w["high_risk_prob"]) for k, w in zip(rows_of[i], n["windows"]))
                )
                if n.get("windows") and len(n["windows"]) == len(rows_of[i])
                else None,
                "max_abs_diff": float(max(np.abs(lv_1[i] - lv_n[i]).max(), abs(bn_1[i, 1] - hr_n[i]))),
            }
        )
    torch_vs_sosrisk = float(
        max(
            np.abs(lv_1 - lv_n).max(),
            np.abs(bn_1[:, 1] - hr_n).max(),
            *(t["windows_max_abs_diff_p_high"] for t in per_text if t["windows_max_abs_diff_p_high"] is not None),
        )
    )
    padding = float(max(np.abs(lv_w - lv_b.numpy()).max(), np.abs(bn_w - bn_b.numpy()).max()))
    meta_ok = all(t[k][0] == t[k][1] for t in per_text for k in ("chars_used", "truncated", "windows"))
    levels_ok = bool((lv_1.argmax(1) == np.array([n["level"] for n in native])).all())
    windowed = sum(1 for sp in spans if len(sp) > 1)

    # 2. onnxruntime fp32 and int8 vs PyTorch, on the synthetic texts (batched) and the test split.
    sess = {name: ort_session(p[name], args.threads) for name in ("onnx", "int8", "int8pc")}
    ids, mask = e5_text.batch_np([pc.ids for pc in pieces])  # every window of every text
    synth = {}
    for name, s in sess.items():
        lv, bn = ort_probs(s, ids, mask)
        synth[name] = float(max(np.abs(lv - lv_b.numpy()).max(), np.abs(bn - bn_b.numpy()).max()))

    test = e5_text.test_rows(Path(args.data))
    test_pieces = [tok.encode(r.text).ids for r in test]
    results = {"torch": ([], []), **{name: ([], []) for name in sess}}
    for k in range(0, len(test_pieces), 32):
        chunk = test_pieces[k : k + 32]
        with torch.inference_mode():
            lv, bn = loaded.model(*tm.batch(chunk))
        results["torch"][0].append(lv.numpy())
        results["torch"][1].append(bn.numpy())
        ids, mask = e5_text.batch_np(chunk)
        for name, s in sess.items():
            lv, bn = ort_probs(s, ids, mask)
            results[name][0].append(lv)
            results[name][1].append(bn)
    probs = {k: (np.concatenate(v[0]), np.concatenate(v[1])) for k, v in results.items()}

    def diff(a, b):
        return float(max(np.abs(probs[a][0] - probs[b][0]).max(), np.abs(probs[a][1] - probs[b][1]).max()))

    def flips(a, b):
        lv = int((probs[a][0].argmax(1) != probs[b][0].argmax(1)).sum())
        bn = int(((probs[a][1][:, 1] >= threshold) != (probs[b][1][:, 1] >= threshold)).sum())
        return {"level_argmax": lv, "binary_call": bn}

    native_eval = run_json(
        [args.bin, "eval", "--model", str(model_dir), "--data", str(args.data), "--split", "test", "--json"],
        lines=False,
    )
    test_scores = {k: scores(test, *probs[k], threshold) for k in probs}
    test_scores["sosrisk_eval"] = {
        k: native_eval.get(k) for k in ("n", "binary_f1", "binary_accuracy", "level_weighted_f1", "level_accuracy")
    }

    report = {
        "tolerance": args.tolerance,
        "synthetic_texts": len(PARITY_TEXTS),
        "synthetic_windowed": windowed,
        "torch_vs_sosrisk_max_abs_diff": torch_vs_sosrisk,
        "torch_vs_sosrisk_same_level": levels_ok,
        "chars_used_truncated_and_windows_match": meta_ok,
        "torch_padding_max_abs_diff": padding,
        "ort_fp32_vs_torch_synthetic_max_abs_diff": synth["onnx"],
        "ort_int8_vs_torch_synthetic_max_abs_diff": synth["int8"],
        "test_texts": len(test),
        "ort_fp32_vs_torch_test_max_abs_diff": diff("onnx", "torch"),
        "ort_int8_vs_torch_test_max_abs_diff": diff("int8", "torch"),
        "ort_int8_vs_fp32_test_changed_calls": flips("int8", "onnx"),
        "ort_int8_per_channel_vs_torch_synthetic_max_abs_diff": synth["int8pc"],
        "ort_int8_per_channel_vs_torch_test_max_abs_diff": diff("int8pc", "torch"),
        "ort_int8_per_channel_vs_fp32_test_changed_calls": flips("int8pc", "onnx"),
        "binary_threshold": threshold,
        "test_scores": test_scores,
        "per_text": per_text,
    }
    update_report(args, "parity", report)
    print(json.dumps({k: v for k, v in report.items() if k != "per_text"}, indent=2))
    failures = []
    if torch_vs_sosrisk > args.tolerance:
        failures.append(f"torch vs sosrisk {torch_vs_sosrisk:.2e}")
    if not meta_ok:
        failures.append("chars_used/truncated/windows differ from sosrisk")
    if report["ort_fp32_vs_torch_test_max_abs_diff"] > args.tolerance or synth["onnx"] > args.tolerance:
        failures.append("onnxruntime fp32 vs torch")
    if windowed == 0:
        failures.append("no synthetic text was read in windows")
    if failures:
        sys.exit("parity FAILED: " + "; ".join(failures))
    print(f"parity ok: torch vs sosrisk {torch_vs_sosrisk:.2e}, ort fp32 vs torch {diff('onnx', 'torch'):.2e}")


# ----------------------------------------------------------------------------- timing workers


def time_batches(predict, texts: list[str], batch: int) -> dict:
    """`sosrisk::bench::time_batches`: one untimed warm-up call of the first `batch` texts, then
    every chunk in order, each call timed from text to probabilities (tokenising included)."""
    predict(texts[:batch])
    calls = []
    started = time.perf_counter()
    for k in range(0, len(texts), batch):
        call = time.perf_counter()
        predict(texts[k : k + batch])
        calls.append((time.perf_counter() - call) * 1e3)
    seconds = time.perf_counter() - started
    return {
        "batch": batch,
        "texts": len(texts),
        "seconds": seconds,
        "ms_per_text": seconds * 1e3 / len(texts),
        "texts_per_second": len(texts) / seconds,
        "median_ms_per_call": statistics.median(calls),
    }


def worker_infer(args) -> dict:
    """One peer's load time, throughput and memory, in this (fresh) process."""
    start_mem = memory()
    started = time.perf_counter()
    if args.peer == "torch":
        import torch

        import torch_model as tm

        torch.set_num_threads(args.threads)
        threads = {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    else:
        import onnxruntime  # noqa: F401

        threads = {"intra_op": args.threads, "inter_op": 1}
    import_s = time.perf_counter() - started
    model_dir = Path(args.model)
    p = paths(args)
    loads = []
    for _ in range(3):
        # Like `sosrisk::bench::time_load`: tokenizer and network from files, three times.
        t0 = time.perf_counter()
        if args.peer == "torch":
            loaded = tm.load(model_dir, p["safetensors"])
            tok = loaded.tokenizer
        else:
            tok, _ = load_tokenizer(model_dir)
            sess = ort_session(p["onnx" if args.peer == "ort-fp32" else "int8"], args.threads)
        loads.append(time.perf_counter() - t0)
    after_load = memory()

    if args.peer == "torch":

        def run(rows):
            with torch.inference_mode():
                lv, bn = loaded.model(*tm.batch(rows))
            return lv.numpy(), bn.numpy()
    else:

        def run(rows):
            return ort_probs(sess, *e5_text.batch_np(rows))

    def predict(texts):
        """One call of `Classifier::predict`: tokenise, run each length group (or the whole
        call padded to its longest text, with --grouping none), scatter back to text order."""
        ids = [tok.encode(t).ids for t in texts]
        groups = e5_text.length_groups([len(i) for i in ids]) if args.grouping == "sosrisk" else [list(range(len(ids)))]
        level = np.empty((len(ids), e5_text.N_LEVELS), dtype=np.float32)
        binary = np.empty((len(ids), 2), dtype=np.float32)
        for g in groups:
            level[g], binary[g] = run([ids[i] for i in g])
        return level, binary

    texts = [r.text for r in e5_text.test_rows(Path(args.data))][: args.texts]
    throughput = [time_batches(predict, texts, b) for b in args.batch]
    return {
        "peer": args.peer,
        "grouping": args.grouping,
        "loadavg_at_end": loadavg(),
        "threads": threads,
        "import_seconds": import_s,
        "load": {"seconds": loads, "median_seconds": statistics.median(loads)},
        "throughput": throughput,
        "memory": {"start": start_mem, "after_load": after_load, "end": memory()},
    }


def worker_train(args) -> dict:
    """One epoch as `finetune::time_epoch`: batches of 16 in file order, dropout 0.1 on the
    pooled vector, both heads' loss, backward and an AdamW step at a constant learning rate."""
    import torch

    import torch_model as tm

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    loaded = tm.load(Path(args.model), paths(args)["safetensors"], dropout=0.1)
    model = loaded.model.train()
    rows = e5_text.train_rows(Path(args.data), args.train_rows)
    encoded = [(loaded.tokenizer.encode(r.text).ids, (r.level, r.binary)) for r in rows]
    weights = tm.class_weights([r.level for r in rows])
    # burn's AdamWConfig defaults (betas 0.9/0.999, eps 1e-5) with sosrisk's decay; burn decays
    # every parameter, so PyTorch gets one group with no exclusions.
    optim = torch.optim.AdamW(model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-5, weight_decay=0.01)
    total, steps, step_s = 0.0, 0, []
    started = time.perf_counter()
    for k in range(0, len(encoded), 16):
        t0 = time.perf_counter()
        chunk = encoded[k : k + 16]
        ids, mask = tm.batch([c[0] for c in chunk])
        loss = tm.loss(model, ids, mask, [c[1] for c in chunk], weights)
        # Reading the loss every step, as sosrisk does.
        total += loss.item() * len(chunk)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        steps += 1
        step_s.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    return {
        "peer": "torch",
        "loadavg_at_end": loadavg(),
        "threads": {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()},
        "rows": len(rows),
        "row_ids": [r.id for r in rows],
        "steps": steps,
        "seconds": seconds,
        "step_seconds": step_s,
        "mean_loss": total / max(1, len(rows)),
        "memory": memory(),
    }


def cmd_worker(args) -> None:
    print(json.dumps(worker_train(args) if args.peer == "torch-train" else worker_infer(args)))


def spawn(args, peer: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_worker", "--peer", peer]
    cmd += ["--model", str(args.model), "--data", str(args.data), "--out", str(args.out)]
    cmd += ["--artifacts", str(paths(args)["onnx"].parent)]
    cmd += ["--threads", str(args.threads), "--texts", str(args.texts), "--train-rows", str(args.train_rows)]
    cmd += ["--grouping", args.grouping]
    for b in args.batch:
        cmd += ["--batch", str(b)]
    print(f"measuring {peer} …", file=sys.stderr)
    before = loadavg()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    run["loadavg_at_start"] = before
    return run


def file_sizes(args) -> dict:
    p = paths(args)
    model_dir = Path(args.model)
    files = {
        "e5.onnx": p["onnx"],
        "e5-int8.onnx": p["int8"],
        "sosrisk weights.q8": model_dir / "weights.q8",
        "tokenizer.json": model_dir / "tokenizer.json",
    }
    sizes = {}
    for name, f in files.items():
        data = f.read_bytes()
        sizes[name] = {"bytes": len(data), "gzip9_bytes": len(gzip.compress(data, compresslevel=9))}
    return sizes


def cmd_speed(args) -> None:
    check_model(args)
    runs = [spawn(args, peer) for peer in ("ort-fp32", "ort-int8", "torch")]
    update_report(
        args,
        "speed",
        {"runs": runs, "sizes": file_sizes(args), "versions": versions(), "texts": args.texts},
    )
    for r in runs:
        for t in r["throughput"]:
            print(
                f"{r['peer']:9} batch {t['batch']:>2}: {t['ms_per_text']:.2f} ms/text, "
                f"load {r['load']['median_seconds']:.2f} s, peak {r['memory']['end']['peak_mib']:.0f} MiB"
            )


def cmd_train(args) -> None:
    check_model(args)
    run = spawn(args, "torch-train")
    update_report(args, "train", run)
    print(f"torch training epoch: {run['rows']} rows, {run['steps']} steps, {run['seconds']:.1f} s")


def cmd_sosrisk(args) -> None:
    """`sosrisk bench` on the flex backend with the training epoch (sosrisk.json). sosrisk times
    inference and the epoch in separate processes, so its inference peak memory is its own."""
    check_model(args)
    out = out_dir(args) / "sosrisk.json"
    cmd = [args.bin, "bench", "--model", str(args.model), "--backend", "flex", "--data", str(args.data)]
    cmd += ["--texts", str(args.texts), "--train-rows", str(args.train_rows), "--json", str(out)]
    for b in args.batch:
        cmd += ["--batch", str(b)]
    print("measuring sosrisk …", file=sys.stderr)
    # burn's flex backend (and gemm inside it) runs on rayon's global pool.
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    before = loadavg()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    report = json.loads(out.read_text())
    report["threads"] = args.threads
    report["loadavg"] = {"start": before, "end": loadavg()}
    # Which build ran: the binary's time and the source it came from, dirty or not.
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, cwd=ROOT).stdout.strip()  # noqa: E731
    report["build"] = {
        "binary": args.bin,
        "binary_mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(Path(args.bin).stat().st_mtime)),
        "git_head": git("rev-parse", "--short", "HEAD"),
        "src_modified": git("status", "--porcelain", "--", "src").splitlines(),
    }
    out.write_text(json.dumps(report, indent=2))


# ----------------------------------------------------------------------------- report


def cmd_report(args) -> None:
    d = out_dir(args)
    report = json.loads((d / "peers.json").read_text())
    native = json.loads((d / "sosrisk.json").read_text())["runs"][0]
    lines = [
        "| runtime | load (s) | batch | ms/text | median ms/call | peak MiB | sosrisk / this |",
        "|---|---|---|---|---|---|---|",
    ]

    def rows(name, run):
        for t in run["throughput"]:
            mine = next(x for x in native["throughput"] if x["batch"] == t["batch"])
            lines.append(
                f"| {name} | {run['load']['median_seconds']:.2f} | {t['batch']} | {t['ms_per_text']:.2f} | "
                f"{t['median_ms_per_call']:.1f} | {run['memory']['end']['peak_mib']:.0f} | "
                f"{mine['ms_per_text'] / t['ms_per_text']:.2f} |"
            )

    rows("sosrisk flex", native)
    ratios = {}
    for run in report.get("speed", {}).get("runs", []):
        rows(run["peer"], run)
        for t in run["throughput"]:
            mine = next(x for x in native["throughput"] if x["batch"] == t["batch"])
            ratios[f"sosrisk/{run['peer']} batch {t['batch']}"] = mine["ms_per_text"] / t["ms_per_text"]
    train, mine = report.get("train"), native.get("train_epoch")
    if mine:
        # sosrisk times the epoch in a process of its own: {"epoch": {...}, "memory": {...}}.
        training_peak = mine["memory"]["peak_mib"]
        mine = mine["epoch"]
    if train and mine:
        lines += [
            "",
            "| training epoch | rows | steps | seconds | mean loss | peak MiB (process) |",
            "|---|---|---|---|---|---|",
            f"| sosrisk flex | {mine['rows']} | {mine['steps']} | {mine['seconds']:.1f} | {mine['mean_loss']:.4f} | "
            f"{training_peak:.0f} |",
            f"| torch | {train['rows']} | {train['steps']} | {train['seconds']:.1f} | {train['mean_loss']:.4f} | "
            f"{train['memory']['peak_mib']:.0f} |",
        ]
        ratios["sosrisk/torch training epoch"] = mine["seconds"] / train["seconds"]
    sizes = report.get("speed", {}).get("sizes")
    if sizes:
        lines += ["", "| file | MiB | gzip -9 MiB |", "|---|---|---|"]
        lines += [f"| {k} | {v['bytes'] / 2**20:.1f} | {v['gzip9_bytes'] / 2**20:.1f} |" for k, v in sizes.items()]
    lines += ["", "| ratio | value |", "|---|---|"] + [f"| {k} | {v:.2f} |" for k, v in ratios.items()]
    update_report(args, "ratios", ratios)
    table = "\n".join(lines)
    (d / "peers.md").write_text(table + "\n")
    print(table)


def cmd_all(args) -> None:
    for step in (cmd_export, cmd_parity, cmd_sosrisk, cmd_speed, cmd_train, cmd_report):
        step(args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "command",
        nargs="+",
        choices=["export", "parity", "sosrisk", "speed", "train", "report", "all", "_worker"],
        help="one or more steps, run in the order given",
    )
    ap.add_argument("--model", default="models/e5")
    ap.add_argument("--data", default="../shared/data/sos1k/sos1k.csv")
    ap.add_argument("--out", default=str(HERE / "out"), help="where JSON results go")
    ap.add_argument(
        "--artifacts", help="where exported models are (default: --out); lets several --out share one export"
    )
    ap.add_argument("--bin", default=DEFAULT_BIN, help="the sosrisk binary ($SOSRISK_BIN)")
    ap.add_argument("--threads", type=int, default=threads_default(), help="threads per peer (default: all)")
    ap.add_argument("--texts", type=int, default=250, help="test texts timed (the first ones, as sosrisk)")
    ap.add_argument("--batch", type=int, action="append", help="texts per call (default: 1 and 32)")
    ap.add_argument("--train-rows", type=int, default=64)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument(
        "--grouping",
        choices=["sosrisk", "none"],
        default="sosrisk",
        help="split each call into length groups as sosrisk's predict does (default), or pad the whole call",
    )
    ap.add_argument("--peer", choices=["ort-fp32", "ort-int8", "torch", "torch-train"])
    args = ap.parse_args()
    args.batch = args.batch or [1, 32]
    # Output paths as given from where the command ran; --model and --data (like their
    # defaults) are relative to the repository root, where sosrisk runs.
    args.out = str(Path(args.out).resolve())
    args.artifacts = args.artifacts and str(Path(args.artifacts).resolve())
    os.chdir(ROOT)
    steps = {
        "export": cmd_export,
        "parity": cmd_parity,
        "sosrisk": cmd_sosrisk,
        "speed": cmd_speed,
        "train": cmd_train,
        "report": cmd_report,
        "all": cmd_all,
        "_worker": cmd_worker,
    }
    for command in args.command:
        steps[command](args)


if __name__ == "__main__":
    main()
