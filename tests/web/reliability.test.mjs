// Reliability of the page under load, on the CPU fallback (the slower path) in one page session:
//  - a 10,000-text soak: memory (the page's JS heap and wasm memory, the worker's wasm memory)
//    stays flat, and a text repeated through it always gets the same result;
//  - a 1 MB text in the box: the page says only the first N characters were read, stays
//    responsive, and its result equals the CLI's;
//  - a 100,000-row CSV: it shows progress, stays responsive, cancel stops it at once and keeps the
//    rows done, and the export has every row.
// Responsiveness is measured on the page's main thread: a 20 ms timer's longest gap, and the time
// a `page.evaluate` round trip or a click on another control takes. (Typing a 1 MB text into the
// box is reported, not bounded: Chromium's own editing takes seconds for it in any text box; the
// app's share, its input handler and re-render, is bounded.) Figures go to
// tests/web/artifacts/reliability.json. Every text is generated here from a fixed seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";
import { artifacts, assertClose, CHROMIUM, classify, cliPredictions, dist, FLAGS, MODEL, ready } from "./helpers.mjs";

const MB = 1 << 20;
/** A generous bound for "the page answers": a frozen page misses it by far. */
const RESPONSIVE_MS = 1000;
/** Growth allowed over a 10,000-text soak, after warm-up. */
const MEMORY_SLACK = 64 * MB;
const SOAK_ROWS = 10_000;
const BIG_ROWS = 100_000;

// Everyday words for synthetic posts (written for this test, not taken from any dataset).
const WORDS = ("今天 明天 昨天 早上 晚上 周末 天气 下雨 晴天 朋友 同学 同事 家人 妈妈 爸爸 工作 学习 考试 作业 " +
  "吃饭 睡觉 散步 跑步 公园 学校 公司 地铁 电影 音乐 咖啡 有点 非常 不太 还是 已经 一直 突然 觉得 " +
  "开心 难过 累 烦 无聊 紧张 轻松 想 不想 说话 回家 出门 等待 喜欢 讨厌 计划 休息 加班 头疼 好像 " +
  "可能 应该 其实 而且 但是 所以 因为 一个人 大家 自己 什么 怎么 为什么 没有 事情 时间 意思 办法").split(" ");
const PUNCT = ["，", "。", "！", "？", "……", " "];
/** A text repeated through the soak: each copy must get the same result. */
const REPEATED = "最近总是睡不着，觉得一切都没有意思，不想和任何人说话。";

/** A small seeded generator (mulberry32), so every run sees the same texts. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function post(next, words = 2 + Math.floor(next() * 10)) {
  let text = "";
  for (let i = 0; i < words; i++) {
    text += WORDS[Math.floor(next() * WORDS.length)];
    if (next() < 0.3) text += PUNCT[Math.floor(next() * PUNCT.length)];
  }
  // Some rows carry ASCII, a comma or a quote, so the CSV needs quoting.
  const r = next();
  if (r < 0.05) text += `, ok ${Math.floor(next() * 1000)}`;
  else if (r < 0.08) text += ` "引号" 😀`;
  return text.trim() || "今天";
}

/**
 * About `bytes` bytes of UTF-8 text on one line, from synthetic posts. (Everyday characters: a
 * megabyte of rare ones costs Chromium itself 1–2 s to lay out in the text box the first time,
 * looking up fallback fonts, which says nothing about the app.)
 */
function bigText(next, bytes) {
  const parts = [];
  let size = 0;
  while (size < bytes - 64) {
    const part = post(next, 20);
    parts.push(part);
    size += Buffer.byteLength(part);
  }
  return parts.join("");
}

function csvField(text) {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function writeCsv(name, texts) {
  const file = join(tmpdir(), `sosrisk-${process.pid}-${name}`);
  writeFileSync(file, "\ufeffid,text\r\n" + texts.map((t, i) => `${i + 1},${csvField(t)}`).join("\r\n") + "\r\n");
  return file;
}

/** RFC 4180 CSV (the export) into rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; } else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; } else if (c !== "\r") field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** The export: its header, and each row as an object keyed by the header's names. */
async function exportCsv(page) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  const [header, ...rows] = parseCsv(readFileSync(await download.path(), "utf8").replace(/^\ufeff/, ""));
  return { header, rows: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))) };
}

/** The export's columns for an input of `id,text`: every input column, then the results. */
const EXPORT_HEADER = ["id", "text", "line", "level", "band", "p_level", "high_risk", "p_high_risk", "call", "reason", "phrase", "deciding_characters", "error"];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Records, on the page's main thread, the longest gap between ticks of a 20 ms timer. */
async function installMonitor(page) {
  await page.evaluate(() => {
    const m = (window.__monitor = { maxGap: 0, last: performance.now() });
    setInterval(() => {
      const now = performance.now();
      m.maxGap = Math.max(m.maxGap, now - m.last);
      m.last = now;
    }, 20);
  });
}
const resetMonitor = (page) => page.evaluate(() => Object.assign(window.__monitor, { maxGap: 0, last: performance.now() }));
const readMonitor = (page) => page.evaluate(() => ({ max_timer_gap_ms: Math.round(window.__monitor.maxGap) }));

/** Times, on the page, each `type` event from its first listener (capture on window) to its last (bubble on window). */
async function timeEvents(page, type) {
  await page.evaluate((type) => {
    const log = (window.__events ??= {})[type] = [];
    addEventListener(type, () => log.push({ start: performance.now() }), true);
    addEventListener(type, () => { const e = log.at(-1); e.ms = performance.now() - e.start; });
  }, type);
}

/** Round trips of `page.evaluate` every 100 ms until `promise` settles: its value and the slowest trip. */
async function sampleWhile(page, promise) {
  let settled = false;
  const done = promise.finally(() => { settled = true; });
  let slowest = 0;
  while (!settled) {
    const t0 = performance.now();
    await page.evaluate(() => 0);
    slowest = Math.max(slowest, performance.now() - t0);
    await Promise.race([sleep(100), done.catch(() => {})]);
  }
  return [await done, Math.round(slowest)];
}

/** The page's JS heap (after a collection) and wasm memory, and the model worker's wasm memory. */
async function memory(page, cdp) {
  await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const heap = metrics.find((m) => m.name === "JSHeapUsedSize").value;
  const pageWasm = await page.evaluate(() => window.__appWasm.memory.buffer.byteLength);
  const workers = page.workers();
  assert.equal(workers.length, 1, "one model worker");
  // wasm-bindgen's init returns the running instance's exports when called again.
  const workerWasm = await workers[0].evaluate(async () => (await wasm_bindgen()).memory.buffer.byteLength);
  return { page_js_heap: heap, page_wasm: pageWasm, worker_wasm: workerWasm };
}
const inMB = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round((v / MB) * 10) / 10]));

const batchState = (page) => page.$eval("#batch", (b) => ({ done: +b.dataset.done, total: +b.dataset.total, state: b.dataset.state }));

/** The export's level and P(high) fields agree with the CLI's prediction (the export rounds to 4 places). */
function assertExportRow(row, cli, what) {
  assert.equal(row.error, "", `${what}: error ${row.error}`);
  assert.equal(+row.level, cli.level, `${what}: level`);
  assert.equal(row.band, cli.band, `${what}: band`);
  assert.equal(row.high_risk, String(cli.high_risk), `${what}: high risk`);
  assert.ok(Math.abs(+row.p_high_risk - cli.high_risk_prob) <= 1e-4 + 5e-5, `${what}: P(high) ${row.p_high_risk} vs ${cli.high_risk_prob}`);
  assert.equal(row.call, cli.call, `${what}: call`);
}

test("reliability on the CPU fallback: 10k-text soak, 1 MB text, 100k-row batch with cancel", { timeout: 900_000 }, async (t) => {
  assert.ok(existsSync(join(dist, "index.html")), "dist/ is missing: run `trunk build --release --offline` first");
  mkdirSync(artifacts, { recursive: true });
  const figures = { model: MODEL, backend: "CPU" };
  const files = [];
  const server = await serve(dist, "/");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    // Keeps the page's wasm exports (Trunk's start-up event carries them) to read its memory size.
    await page.addInitScript(() => addEventListener("TrunkApplicationStarted", (e) => { window.__appWasm = e.detail.wasm; }));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(`${server.base}?model=${MODEL}`);
    assert.equal(await ready(page), "CPU", "backend in use");
    await installMonitor(page);

    await t.test(`${SOAK_ROWS} classifications in one session: memory stays flat, a repeated text keeps its result`, async () => {
      const next = rng(1);
      const texts = Array.from({ length: SOAK_ROWS }, (_, i) => (i % 100 === 0 ? REPEATED : post(next)));
      const [cliRepeated] = cliPredictions([REPEATED]);
      // Warm-up: one text with its attribution, then a small batch.
      const first = await classify(page, REPEATED);
      assertClose(first, cliRepeated, "the repeated text");
      const warm = writeCsv("warm.csv", texts.slice(0, 200));
      files.push(warm);
      await page.setInputFiles("#batch-file", warm);
      await page.waitForSelector('#batch[data-total="200"][data-state="done"]', { timeout: 120_000 });
      const start = await memory(page, cdp);

      const file = writeCsv("soak.csv", texts);
      files.push(file);
      await resetMonitor(page);
      const t0 = Date.now();
      await page.setInputFiles("#batch-file", file);
      await page.waitForSelector(`#batch[data-total="${SOAK_ROWS}"]`, { timeout: 60_000 });
      const during = [];
      for (const mark of [0.25, 0.5, 0.75]) {
        await page.waitForFunction((n) => +document.querySelector("#batch").dataset.done >= n, SOAK_ROWS * mark, { timeout: 300_000, polling: 200 });
        during.push({ done: (await batchState(page)).done, ...inMB(await memory(page, cdp)) });
      }
      const [, slowestRoundTrip] = await sampleWhile(page,
        page.waitForSelector(`#batch[data-total="${SOAK_ROWS}"][data-state="done"]`, { timeout: 600_000 }));
      const runMs = Date.now() - t0;
      const busy = await readMonitor(page);
      const end = await memory(page, cdp);

      const { header, rows } = await exportCsv(page);
      assert.deepEqual(header, EXPORT_HEADER);
      assert.equal(rows.length, SOAK_ROWS);
      rows.forEach((row, i) => {
        assert.equal(row.line, String(i + 2), "line");
        assert.equal(row.id, String(i + 1), "the input's own id column is kept");
        assert.equal(row.text, texts[i], `text of row ${i}`);
        assert.equal(row.error, "", `row ${i}: ${row.error}`);
      });
      const result = (row) => EXPORT_HEADER.slice(3).map((h) => row[h]);
      const repeated = rows.filter((_, i) => i % 100 === 0);
      for (const row of repeated) assert.deepEqual(result(row), result(repeated[0]), "every copy of the repeated text gets the same result");
      assertExportRow(repeated[0], cliRepeated, "the repeated text in the batch");
      // A sample of the other rows agrees with the CLI too.
      const sample = Array.from({ length: 40 }, (_, k) => 1 + k * 250);
      cliPredictions(sample.map((i) => texts[i])).forEach((cli, k) => assertExportRow(rows[sample[k]], cli, `row ${sample[k]}`));
      // (Classifying in the box clears the batch, so this comes after the export.)
      const last = await classify(page, REPEATED);
      assert.deepEqual(last, first, "the same text, the same result, before and after the soak");

      figures.soak = {
        classifications: SOAK_ROWS + 200 + 2, run_ms: runMs, texts_per_s: Math.round(SOAK_ROWS / (runMs / 1000)),
        memory_mb_start: inMB(start), memory_mb_during: during, memory_mb_end: inMB(end),
        slowest_round_trip_ms: slowestRoundTrip, ...busy,
      };
      for (const key of Object.keys(start)) {
        assert.ok(end[key] <= start[key] + MEMORY_SLACK, `${key}: ${inMB(start)[key]} MB at the start, ${inMB(end)[key]} MB at the end`);
      }
      assert.ok(busy.max_timer_gap_ms < RESPONSIVE_MS, `the page froze for ${busy.max_timer_gap_ms} ms`);
      assert.ok(slowestRoundTrip < RESPONSIVE_MS, `a round trip took ${slowestRoundTrip} ms`);
    });

    await t.test("a 1 MB text: only the first characters are read, the page says so, stays responsive and matches the CLI", async () => {
      const big = bigText(rng(2), MB);
      assert.ok(Buffer.byteLength(big) >= MB - 64 && big.length < 1_000_000, "about 1 MB, under the box's limit");
      const [cli] = cliPredictions([big]);
      assert.equal(cli.truncated, true);
      await page.click("text=/^(清除|Clear)$/");
      await timeEvents(page, "input");
      await resetMonitor(page);
      const t0 = Date.now();
      await page.fill("#post", big);
      const fillMs = Date.now() - t0;
      const fill = await readMonitor(page);
      // The app's own share: the input event through its handler and the re-render. The rest is
      // Chromium's editing, as long for a plain text box on a blank page (measured for comparison).
      const inputMs = Math.round(Math.max(...(await page.evaluate(() => window.__events.input.map((e) => e.ms)))));
      const plain = await context.newPage();
      await plain.setContent('<textarea id="post" rows="7" maxlength="1000000"></textarea>');
      const t9 = Date.now();
      await plain.fill("#post", big);
      const plainFillMs = Date.now() - t9;
      await plain.close();
      await page.bringToFront();
      assert.equal(await page.$eval("#post", (e) => e.value.length), big.length, "the box holds the whole text");
      assert.equal(await page.locator("#box-full").count(), 0, "no notice under the box's limit");
      await resetMonitor(page);
      const before = await memory(page, cdp);
      const t1 = Date.now();
      await page.press("#post", "Control+Enter");
      const [result, slowestRoundTrip] = await sampleWhile(page, page.waitForSelector('#result[data-explained="true"], #result-error', { timeout: 120_000 }));
      const resultMs = Date.now() - t1;
      const busy = await readMonitor(page);
      const json = await result.getAttribute("data-prediction");
      assert.ok(json, await result.textContent());
      const got = JSON.parse(json);
      assertClose(got, cli, "1 MB text");
      assert.equal(got.truncated, true);
      assert.equal(got.chars_used, cli.chars_used, "characters read");
      // Read in windows: the result and its attribution are the deciding window's.
      assert.ok(got.window && got.windows.length > 1, "read in windows");
      assert.deepEqual(got.window, cli.window, "the same deciding window as the CLI");
      const windowChars = got.window.end - got.window.start;
      assert.equal(got.attribution.length, windowChars, "attribution covers the deciding window");
      assert.equal(await page.locator("#attribution span").count(), windowChars);
      const notice = page.locator("#truncated");
      assert.ok(await notice.isVisible(), "a visible truncation notice");
      assert.match(await notice.textContent(), new RegExp(`\\b${cli.chars_used}\\b`));
      await page.screenshot({ path: join(artifacts, "CPU-1mb-text.png") });
      // The worker reads at most 20,000 characters, in windows: its memory does not grow with the
      // paste (it grew from 73 to 141 MB for good when it tokenized the whole megabyte).
      const after = await memory(page, cdp);
      assert.ok(after.worker_wasm <= before.worker_wasm + 16 * MB, `worker wasm ${inMB(before).worker_wasm} → ${inMB(after).worker_wasm} MB`);
      figures.text_1mb_worker_wasm_mb = { before: inMB(before).worker_wasm, after: inMB(after).worker_wasm };
      figures.text_1mb = {
        bytes: Buffer.byteLength(big), chars: big.length, chars_used: got.chars_used,
        fill_ms: fillMs, fill_max_timer_gap_ms: fill.max_timer_gap_ms, app_input_event_ms: inputMs, plain_textarea_fill_ms: plainFillMs, result_with_attribution_ms: resultMs,
        slowest_round_trip_ms: slowestRoundTrip, ...busy,
      };
      assert.ok(busy.max_timer_gap_ms < RESPONSIVE_MS, `the page froze for ${busy.max_timer_gap_ms} ms while classifying`);
      assert.ok(inputMs < RESPONSIVE_MS, `the app took ${inputMs} ms over the input event`);
      assert.ok(slowestRoundTrip < RESPONSIVE_MS, `a round trip took ${slowestRoundTrip} ms`);
      await page.click("text=/^(清除|Clear)$/");
      await page.waitForSelector("#result", { state: "detached" });

      // Past the box's limit the browser cuts the paste; the page says so, and forgets it on Clear.
      await page.fill("#post", "好".repeat(1_000_050));
      assert.equal(await page.$eval("#post", (e) => e.value.length), 1_000_000, "the box's limit");
      const full = page.locator("#box-full");
      assert.ok(await full.isVisible(), "a notice that the paste was cut");
      assert.match(await full.textContent(), /1000000/);
      await page.click("text=/^(清除|Clear)$/");
      assert.equal(await full.count(), 0);
    });

    await t.test(`a ${BIG_ROWS}-row CSV: progress, a responsive page, prompt cancel that keeps the rows done, full export`, async () => {
      const next = rng(3);
      const texts = Array.from({ length: BIG_ROWS }, () => post(next));
      const file = writeCsv("100k.csv", texts);
      files.push(file);
      await resetMonitor(page);
      const t0 = Date.now();
      await page.setInputFiles("#batch-file", file);
      await page.waitForSelector(`#batch[data-total="${BIG_ROWS}"]`, { timeout: 120_000 });
      const shownMs = Date.now() - t0;
      const load = await readMonitor(page);

      // Progress moves.
      await page.waitForFunction(() => +document.querySelector("#batch").dataset.done >= 1000, null, { timeout: 120_000, polling: 100 });
      const progress = await page.$eval("#batch progress", (p) => ({ value: p.value, max: p.max }));
      assert.equal(progress.max, BIG_ROWS);
      assert.ok(progress.value >= 1000, `progress ${progress.value}`);
      assert.match(await page.textContent("#batch-progress"), new RegExp(`\\d+ / ${BIG_ROWS}`));
      assert.equal(await page.locator("table.results tbody tr").count(), 500, "the table shows at most 500 rows");
      assert.match(await page.textContent("#batch-showing"), new RegExp(`500.*${BIG_ROWS}|${BIG_ROWS}.*500`));

      // While it runs: round trips, and another control (sort by P(high), then back by row).
      await resetMonitor(page);
      const [, slowestRoundTrip] = await sampleWhile(page, sleep(2000));
      const clicks = [];
      for (const column of [4, 1]) {
        const t1 = Date.now();
        await page.click(`table.results th:nth-child(${column}) button`);
        await page.waitForSelector(`table.results th:nth-child(${column})[aria-sort="descending"]`, { timeout: 10_000 });
        clicks.push(Date.now() - t1);
      }
      const busy = await readMonitor(page);
      const running = await batchState(page);
      assert.equal(running.state, "running");

      // Cancel: it stops at once; the rows done are kept, the rest marked. The page records the
      // rows done when the click arrives and the state once the app has handled it.
      await page.evaluate(() => {
        const log = (window.__cancel = {});
        addEventListener("click", (e) => {
          if (e.target.id === "cancel") Object.assign(log, { start: performance.now(), done: +document.querySelector("#batch").dataset.done });
        }, true);
        addEventListener("click", () => {
          if (log.start !== undefined && log.ms === undefined) Object.assign(log, { ms: performance.now() - log.start, state: document.querySelector("#batch").dataset.state });
        });
      });
      const t2 = Date.now();
      await page.click("#cancel");
      await page.waitForSelector('#batch[data-state="cancelled"]', { timeout: 10_000 });
      const cancelMs = Date.now() - t2;
      const atCancel = (await batchState(page)).done;
      const click = await page.evaluate(() => window.__cancel);
      assert.equal(click.state, "cancelled", "cancelled within the click's own handling");
      assert.equal(atCancel, click.done, "no row is added after the click (the chunk in flight is dropped)");
      await sleep(1000);
      assert.equal((await batchState(page)).done, atCancel, "nothing more is assessed after cancelling");
      assert.ok(atCancel >= 1000 && atCancel < BIG_ROWS, `${atCancel} rows done`);
      assert.match(await page.textContent("#batch-cancelled"), new RegExp(`${atCancel}.*${BIG_ROWS}|${BIG_ROWS}.*${atCancel}`));
      assert.equal(await page.locator("#cancel").count(), 0);
      await page.screenshot({ path: join(artifacts, "CPU-batch-100k-cancelled.png") });

      const t3 = Date.now();
      const { header, rows } = await exportCsv(page);
      const exportMs = Date.now() - t3;
      assert.equal(rows.length, BIG_ROWS, "the export has every row");
      assert.deepEqual(header, EXPORT_HEADER);
      rows.forEach((row, i) => {
        assert.equal(row.line, String(i + 2), "line");
        assert.equal(row.text, texts[i], `text of row ${i}`);
        if (i < atCancel) assert.ok(row.level !== "" && row.error === "", `row ${i} was assessed: ${JSON.stringify(row)}`);
        else assert.ok(row.level === "" && row.error === "not assessed (cancelled)", `row ${i} was not: ${JSON.stringify(row)}`);
      });
      const sample = Array.from({ length: 20 }, (_, k) => Math.floor((k * atCancel) / 20));
      cliPredictions(sample.map((i) => texts[i])).forEach((cli, k) => assertExportRow(rows[sample[k]], cli, `row ${sample[k]}`));

      figures.batch_100k = {
        rows: BIG_ROWS, csv_bytes: readFileSync(file).length, file_to_table_ms: shownMs, load_max_timer_gap_ms: load.max_timer_gap_ms,
        slowest_round_trip_ms: slowestRoundTrip, sort_click_ms: clicks, running_max_timer_gap_ms: busy.max_timer_gap_ms,
        cancel_ms: cancelMs, cancel_handling_ms: Math.round(click.ms), rows_done_at_cancel: atCancel, rows_per_s: Math.round(atCancel / ((t2 - t0) / 1000)), export_ms: exportMs,
      };
      assert.ok(load.max_timer_gap_ms < RESPONSIVE_MS, `the page froze for ${load.max_timer_gap_ms} ms reading the file`);
      assert.ok(busy.max_timer_gap_ms < RESPONSIVE_MS, `the page froze for ${busy.max_timer_gap_ms} ms while running`);
      assert.ok(slowestRoundTrip < RESPONSIVE_MS, `a round trip took ${slowestRoundTrip} ms`);
      for (const ms of clicks) assert.ok(ms < RESPONSIVE_MS, `a click took ${ms} ms to show`);
      assert.ok(cancelMs < RESPONSIVE_MS, `cancelling took ${cancelMs} ms to show`);
    });
    // Reported only: after the 1 MB text and with the 100,000 rows still held by the page.
    figures.memory_mb_after_all = inMB(await memory(page, cdp));
    assert.deepEqual(errors, []);
  } finally {
    writeFileSync(join(artifacts, "reliability.json"), JSON.stringify(figures, null, 2) + "\n");
    console.log(JSON.stringify(figures));
    for (const f of files) rmSync(f, { force: true });
    await browser.close();
    await server.close();
  }
});
