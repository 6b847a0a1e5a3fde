// onnxruntime-web timing, in the page (run.mjs drives it through window.ortBench).
//
// What is timed, per call: building the int64 input tensors from pre-tokenized ids (padded to the
// call's longest text with <pad> = 1 and a 0 mask, like sosrisk's `bert::batch`), session.run
// and reading both outputs back to the CPU. Tokenization is not timed (ort-web has no tokenizer;
// prepare.py tokenizes with sosrisk's rules). The protocol is sosrisk's `bench::time_batches`:
// one untimed warm-up call of the first `batch` texts, then every chunk in order.
//
// Load is timed like the sosrisk worker's `load_ms`: fetching the model file, creating the
// session and one warm-up run of one text (the sosrisk worker also runs one text before it
// says it is ready). The ort runtime's own .mjs/.wasm are fetched and compiled inside
// InferenceSession.create on first use, so they count in create_ms.

const status = document.getElementById("status");
status.textContent = "ready for ortBench";

function tensors(ort, rows, pad) {
  const t = Math.max(1, ...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * t).fill(BigInt(pad));
  const mask = new BigInt64Array(rows.length * t);
  rows.forEach((r, i) => r.forEach((id, j) => { ids[i * t + j] = BigInt(id); mask[i * t + j] = 1n; }));
  return {
    input_ids: new ort.Tensor("int64", ids, [rows.length, t]),
    attention_mask: new ort.Tensor("int64", mask, [rows.length, t]),
  };
}

async function predict(ort, session, rows, pad) {
  const out = await session.run(tensors(ort, rows, pad));
  const level = await out.level_probs.getData();
  const binary = await out.binary_probs.getData();
  for (const v of Object.values(out)) v.dispose?.();
  return rows.map((_, i) => ({
    level_probs: Array.from(level.slice(i * 11, i * 11 + 11)),
    high_risk_prob: binary[i * 2 + 1],
  }));
}

window.ortBench = async ({ ep, model, batches, n, threads = 1, capMs = 120_000 }) => {
  const ort = await import(ep === "webgpu" ? "./ort/ort.webgpu.min.mjs" : "./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  const inputs = await (await fetch("inputs.json")).json();
  const pad = inputs.pad_id;
  const rows = inputs.texts.slice(0, n).map((t) => t.ids);
  // Kept on window as it fills, so that run.mjs can read how far a run got if it is stopped.
  const result = window.__ortResult = { stages: [], ep, model, threads, ort_version: ort.env.versions?.web ?? null, cross_origin_isolated: self.crossOriginIsolated };
  if (ep === "webgpu") {
    const adapter = await navigator.gpu?.requestAdapter();
    result.adapter = adapter ? { vendor: adapter.info?.vendor, architecture: adapter.info?.architecture, description: adapter.info?.description } : null;
  }

  const stage = (name) => result.stages.push({ name, at_ms: Math.round(performance.now() - t0) });
  let t0 = performance.now();
  stage("fetch model");
  const bytes = new Uint8Array(await (await fetch(`models/${model}`)).arrayBuffer());
  const fetchMs = performance.now() - t0;
  stage("InferenceSession.create");
  let t1 = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: "all" });
  const createMs = performance.now() - t1;
  stage("warm-up run (1 text)");
  t1 = performance.now();
  await predict(ort, session, [inputs.parity[0].ids], pad);
  const warmMs = performance.now() - t1;
  result.load = { fetch_ms: fetchMs, create_ms: createMs, warm_up_ms: warmMs, load_ms: performance.now() - t0, model_bytes: bytes.length };

  result.throughput = [];
  const started = performance.now();
  for (const batch of batches) {
    if (performance.now() - started > capMs) {
      result.throughput.push({ batch, texts: 0, finished: false, note: `not started: cap of ${capMs / 1000} s used` });
      continue;
    }
    stage(`batch ${batch}: warm-up call`);
    await predict(ort, session, rows.slice(0, batch), pad);
    stage(`batch ${batch}: timed calls`);
    const calls = [];
    const outputs = [];
    // Updated after every call, so a run stopped midway still says how far it got.
    const entry = { batch, texts: 0, of: rows.length, finished: false };
    result.throughput.push(entry);
    const t = performance.now();
    for (let k = 0; k < rows.length; k += batch) {
      const c = performance.now();
      outputs.push(...(await predict(ort, session, rows.slice(k, k + batch), pad)));
      calls.push(performance.now() - c);
      const done = Math.min(k + batch, rows.length);
      const ms = performance.now() - t;
      const sorted = [...calls].sort((a, b) => a - b);
      Object.assign(entry, {
        texts: done, finished: done === rows.length, seconds: ms / 1000,
        ms_per_text: ms / done, texts_per_second: (done * 1000) / ms, median_ms_per_call: sorted[sorted.length >> 1], calls_ms: calls,
        p_high: outputs.map((o) => o.high_risk_prob), level: outputs.map((o) => o.level_probs.indexOf(Math.max(...o.level_probs))),
      });
      if (performance.now() - started > capMs && done < rows.length) break;
    }
  }
  stage("parity texts");
  // Same numbers as `sosrisk predict` on the synthetic texts, one at a time and in one batch.
  result.parity = [];
  for (const p of inputs.parity) result.parity.push((await predict(ort, session, [p.ids], pad))[0]);
  result.parity_batched = await predict(ort, session, inputs.parity.map((p) => p.ids), pad);

  stage("done");
  await session.release();
  return result;
};
