// Browser side of the peer benchmark: onnxruntime-web (wasm and WebGPU execution providers)
// against the sosrisk page (dist/, its CPU fallback and WebGPU), on the same e5 model and the
// same texts (the dataset's test split in file order, first N), in headless Chromium.
//
//   cd bench/web && npm ci && node run.mjs      → bench/out/web.json and a markdown table
//
// Options: --n-cpu N (texts on wasm/CPU, default 64), --n-gpu N (texts on WebGPU, default 8),
// --single K (texts typed one by one into the sosrisk page, default 3), --cap S (seconds one
// WebGPU runtime may take before it is stopped and reported unfinished, default 150),
// --only ort|page, --skip-gpu, --gpu-only, --dist DIR (the page build to time, default dist/),
// --out FILE (default bench/out/web.json).
//
// How each side is timed (all in the browser with performance.now()):
// - ort-web (ort.html + ort.js): session.run on pre-tokenized ids (prepare.py tokenizes with
//   sosrisk's rules), tensors built and outputs read back included, tokenization not. Batch 1
//   and 32 with sosrisk's `time_batches` protocol (untimed warm-up call, then every chunk).
//   One wasm thread: the sosrisk page is served without COOP/COEP headers (no
//   SharedArrayBuffer), so ort-web would get one thread there too, and sosrisk's worker is
//   single-threaded. Load = fetch the .onnx + InferenceSession.create + one warm-up run.
// - sosrisk page (dist/): an init script wraps `Worker` to see the worker's replies (its own
//   `ms` per call and the outcomes). "batch 1" posts Classify requests of one text straight to
//   the page's worker (the app ignores replies it did not ask for), "batch 32" is the page's
//   batch mode (a CSV given to #batch-file, 32 texts per worker request, no attribution),
//   timed from the file input's change event to #batch data-done == data-total, after an
//   untimed warm-up request of the first 32 texts. "single" is the UI: Ctrl+Enter in #post
//   until #result appears (level and P(high) shown, before the attribution passes, which are
//   awaited untimed). The page's times include its tokenization (well under 1 ms/text:
//   `tokenize_ms_per_text`, Rust tokenizers natively) and the postMessage round trip.
//   Load = the worker's own load_ms (fetch config/tokenizer/weights, build, one warm-up run)
//   and the wall time from navigation to #model-status[data-state=ready].
// - Sizes: every file each page fetched (logged by the server here), raw and gzip -9.
// Machine note: 2 shared CPU cores, WebGPU is SwiftShader (a software renderer on those cores):
// WebGPU numbers say nothing about a real GPU.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const out = join(root, "bench", "out");
// --dist DIR: time another build of the page (default dist/).
const distArg = process.argv.indexOf("--dist");
const dist = distArg > 0 ? resolve(process.argv[distArg + 1]) : join(root, "dist");
// bench/run.sh exports BENCH_PYTHON (bench/setup.sh's venv); run alone, the default venv there.
const PYTHON = process.env.BENCH_PYTHON || join(root, "bench", ".venv", "bin", "python");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// As tests/web/helpers.mjs; WebGPU (SwiftShader) also needs --enable-unsafe-webgpu, without it
// requestAdapter() gives null and the sosrisk page uses its CPU fallback.
const FLAGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--use-angle=gl-egl", "--ignore-gpu-blocklist"];

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i < 0 ? dflt : args[i + 1]; };
const N_CPU = Number(opt("--n-cpu", 64));
const N_GPU = Number(opt("--n-gpu", 8));
const SINGLE = Number(opt("--single", 3));
const CAP_MS = Number(opt("--cap", 150)) * 1000; // WebGPU runs only
const CPU_CAP_MS = 600_000; // a safety net for the wasm/CPU runs, which finish well within it
const ONLY = opt("--only", null);
const SKIP_GPU = args.includes("--skip-gpu");

// ------------------------------------------------------------------------------ inputs
const prep = spawnSync(PYTHON, [join(here, "prepare.py"), String(Math.max(N_CPU, N_GPU))], { encoding: "utf8" });
if (prep.status !== 0) throw new Error(`prepare.py failed: ${prep.stderr}`);
process.stdout.write(prep.stdout);
const inputs = JSON.parse(readFileSync(join(out, "web-inputs.json"), "utf8"));
// ort.html gets ids only; the sosrisk page gets the texts as a CSV in memory (never written).
const idsOnly = Buffer.from(JSON.stringify({ pad_id: inputs.pad_id, texts: inputs.texts.map((t) => ({ ids: t.ids })), parity: inputs.parity.map((p) => ({ ids: p.ids })) }));
const csvOf = (texts) => Buffer.from("id,text\n" + texts.map((t) => `${t.id},"${t.text.replaceAll('"', '""')}"`).join("\n") + "\n");

// ------------------------------------------------------------------------------ server
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json" };

function siteHeaders() { // the `/*` block of dist/_headers (CSP and co.), as tests/web/server.mjs
  const headers = {};
  let inAll = false;
  for (const line of (existsSync(join(dist, "_headers")) ? readFileSync(join(dist, "_headers"), "utf8") : "").split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    if (!line.startsWith(" ")) { inAll = line.trim() === "/*"; continue; }
    if (inAll) { const at = line.indexOf(":"); headers[line.slice(0, at).trim()] = line.slice(at + 1).trim(); }
  }
  return headers;
}

/** Routes: URL prefix → directory (or a Buffer for one exact path). Logs each file served. */
async function serve(routes, headers = {}) {
  const log = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    for (const [prefix, target] of routes) {
      if (Buffer.isBuffer(target) ? path !== prefix : !path.startsWith(prefix)) continue;
      let body, file;
      try {
        if (Buffer.isBuffer(target)) body = target;
        else {
          let rel = normalize(path.slice(prefix.length) || "index.html");
          if (rel.startsWith("..")) break;
          if (rel.endsWith("/")) rel += "index.html";
          file = join(target, rel);
          body = readFileSync(file);
        }
      } catch { break; }
      log.push({ path, file, bytes: body.length });
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file ?? path)] || "application/octet-stream", "Content-Length": body.length, "Cache-Control": "no-cache" });
      res.end(body);
      return;
    }
    res.writeHead(404).end("not found");
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { base: `http://127.0.0.1:${server.address().port}`, log, close: () => new Promise((ok) => server.close(ok)) };
}

const gzipCache = new Map();
function sizes(log) { // each distinct file fetched, raw and gzip -9 bytes
  const files = new Map();
  for (const e of log) if (e.file) files.set(e.path.replace(/\?.*$/, ""), e);
  const rows = [...files].map(([path, { file, bytes }]) => {
    if (!gzipCache.has(file)) gzipCache.set(file, gzipSync(readFileSync(file), { level: 9 }).length);
    return { path, raw: bytes, gzip: gzipCache.get(file) };
  });
  return { files: rows, raw: rows.reduce((a, r) => a + r.raw, 0), gzip: rows.reduce((a, r) => a + r.gzip, 0) };
}

const timeout = (ms, what) => new Promise((_, no) => setTimeout(() => no(new Error(`timeout: ${what} after ${ms / 1000} s`)), ms).unref());
async function launch(gpu) {
  return chromium.launch({ executablePath: CHROMIUM, args: gpu ? [...FLAGS, "--enable-unsafe-webgpu"] : FLAGS });
}

// ------------------------------------------------------------------------------ ort-web
async function ortRun({ ep, model, n }) {
  const cap = ep === "webgpu" ? CAP_MS : CPU_CAP_MS;
  const server = await serve([
    ["/inputs.json", idsOnly],
    ["/ort/", join(here, "node_modules", "onnxruntime-web", "dist")],
    ["/models/", out],
    ["/", here],
  ]);
  const browser = await launch(ep === "webgpu");
  const label = `ort-web ${ep} ${model}`;
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error" && !/404/.test(m.text())) errors.push(m.text().slice(0, 300)); }); // 404: favicon.ico
    await page.goto(`${server.base}/ort.html`);
    await page.waitForFunction(() => typeof window.ortBench === "function");
    const t0 = Date.now();
    let result;
    try {
      result = await Promise.race([
        page.evaluate((o) => window.ortBench(o), { ep, model, n, batches: [1, 32], threads: 1, capMs: cap }),
        timeout(cap + 60_000, label),
      ]);
    } catch (e) {
      const partial = await Promise.race([page.evaluate(() => window.__ortResult), timeout(10_000, "partial")]).catch(() => null);
      result = { ep, model, ...partial, throughput: partial?.throughput ?? [], error: `did not finish in ${((Date.now() - t0) / 1000).toFixed(0)} s (${String(e.message || e).slice(0, 200)}); last stage: ${partial?.stages?.at(-1)?.name ?? "?"}` };
    }
    console.log(`${label}: ${result.error ? result.error : result.throughput.map((t) => `b${t.batch} ${t.ms_per_text?.toFixed(1)} ms/text${t.finished ? "" : " (unfinished)"}`).join(", ")}`);
    return { runtime: "ort-web", backend: ep, ...result, errors, downloads: sizes(server.log) };
  } finally {
    await browser.close();
    await server.close();
  }
}

// ------------------------------------------------------------------------------ sosrisk page
// Installed before the page's own scripts: sees the worker's replies and the UI's timing marks.
function pageProbe() {
  const W = window.Worker;
  window.__replies = [];
  window.__marks = {};
  window.Worker = class extends W {
    constructor(...a) {
      super(...a);
      window.__worker = this;
      this.addEventListener("message", (e) => {
        const d = e.data;
        if (!d || (d.type !== "Results" && d.type !== "Ready")) return;
        const r = { type: d.type, t: performance.now() };
        if (d.type === "Ready") Object.assign(r, { load_ms: d.load_ms ?? d[0]?.load_ms, backend: d.backend });
        else Object.assign(r, { id: d.id, ms: d.ms, outcomes: d.outcomes.map((o) => (o.Ok ? { level: o.Ok.level, p: o.Ok.high_risk_prob } : { error: String(o.Err) })) });
        window.__replies.push(r);
      });
    }
  };
  document.addEventListener("change", (e) => { if (e.target.id === "batch-file") window.__marks.batchStart = performance.now(); }, true);
  document.addEventListener("keydown", (e) => { if (e.target.id === "post" && e.key === "Enter" && e.ctrlKey) { window.__marks.submit = performance.now(); window.__marks.shown = null; } }, true);
  new MutationObserver(() => {
    if (window.__marks.submit && !window.__marks.shown && document.getElementById("result")) window.__marks.shown = performance.now();
    const b = document.getElementById("batch");
    if (b && window.__marks.batchStart && !window.__marks.batchEnd && b.dataset.total !== "0" && b.dataset.done === b.dataset.total) window.__marks.batchEnd = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true });
}

/** Posts Classify requests straight to the page's worker, `batch` texts each: time_batches. */
async function direct(page, texts, batch, capMs) {
  return page.evaluate(async ({ texts, batch, capMs }) => {
    let next = 1_000_000;
    const call = (chunk) => new Promise((ok) => {
      const id = next++;
      const t = performance.now();
      const listener = (e) => {
        if (e.data?.type === "Results" && e.data.id === id) {
          window.__worker.removeEventListener("message", listener);
          const r = window.__replies.find((x) => x.id === id);
          ok({ wall: performance.now() - t, ms: e.data.ms, outcomes: r.outcomes });
        }
      };
      window.__worker.addEventListener("message", listener);
      window.__worker.postMessage({ type: "Classify", id, texts: chunk, explain: false });
    });
    await call(texts.slice(0, batch));
    if (capMs < 0) return null; // the warm-up call only
    const started = performance.now();
    const calls = [];
    const outcomes = [];
    // Updated after every call, so a run stopped midway still says how far it got.
    const entry = window.__direct = { batch, texts: 0, of: texts.length, finished: false };
    for (let k = 0; k < texts.length; k += batch) {
      const r = await call(texts.slice(k, k + batch));
      calls.push(r);
      outcomes.push(...r.outcomes);
      const done = Math.min(k + batch, texts.length);
      const ms = performance.now() - started;
      const walls = calls.map((c) => c.wall).sort((a, b) => a - b);
      Object.assign(entry, {
        texts: done, finished: done === texts.length, seconds: ms / 1000, ms_per_text: ms / done,
        texts_per_second: (done * 1000) / ms, median_ms_per_call: walls[walls.length >> 1], calls_ms: calls.map((c) => c.wall),
        worker_ms_per_text: calls.reduce((a, c) => a + c.ms, 0) / done,
        p_high: outcomes.map((o) => o.p), level: outcomes.map((o) => o.level),
      });
      if (performance.now() - started > capMs && done < texts.length) break;
    }
    return entry;
  }, { texts, batch, capMs });
}

async function pageRun({ gpu, n }) {
  const backend = gpu ? "WebGPU" : "CPU";
  const server = await serve([["/sosrisk/", dist]], siteHeaders());
  const browser = await launch(gpu);
  const texts = inputs.texts.slice(0, n);
  const res = { runtime: "sosrisk page", backend_asked: backend, model: "e5 (weights.q8)", n, throughput: [], errors: [] };
  const cap = gpu ? CAP_MS : CPU_CAP_MS;
  const deadline = Date.now() + cap;
  const left = () => Math.max(deadline - Date.now(), 1000);
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => res.errors.push(String(e).slice(0, 300)));
    await page.addInitScript(pageProbe);
    const t0 = Date.now();
    // Since the page chooses its backend itself (the CPU on a software adapter such as
    // SwiftShader), the WebGPU run asks for WebGPU, as a user can with ?backend=webgpu.
    await page.goto(`${server.base}/sosrisk/?model=e5&backend=${gpu ? "webgpu" : "cpu"}`);
    const status = await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout: left() })
      .catch(() => null);
    if (!status) throw new Error(`did not finish loading in ${cap / 1000} s`);
    if ((await status.getAttribute("data-state")) !== "ready") throw new Error(`load failed: ${(await status.textContent()).slice(0, 300)}`);
    res.backend = await status.getAttribute("data-backend");
    const ready = await page.evaluate(() => window.__replies.find((r) => r.type === "Ready"));
    res.load = { page_ready_ms: Date.now() - t0, worker_load_ms: ready?.load_ms ?? null };
    console.log(`sosrisk page ${res.backend}: ready in ${(res.load.page_ready_ms / 1000).toFixed(1)} s`);
    await page.waitForLoadState("networkidle").catch(() => {});
    res.downloads = sizes(server.log);

    // batch 1, straight to the worker.
    const b1 = await Promise.race([direct(page, texts.map((t) => t.text), 1, Math.min(left(), cap / 3)), timeout(left(), "batch 1")]);
    res.throughput.push({ mode: "worker request, 1 text", ...b1 });
    console.log(`sosrisk page ${res.backend}: b1 ${b1.ms_per_text.toFixed(1)} ms/text (${b1.texts}/${b1.of})`);

    // batch 32: the page's batch mode.
    await Promise.race([direct(page, texts.slice(0, 32).map((t) => t.text), 32, -1), timeout(left(), "batch 32 warm-up")]);
    const before = await page.evaluate(() => window.__replies.length);
    await page.setInputFiles("#batch-file", { name: "bench.csv", mimeType: "text/csv", buffer: csvOf(texts) });
    const finished = await page.waitForFunction((n) => window.__marks.batchEnd && document.querySelector("#batch")?.dataset.total === String(n), n, { timeout: left(), polling: 100 })
      .then(() => true, () => false);
    const b32 = await page.evaluate((before) => {
      const replies = window.__replies.slice(before).filter((r) => r.type === "Results" && r.id < 1_000_000);
      const outcomes = replies.flatMap((r) => r.outcomes);
      const end = window.__marks.batchEnd ?? performance.now();
      const ms = end - window.__marks.batchStart;
      const b = document.querySelector("#batch");
      const done = Number(b?.dataset.done ?? 0);
      return { batch: 32, texts: done, of: Number(b?.dataset.total ?? 0), seconds: ms / 1000, ms_per_text: ms / done, texts_per_second: (done * 1000) / ms,
        worker_ms_per_text: replies.reduce((a, r) => a + r.ms, 0) / outcomes.length, median_ms_per_call: replies.map((r) => r.ms).sort((a, b) => a - b)[replies.length >> 1],
        p_high: outcomes.map((o) => o.p), level: outcomes.map((o) => o.level) };
    }, before);
    res.throughput.push({ mode: "batch mode (CSV), 32 per request", finished, ...b32 });
    console.log(`sosrisk page ${res.backend}: batch mode ${b32.ms_per_text.toFixed(1)} ms/text (${b32.texts}/${b32.of})`);
    if (!finished) throw new Error(`batch mode did not finish in the cap of ${cap / 1000} s`);

    // Single text typed in, until the level and P(high) are shown.
    const single = [];
    for (const t of texts.slice(0, SINGLE)) {
      if (left() < 5000) break;
      await page.click("text=/^(清除|Clear)$/");
      await page.fill("#post", t.text);
      await page.press("#post", "Control+Enter");
      await page.waitForSelector("#result", { timeout: left() });
      const m = await page.evaluate(() => ({ shown: window.__marks.shown - window.__marks.submit, worker: Number(document.getElementById("result").dataset.ms) }));
      single.push(m);
      // The attribution passes run next in the same worker: wait for them, untimed.
      await page.waitForSelector('#result[data-explained="true"]', { timeout: left() });
    }
    res.single = { texts: single.length, ms_to_result: single.map((s) => s.shown), worker_ms: single.map((s) => s.worker),
      median_ms_to_result: single.map((s) => s.shown).sort((a, b) => a - b)[single.length >> 1] };
    console.log(`sosrisk page ${res.backend}: single ${JSON.stringify(res.single.ms_to_result.map((x) => Math.round(x)))} ms`);
  } catch (e) {
    res.error = `${/^timeout/.test(e.message) ? `stopped at the cap of ${cap / 1000} s: ` : ""}${String(e.message || e).slice(0, 500)}`;
    const page = browser.contexts()[0]?.pages()[0];
    if (page && !res.throughput.length) {
      const partial = await Promise.race([page.evaluate(() => window.__direct), timeout(5000, "partial")]).catch(() => null);
      if (partial) res.throughput.push({ mode: "worker request, 1 text", ...partial });
    }
    // How far it got: the status line, and which files had arrived.
    res.status_text = await Promise.race([page?.textContent("#model-status"), timeout(5000, "status")]).catch(() => null);
    console.log(`sosrisk page ${backend}: ${res.error}`);
    res.downloads ??= sizes(server.log);
  } finally {
    await browser.close();
    await server.close();
  }
  return res;
}

// ------------------------------------------------------------------------------ main
const started = new Date();
const report = {
  date: started.toISOString(), chromium: spawnSync(CHROMIUM, ["--version"], { encoding: "utf8" }).stdout.trim(),
  onnxruntime_web: JSON.parse(readFileSync(join(here, "node_modules", "onnxruntime-web", "package.json"), "utf8")).version,
  cpus: 2, loadavg_start: loadavg(), n_cpu: N_CPU, n_gpu: N_GPU, cap_s: CAP_MS / 1000,
  tokenize_ms_per_text: inputs.tokenize_ms_per_text, runs: [],
};
const plan = [];
if (ONLY !== "page") {
  if (!args.includes("--gpu-only")) plan.push(() => ortRun({ ep: "wasm", model: "e5.onnx", n: N_CPU }), () => ortRun({ ep: "wasm", model: "e5-int8.onnx", n: N_CPU }));
  if (!SKIP_GPU) plan.push(() => ortRun({ ep: "webgpu", model: "e5.onnx", n: N_GPU }));
}
if (ONLY !== "ort") {
  if (!args.includes("--gpu-only")) plan.push(() => pageRun({ gpu: false, n: N_CPU }));
  if (!SKIP_GPU) plan.push(() => pageRun({ gpu: true, n: N_GPU }));
}
for (const step of plan) report.runs.push(await step());
report.loadavg_end = loadavg();

// Parity: ort-web (batch 1 and one padded batch) against `sosrisk predict` on synthetic texts.
report.parity = report.runs.filter((r) => r.parity?.length && r.parity_batched).map((r) => {
  let maxDiff = 0, levelsEqual = true;
  for (const got of [r.parity, r.parity_batched]) got.forEach((g, i) => {
    const want = inputs.parity[i].sosrisk;
    maxDiff = Math.max(maxDiff, Math.abs(g.high_risk_prob - want.high_risk_prob), ...g.level_probs.map((p, j) => Math.abs(p - want.level_probs[j])));
    levelsEqual &&= g.level_probs.indexOf(Math.max(...g.level_probs)) === want.level;
  });
  return { runtime: `ort-web ${r.backend} ${r.model}`, texts: inputs.parity.length, max_abs_diff_vs_sosrisk_cli: maxDiff, levels_equal: levelsEqual, within_1e3: maxDiff <= 1e-3 };
});
// And on the dataset texts: every ort-web run against the sosrisk page's batch mode (numbers only).
const pageB32 = report.runs.filter((r) => r.runtime === "sosrisk page" && r.throughput.length > 1);
report.parity_dataset = [];
for (const o of report.runs.filter((r) => r.runtime === "ort-web" && r.throughput)) for (const p of pageB32) {
  const a = o.throughput.find((t) => t.batch === 32 && t.p_high), b = p.throughput[1];
  const k = Math.min(a?.p_high.length ?? 0, b.p_high.length);
  if (!k) continue;
  let maxDiff = 0, sameLevel = 0;
  for (let i = 0; i < k; i++) { maxDiff = Math.max(maxDiff, Math.abs(a.p_high[i] - b.p_high[i])); sameLevel += a.level[i] === b.level[i]; }
  report.parity_dataset.push({ a: `ort-web ${o.backend} ${o.model}`, b: `sosrisk page ${p.backend}`, texts: k, max_abs_diff_p_high: maxDiff, same_level: sameLevel });
}
// Drop the per-text numbers from the JSON (kept only for the parity above).
for (const r of report.runs) for (const t of r.throughput ?? []) { delete t.p_high; delete t.level; }
for (const r of report.runs) { delete r.parity; delete r.parity_batched; }

// Ratios sosrisk page / ort-web (ms per text; ≤ 1 means the page is as fast or faster).
const ms = (r, batch) => r?.throughput?.find((t) => t.batch === batch && t.finished !== false)?.ms_per_text;
const find = (rt, be, model) => report.runs.find((r) => r.runtime === rt && r.backend === be && (!model || r.model === model));
report.ratios = [];
for (const [page, ort, model] of [["CPU", "wasm", "e5.onnx"], ["CPU", "wasm", "e5-int8.onnx"], ["WebGPU", "webgpu", "e5.onnx"]]) for (const b of [1, 32]) {
  const p = find("sosrisk page", page), o = find("ort-web", ort, model);
  const pb = p?.throughput?.find((t) => t.batch === b && t.texts), ob = o?.throughput?.find((t) => t.batch === b && t.texts);
  const row = { sosrisk: `page ${page}`, vs: `ort-web ${ort} ${model}`, batch: b, ratio: null };
  if (pb && ob && pb.finished !== false && ob.finished !== false) row.ratio = pb.ms_per_text / ob.ms_per_text;
  else if (pb?.calls_ms && ob?.calls_ms && b === 1) {
    // A run stopped at the cap: compare the texts both got through (the same first k texts).
    const k = Math.min(pb.calls_ms.length, ob.calls_ms.length);
    const sum = (a) => a.slice(0, k).reduce((x, y) => x + y, 0);
    Object.assign(row, { ratio: sum(pb.calls_ms) / sum(ob.calls_ms), partial: `first ${k} texts only (both stopped at the cap)` });
  }
  report.ratios.push(row);
}
const outFile = resolve(opt("--out", join(out, "web.json")));
report.dist = dist;
writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");

// ------------------------------------------------------------------------------ table
const f = (x, d = 1) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(d));
const mib = (b) => (b / 1048576).toFixed(1);
const lines = ["| runtime | backend | model | batch | texts | ms/text | texts/s | median ms/call | load s | downloads MiB (gzip) | note |", "|---|---|---|---|---|---|---|---|---|---|---|"];
for (const r of report.runs) {
  const model = r.runtime === "ort-web" ? r.model : "e5 q8";
  const load = r.load ? (r.runtime === "ort-web" ? r.load.load_ms : r.load.worker_load_ms) / 1000 : null;
  const dl = r.downloads ? `${mib(r.downloads.raw)} (${mib(r.downloads.gzip)})` : "–";
  const be = r.backend ?? r.backend_asked;
  if (!r.throughput?.length) lines.push(`| ${r.runtime} | ${be} | ${model} | – | – | – | – | – | ${f(load, 2)} | ${dl} | ${r.error ?? ""} |`);
  for (const t of r.throughput ?? []) {
    const note = [t.finished === false ? `unfinished: ${t.texts}/${t.of} in cap` : "", t.worker_ms_per_text ? `worker ${f(t.worker_ms_per_text)} ms/text` : "", t.mode ?? ""].filter(Boolean).join("; ");
    lines.push(`| ${r.runtime} | ${be} | ${model} | ${t.batch} | ${t.texts} | ${f(t.ms_per_text)} | ${f(t.texts_per_second, 2)} | ${f(t.median_ms_per_call)} | ${f(load, 2)} | ${dl} | ${note}${r.error ? " " + r.error : ""} |`);
  }
  if (r.single) lines.push(`| ${r.runtime} | ${be} | ${model} | single (UI) | ${r.single.texts} | ${f(r.single.median_ms_to_result)} | – | – | ${f(load, 2)} | ${dl} | median ms from Ctrl+Enter to result shown |`);
}
lines.push("", "| sosrisk page / ort-web | batch | ratio |", "|---|---|---|");
for (const r of report.ratios) lines.push(`| ${r.sosrisk} / ${r.vs} | ${r.batch} | ${f(r.ratio, 2)}${r.partial ? ` (${r.partial})` : ""} |`);
lines.push("", "| parity | texts | max abs diff | levels equal |", "|---|---|---|---|");
for (const p of report.parity) lines.push(`| ${p.runtime} vs sosrisk CLI (synthetic) | ${p.texts} | ${p.max_abs_diff_vs_sosrisk_cli.toExponential(2)} | ${p.levels_equal} |`);
for (const p of report.parity_dataset) lines.push(`| ${p.a} vs ${p.b} (dataset, P(high)) | ${p.texts} | ${p.max_abs_diff_p_high.toExponential(2)} | ${p.same_level}/${p.texts} |`);
console.log("\n" + lines.join("\n"));
console.log(`\nwrote ${outFile} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
