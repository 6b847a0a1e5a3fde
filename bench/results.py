"""Writes bench/RESULTS.md and its SVG charts from the JSON the benchmark steps left in bench/out/.

Inputs (each optional; a missing one leaves its section saying how to make it):
  sosrisk-native.json  `sosrisk bench` on both models and both backends
  peers.json           bench/peers.py: parity, ONNX export, onnxruntime and PyTorch timings, training
  sosrisk.json         bench/peers.py's own `sosrisk bench` run (the one its ratios use)
  web.json             bench/web/run.mjs: onnxruntime-web against the sosrisk page
  accuracy.json        `sosrisk eval --json` per shipped model and the TF-IDF baseline
Numbers only: no dataset text is read here.
"""
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PAPER = {"binary_f1": 0.8839, "level_weighted_f1": 0.5089}


def load(name):
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else None


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(
        (int(l.split()[1]) / 2**20 for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")),
        0,
    )
    flags = Path("/proc/cpuinfo").read_text()
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs ({simd}), {mem:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, no GPU (wgpu runs on lavapipe, WebGPU on SwiftShader)"
    )


def git_head() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=BENCH.parent)
    return r.stdout.strip() or "unknown"


def bar_chart(title: str, unit: str, groups: list[tuple[str, list[tuple[str, float]]]], path: Path) -> None:
    """Horizontal bars, one block per group: plain SVG, no plotting library."""
    rows = sum(len(bars) + 1 for _, bars in groups)
    width, label_w, bar_h = 760, 260, 18
    height = 40 + rows * (bar_h + 4)
    top = max((v for _, bars in groups for _, v in bars if v == v), default=1.0) or 1.0
    scale = (width - label_w - 80) / top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{title} ({unit})</text>',
    ]
    y = 36
    palette = ["#3465a4", "#cc0000", "#73d216", "#f57900", "#75507b", "#c4a000", "#555753"]
    for name, bars in groups:
        out.append(f'<text x="10" y="{y + 13}" font-weight="bold">{name}</text>')
        y += bar_h + 4
        for i, (label, value) in enumerate(bars):
            w = 0 if value != value else value * scale
            out.append(f'<text x="20" y="{y + 13}">{label}</text>')
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{palette[i % len(palette)]}"/>'
            )
            out.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 13}">{value:.3g}</text>')
            y += bar_h + 4
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def f(x, digits=2):
    return "–" if x is None or x != x else f"{x:.{digits}f}"


def native_section(md: list[str]) -> None:
    native = load("sosrisk-native.json")
    md += ["## sosrisk natively: both models, both backends", ""]
    if not native:
        md += ["Not measured: run `bench/run.sh` (or `sosrisk bench --json bench/out/sosrisk-native.json`).", ""]
        return
    rows = []
    for r in native["runs"]:
        floors = {m["batch"]: m["ms_per_text"] for m in r.get("matmul_floor", [])}
        for t in r["throughput"]:
            rows.append(
                [r["architecture"], r["backend"], f(r["load"]["median_seconds"]), t["batch"], r.get("texts", "–"),
                 f(t["ms_per_text"]),
                 f(floors.get(t["batch"])), f(t["texts_per_second"], 1), f(r["memory"]["end"]["peak_mib"], 0)]
            )
    md += table(["model", "backend", "load (s)", "batch", "texts", "ms/text", "matmuls alone (ms/text)", "texts/s",
                 "peak memory (MiB)"], rows)
    md += ["", "`sosrisk bench` runs each model and backend in a process of its own (so peak memory is its own),",
           "times one warm-up call apart, and reads the dataset's test texts in file order (the first 32 for e5",
           "on wgpu: on lavapipe, a CPU Vulkan driver, each takes seconds). \"Matmuls alone\"",
           "times only the encoder's dense matrix products (per layer: four attention projections, two",
           "feed-forward) at the texts' mean length, unpadded, each product timed with a small sum read back",
           "after it: no fusion of the other work brings sosrisk below it on that backend. Where the whole",
           "forward pass is within a few ms of it (batch 1 on flex), what is left is the matmuls themselves.", ""]
    first = [[r["architecture"], r["backend"], c["shape"], f(c["first_ms"], 0), f(c["warm_ms"], 0)]
             for r in native["runs"] for c in r.get("first_calls") or []]
    if first:
        md += ["### First call against warm, per shape class", ""]
        md += table(["model", "backend", "shape", "first call (ms)", "warm (ms, median of 3)"], first)
        md += ["", "On a freshly loaded classifier, the page's shape classes in order: on wgpu the first call",
               "of each compiles its kernels (a user's wait when no warm-up ran before).", ""]
    kernels = [[r["architecture"], r["backend"], k["warm_up"], len(k["token_lengths"]),
                ", ".join(str(b) for b in k["batch_sizes"]), k["sweep"], k["new_after_warm_up"]]
               for r in native["runs"] if (k := r.get("kernels"))]
    if kernels:
        md += ["### wgpu kernels: the page's warm-up, then every token length", ""]
        md += table(["model", "backend", "kernels at warm-up", "token lengths", "batch sizes",
                     "kernels the sweep launched", "of which new"], kernels)
        md += ["", "After the warm-up (`web::backend::warm_up_runs`) a new kernel would be a shader compiled",
               "while a user waits; inputs padded to a few shapes keep it at 0 (`tests/kernels.rs`).", ""]
    groups = []
    for r in native["runs"]:
        groups.append((f"{r['architecture']} · {r['backend']}",
                       [(f"batch {t['batch']}", t["ms_per_text"]) for t in r["throughput"]]))
    bar_chart("sosrisk natively", "ms per text, lower is better", groups, BENCH / "native.svg")
    md += ["![sosrisk natively](native.svg)", ""]


def peers_section(md: list[str]) -> None:
    peers, mine = load("peers.json"), load("sosrisk.json")
    md += ["## Native CPU: sosrisk against onnxruntime and PyTorch (same model, same texts)", ""]
    if not peers or not mine or "speed" not in peers:
        md += ["Not measured: run `bench/run.sh` (it runs `bench/peers.py all`).", ""]
        return
    native = mine["runs"][0]
    runs = [("sosrisk (burn flex)", native)] + [(r["peer"], r) for r in peers["speed"]["runs"]]
    rows, groups = [], {}
    for name, run in runs:
        for t in run["throughput"]:
            ours = next(x for x in native["throughput"] if x["batch"] == t["batch"])
            rows.append([name, f(run["load"]["median_seconds"]), t["batch"], f(t["ms_per_text"]),
                         f(run["memory"]["end"]["peak_mib"], 0), f(ours["ms_per_text"] / t["ms_per_text"])])
            groups.setdefault(f"batch {t['batch']}", []).append((name, t["ms_per_text"]))
    md += table(["runtime", "load (s)", "batch", "ms/text", "peak memory (MiB)", "sosrisk ÷ this"], rows)
    threads = mine.get("threads")
    la = mine.get("loadavg", {})
    md += ["", f"Threads per runtime: {threads}. Load average while sosrisk ran: {la.get('start')} → {la.get('end')}.",
           "Every runtime tokenises inside the timing and pads each call the same way (sosrisk's length groups).", ""]
    bar_chart("Native CPU inference, e5", "ms per text, lower is better", list(groups.items()), BENCH / "peers.svg")
    md += ["![native peers](peers.svg)", ""]
    train, ours = peers.get("train"), native.get("train_epoch")
    if train and ours:
        epoch = ours.get("epoch", ours)
        md += ["### One training epoch (same rows, same batches, same loss, AdamW)", ""]
        md += table(["framework", "rows", "steps", "seconds", "mean loss", "peak memory (MiB)"], [
            ["sosrisk (burn flex, autodiff)", epoch["rows"], epoch["steps"], f(epoch["seconds"], 1),
             f(epoch["mean_loss"], 4), f(ours.get("memory", {}).get("peak_mib"), 0)],
            ["PyTorch CPU", train["rows"], train["steps"], f(train["seconds"], 1), f(train["mean_loss"], 4),
             f(train["memory"]["peak_mib"], 0)],
        ])
        md += ["", f"sosrisk ÷ PyTorch: **{epoch['seconds'] / train['seconds']:.2f}** (target ≤ 1.5).", ""]
    p = peers.get("parity")
    if p:
        md += ["### Parity: the peers run the same model", ""]
        md += table(["check", "max abs difference in probabilities"], [
            [f"PyTorch vs `sosrisk predict`, {p['synthetic_texts']} synthetic texts ({p.get('synthetic_windowed', 0)} read in windows)",
             f"{p['torch_vs_sosrisk_max_abs_diff']:.1e}"],
            ["onnxruntime fp32 vs PyTorch, synthetic / test texts",
             f"{p['ort_fp32_vs_torch_synthetic_max_abs_diff']:.1e} / {p['ort_fp32_vs_torch_test_max_abs_diff']:.1e}"],
            ["onnxruntime dynamic int8 vs PyTorch, synthetic / test texts",
             f"{p['ort_int8_vs_torch_synthetic_max_abs_diff']:.2f} / {p['ort_int8_vs_torch_test_max_abs_diff']:.2f}"],
        ])
        md.append("")
        names = {"sosrisk_eval": "sosrisk (4/5-bit weights)", "torch": "PyTorch (same weights, f32)",
                 "onnx": "onnxruntime fp32", "int8": "onnxruntime dynamic int8", "int8pc": "onnxruntime int8 per channel"}
        md += table(["runtime", "test binary F1", "test level weighted F1"], [
            [names.get(k, k), f(100 * v["binary_f1"]), f(100 * v["level_weighted_f1"])] for k, v in p["test_scores"].items()
        ])
        md.append("")


def backend_of(run: dict) -> str:
    """A browser run's backend; one that failed before the page said it is named by the one asked."""
    return run.get("backend") or run.get("backend_asked", "?")


def web_section(md: list[str]) -> None:
    web = load("web.json")
    md += ["## In the browser: onnxruntime-web against the sosrisk page", ""]
    if not web:
        md += ["Not measured: run `bench/run.sh` (it runs `bench/web/run.mjs`).", ""]
        return
    rows, groups = [], {}
    for r in web["runs"]:
        backend = backend_of(r)
        name = f"{r['runtime']} · {backend}" + (f" · {r['model']}" if r.get("model") else "")
        if r.get("error") and not r.get("throughput"):
            rows.append([name, "–", "–", f"none: {r['error']}", "0"])
        for t in r.get("throughput", []):
            done = t.get("finished", True)
            speed = f(t["ms_per_text"]) if done else f"{f(t['ms_per_text'])} (stopped at {web.get('cap_s')} s)"
            rows.append([name, f(r.get("load", {}).get("load_ms", float("nan")) / 1000), t.get("mode", t["batch"]),
                         speed, f"{t.get('texts')} of {t.get('of', t.get('texts'))}"])
            if done and backend.lower() != "webgpu":
                groups.setdefault(f"batch {t['batch']}", []).append((name, t["ms_per_text"]))
    md += table(["runtime · backend", "load (s)", "batch / mode", "ms/text", "texts"], rows)
    md += ["", "WebGPU here is SwiftShader, a software renderer: those rows say nothing about a real GPU, and",
           "the chart leaves them out."]
    md += ["", f"Chromium: {web.get('chromium')}; onnxruntime-web {web.get('onnxruntime_web')}."]
    for r in web.get("ratios", []):
        ratio = "not measurable (a run did not finish)" if r["ratio"] is None else f"**{r['ratio']:.2f}**"
        note = f" ({r['partial']})" if r.get("partial") else ""
        md.append(f"- sosrisk {r['sosrisk']} ÷ {r['vs']}, batch {r['batch']}: {ratio}{note} (target ≤ 1.0)")
    md.append("")
    bar_chart("In the browser, e5", "ms per text, lower is better", list(groups.items()), BENCH / "web.svg")
    md += ["![browser](web.svg)", ""]


def first_visit_section(md: list[str]) -> None:
    md += ["## First visit: time to the first result", ""]
    rows = []
    for m in ("char-ngram", "e5"):
        v = load(f"first-visit-{m}.json")
        if not v:
            continue
        for key, label in (("cpu_only", "no WebGPU: CPU"), ("auto", "WebGPU adapter (software), auto: CPU at once"),
                           ("forced", "`?backend=webgpu` (SwiftShader)")):
            r = v.get(key)
            if r:
                rows.append([m, label, f(r["ready_ms"] / 1e3, 1), f(r["first_result_ms"] / 1e3, 1),
                             r.get("kernels_at_ready", "–")])
        if v.get("measured"):
            rows.append([m, "measuring the software adapter in the background",
                         "–", f(v["measured"]["measure_ms"] / 1e3, 1) + " (measurement)", "–"])
    if not rows:
        md += ["Not measured: run `bench/run.sh`.", ""]
        return
    md += table(["model", "first visit", "ready (s)", "first result (s)", "kernels at ready"], rows)
    md += ["", "Cold browser profile, headless Chromium with WebGPU on SwiftShader (a software renderer:",
           "the auto choice stays on the CPU, as it must; forced WebGPU says nothing about a real GPU).",
           "From `tests/web/backend.test.mjs`, which asserts the backends, reasons and results, not the times.", ""]


def sizes_section(md: list[str]) -> None:
    peers, web = load("peers.json"), load("web.json")
    md += ["## Sizes (what a browser downloads, and the ONNX equivalents)", ""]
    rows = []
    for name, v in ((peers or {}).get("speed", {}).get("sizes") or {}).items():
        rows.append([name, f(v["bytes"] / 1e6, 1), f(v["gzip9_bytes"] / 1e6, 1)])
    for r in (web or {}).get("runs", []):
        d = r.get("downloads", {})
        if d.get("raw"):
            big = ", ".join(x["path"].rsplit("/", 1)[-1] for x in d.get("files", []) if x.get("raw", 0) > 1e6)
            rows.append([f"page download: {r['runtime']} · {backend_of(r)} ({big})", f(d["raw"] / 1e6, 1),
                         f(d["gzip"] / 1e6, 1)])
    # The page's own code, which the wasm target is about (the first sosrisk run's download).
    wasm = [x for r in (web or {}).get("runs", []) if r["runtime"].startswith("sosrisk")
            for x in r.get("downloads", {}).get("files", []) if x["path"].endswith("worker_bg.wasm")]
    if wasm:
        rows.append(["sosrisk worker_bg.wasm (the page's model code)", f(wasm[0]["raw"] / 1e6, 2),
                     f(wasm[0]["gzip"] / 1e6, 2)])
    if not rows:
        md += ["Not measured: run `bench/run.sh`.", ""]
        return
    md += table(["file", "MB", "gzip -9 MB"], rows)
    md += ["", "Targets: worker wasm ≤ 5 MB gzip; model transfer ≤ 25 MB compressed.", ""]


def accuracy_section(md: list[str]) -> None:
    acc = load("accuracy.json")
    md += ["## Accuracy on the fixed 250-post test set", ""]
    if not acc:
        md += ["Not measured: run `bench/run.sh`.", ""]
        return
    rows = [["paper: Chinese MentalBERT + augmentation", f(100 * PAPER["binary_f1"]), f(100 * PAPER["level_weighted_f1"]), ""]]
    for name, s in acc.items():
        rows.append([name, f(100 * (s.get("binary_f1") or float("nan"))), f(100 * s["level_weighted_f1"]),
                     f(100 * s.get("level_macro_f1", float("nan")))])
    md += table(["model", "binary F1 (high)", "level weighted F1", "level macro F1"], rows)
    md.append("")
    bar_chart("Accuracy, fixed test set", "F1 × 100, higher is better",
              [("binary F1", [(r[0][:36], float(r[1])) for r in rows]),
               ("level weighted F1", [(r[0][:36], float(r[2])) for r in rows])], BENCH / "accuracy.svg")
    md += ["![accuracy](accuracy.svg)", ""]


def main() -> None:
    md = [
        "# sosrisk benchmarks",
        "",
        f"Generated by `bench/run.sh` on {datetime.date.today().isoformat()} at commit `{git_head()}`.",
        "",
        f"Machine: {machine()}.",
        "",
        "Times are wall-clock on a machine that other work may share: read the ratios taken in one run,",
        "not the absolute times. Every figure below is regenerated by `bench/run.sh`.",
        "",
    ]
    for section in (native_section, peers_section, web_section, first_visit_section, sizes_section, accuracy_section):
        section(md)
    (BENCH / "RESULTS.md").write_text("\n".join(md))
    print(f"wrote {BENCH / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
