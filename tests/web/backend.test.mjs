// The first visit on a browser whose only WebGPU adapter is a software one (SwiftShader, as in
// headless Chromium here): the page is ready on the CPU at once, says why it stays there, and
// never switches; asked to measure the software adapter anyway (`?webgpu=measure`), it answers
// on the CPU while WebGPU warms up and still ends on the CPU; forced WebGPU is ready after its
// warm-up and compiles nothing more. Times go to
// tests/web/artifacts/backend.json (reported, not asserted: SwiftShader says nothing about a
// user's GPU).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";
import { artifacts, assertClose, CHROMIUM, classify, cliPredictions, dist, FLAGS, MODEL, ready } from "./helpers.mjs";

// Written for this test.
const TEXT = "最近晚上总是睡不着，白天上班也没有精神。";

const why = (page) => page.$eval("#model-status", (s) => s.dataset.why);

async function firstVisit(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(url);
  const backend = await ready(page);
  const readyMs = Date.now() - t0;
  const got = await classify(page, TEXT);
  return { context, page, backend, readyMs, firstResultMs: Date.now() - t0, got };
}

test("first visit with a software WebGPU adapter: CPU first, the reason said, no switch", { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(join(dist, "index.html")), "dist/ is missing: run `trunk build --release --offline` first");
  mkdirSync(artifacts, { recursive: true });
  const [expected] = cliPredictions([TEXT]);
  const server = await serve(dist, "/sosrisk/");
  const figures = { model: MODEL };
  const withGpu = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, "--enable-unsafe-webgpu"] });
  const withoutGpu = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    await t.test("without WebGPU: the CPU, because there is none", async () => {
      const v = await firstVisit(withoutGpu, `${server.base}?model=${MODEL}`);
      assert.equal(v.backend, "CPU");
      // Whether there is an adapter is known only after requestAdapter() has answered (it is
      // tried three times): until then the status says "measuring", then why it stays.
      await v.page.waitForFunction(() => document.querySelector("#model-status")?.dataset.why !== "measuring", null, { timeout: 60_000 });
      assert.equal(await why(v.page), "no_web_gpu");
      assertClose(v.got, expected, "CPU only");
      figures.cpu_only = { ready_ms: v.readyMs, first_result_ms: v.firstResultMs };
      await v.context.close();
    });

    await t.test("auto: ready on the CPU at once, the software adapter named and left aside", async () => {
      const v = await firstVisit(withGpu, `${server.base}?model=${MODEL}`);
      assert.equal(v.backend, "CPU", "the page is usable on the CPU at once");
      assertClose(v.got, expected, "auto");
      await v.page.waitForFunction(() => document.querySelector("#model-status")?.dataset.why !== "measuring", null, { timeout: 120_000 });
      assert.equal(await why(v.page), "software_adapter");
      assert.equal(await v.page.$eval("#model-status", (s) => s.dataset.backend), "CPU");
      assert.match(await v.page.textContent("#model-status"), /SwiftShader|swiftshader|software|软件/i);
      figures.auto = { ready_ms: v.readyMs, first_result_ms: v.firstResultMs };
      await v.context.close();
    });

    // Forced WebGPU: ready only after every shape has compiled, then no request compiles one.
    // The encoder on SwiftShader takes many minutes: only the light model here.
    await t.test("forced WebGPU: ready after the full warm-up, nothing compiled after it", { skip: MODEL === "e5" && "e5 on a software renderer" }, async () => {
      const v = await firstVisit(withGpu, `${server.base}?model=${MODEL}&backend=webgpu&debug=kernels`);
      assert.equal(v.backend, "WebGPU");
      assertClose(v.got, expected, "forced WebGPU");
      await v.page.waitForTimeout(500);
      const k = await v.page.$eval("#model-status", (s) => ({ ready: Number(s.dataset.kernelsAtReady), now: Number(s.dataset.kernelsNow) }));
      assert.ok(k.ready > 0);
      assert.equal(k.now, k.ready, "no kernel compiled by the first request");
      figures.forced = { ready_ms: v.readyMs, first_result_ms: v.firstResultMs, kernels_at_ready: k.ready, kernels_after_first: k.now };
      await v.context.close();
    });

    await t.test("measuring a software adapter on request: answers on the CPU meanwhile, stays on the CPU", { skip: MODEL === "e5" && "e5 on a software renderer" }, async () => {
      const v = await firstVisit(withGpu, `${server.base}?model=${MODEL}&webgpu=measure`);
      assert.equal(v.backend, "CPU");
      const answeredWhile = await why(v.page);
      assertClose(v.got, expected, "while measuring");
      const t1 = Date.now();
      await v.page.waitForFunction(() => document.querySelector("#model-status")?.dataset.why !== "measuring", null, { timeout: 400_000 });
      const decided = await why(v.page);
      assert.ok(["slower", "software_adapter", "mismatch", "failed"].includes(decided), `decided: ${decided}`);
      assert.equal(await v.page.$eval("#model-status", (s) => s.dataset.backend), "CPU", "a software adapter is never switched to");
      // A switch never changes a result: the same text, the same numbers.
      assertClose(await classify(v.page, TEXT), expected, "after the measurement");
      figures.measured = { answered_while: answeredWhile, decided, measure_ms: Date.now() - t1, status: await v.page.textContent("#model-status") };
      await v.context.close();
    });
  } finally {
    writeFileSync(join(artifacts, "backend.json"), JSON.stringify(figures, null, 2) + "\n");
    await withGpu.close();
    await withoutGpu.close();
    await server.close();
  }
});
