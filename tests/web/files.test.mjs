// Real files and real texts in the page (CPU backend), with files these tests write themselves
// (synthetic posts, no dataset text): Excel's GB18030 CSV without a "text" column (the user
// picks one), Excel's "Unicode text" (UTF-16, tabs), a workbook with two sheets; the export
// keeps every input column in order and neutralises formulas; the per-person summary; a long
// text with the risky sentence at its end gets that window's result, as the CLI does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";
import { artifacts, assertClose, CHROMIUM, classify, cliPredictions, dist, FLAGS, gb18030, MODEL, ready, utf16le, xlsx } from "./helpers.mjs";

// Written for these tests.
const POSTS = [
  ["u1", "今天下班路上看到了很美的晚霞", "2026-01-02"],
  ["u2", "=1+1 这是一条以等号开头的帖子", "2026-01-03"],
  ["u1", "我真的不想活了，药已经攒够了", "2026-01-04"],
  ["u3", "@所有人 明天记得带伞", "2026-01-05"],
];
const FILLER = "周末和家人去公园散步，天气很好，回来以后做了一顿晚饭，大家都说好吃。";
const RISK = "我已经决定了，下周五就从楼顶跳下去，再也不想活了。";

async function exported(page, button) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const text = readFileSync(await download.path(), "utf8");
  assert.ok(text.startsWith("\ufeff"), "UTF-8 with a BOM, for Excel");
  return text.slice(1).trim().split(/\r?\n/);
}

const done = (page, total) =>
  page.waitForFunction((n) => {
    const b = document.querySelector("#batch");
    return b && b.dataset.total === String(n) && b.dataset.done === b.dataset.total;
  }, total, { timeout: 120_000 });

test("files as counselors have them, and long texts, in the page", { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(join(dist, "index.html")), "dist/ is missing: run `trunk build --release --offline` first");
  mkdirSync(artifacts, { recursive: true });
  const server = await serve(dist, "/sosrisk/");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.base}?model=${MODEL}`);
    assert.equal(await ready(page), "CPU");
    const cli = cliPredictions(POSTS.map((p) => p[1]));

    await t.test("a GB18030 CSV without a text column: the user picks it, the export keeps every column", async () => {
      const csv = "用户,正文,日期\r\n" + POSTS.map((p) => p.join(",")).join("\r\n") + "\r\n";
      await page.setInputFiles("#batch-file", { name: "导出.csv", mimeType: "text/csv", buffer: gb18030(csv) });
      await page.waitForSelector("#choose-text");
      assert.equal(await page.getAttribute("#batch-read", "data-encoding"), "GB18030");
      assert.equal(await page.$eval("#batch", (b) => b.dataset.done), "0", "nothing runs before a text column is chosen");
      await page.selectOption("#text-column", { label: "正文" });
      await done(page, POSTS.length);
      const lines = await exported(page, "#export");
      assert.equal(lines[0], "用户,正文,日期,line,level,band,p_level,high_risk,p_high_risk,call,reason,phrase,deciding_characters,error");
      assert.ok(lines[1].startsWith("u1,今天下班路上看到了很美的晚霞,2026-01-02,2,"), lines[1]);
      assert.ok(lines[2].startsWith("u2,'=1+1 这是一条以等号开头的帖子,"), `a formula is neutralised: ${lines[2]}`);
      assert.ok(lines[4].startsWith("u3,'@所有人"), lines[4]);
      cli.forEach((p, i) => assert.ok(lines[i + 1].includes(`,${p.level},${p.band},`), `row ${i}: ${lines[i + 1]}`));
      await page.screenshot({ path: join(artifacts, "files-gb18030.png"), fullPage: true });

      // The per-person summary: 用户 is found as the author column.
      const people = await page.$$eval("#people tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
      assert.equal(people.length, 3);
      const u1 = people.find((p) => p[0] === "u1");
      assert.deepEqual(u1.slice(1, 3), ["2", String(Math.max(cli[0].level, cli[2].level))]);
      const summary = await exported(page, "#export-people");
      assert.equal(summary[0], "用户,posts,assessed,highest_level,highest_p_high_risk,high_risk_posts,flagged_posts");
      assert.equal(summary.length, 4);
      // Sorted by author on request.
      await page.click("#people thead button >> nth=0");
      assert.deepEqual(await page.$$eval("#people tbody tr td:first-child", (c) => c.map((x) => x.textContent)), ["u1", "u2", "u3"]);
    });

    await t.test("Excel's Unicode text (UTF-16, tab-separated .txt) with a text column runs at once", async () => {
      const txt = "编号\ttext\r\n" + POSTS.map((p, i) => `${i + 1}\t${p[1]}`).join("\r\n") + "\r\n";
      await page.setInputFiles("#batch-file", { name: "unicode.txt", mimeType: "text/plain", buffer: utf16le(txt) });
      await done(page, POSTS.length);
      assert.equal(await page.getAttribute("#batch-read", "data-encoding"), "UTF-16LE");
      const lines = await exported(page, "#export");
      assert.ok(lines[0].startsWith("编号,text,line,"), lines[0]);
    });

    await t.test("a workbook: the first sheet with rows, then the user picks another", async () => {
      const book = xlsx([
        ["说明", [["本页没有帖子"]]],
        ["帖子", [["user", "body"], ...POSTS.map((p) => [p[0], p[1]])]],
        ["其他", [["user", "text"], ...POSTS.map((p) => [p[0], p[1]])]],
      ]);
      await page.setInputFiles("#batch-file", { name: "posts.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: book });
      await page.waitForSelector("#sheet");
      await page.waitForSelector("#choose-text");
      assert.equal(await page.$eval("#sheet", (s) => s.value), "帖子", "the notes page is skipped");
      await page.selectOption("#sheet", "其他");
      await done(page, POSTS.length);
      const lines = await exported(page, "#export");
      assert.ok(lines[0].startsWith("user,text,line,"), lines[0]);
      assert.ok(lines[1].startsWith("u1,今天下班路上看到了很美的晚霞,2,"), lines[1]);
    });

    await t.test("a file that fits no encoding: a clear error in the page's language", async () => {
      await page.setInputFiles("#batch-file", { name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from([0x41, 0x0a, 0x80, 0xff, 0x42]) });
      const message = await page.textContent("#batch-error");
      assert.match(message, (await page.getAttribute("html", "lang")) === "en" ? /bad\.csv, line 2: not text/ : /bad\.csv 第 2 行/);
    });

    await t.test("a long text with the risky sentence at its end: that window decides, as in the CLI", async () => {
      const text = FILLER.repeat(20) + RISK;
      const [expected] = cliPredictions([text]);
      assert.ok(expected.windows.length > 1, "the text must be longer than one window");
      const got = await classify(page, text);
      assertClose(got, expected, "long text");
      assert.deepEqual(got.window, expected.window);
      const start = text.length - RISK.length;
      assert.ok(got.window.end > start, `the deciding window ${JSON.stringify(got.window)} reads the sentence at ${start}`);
      assert.ok(await page.isVisible("#window"), "the page says which part decided");
      assert.equal(await page.getAttribute("#attribution", "data-start"), String(got.window.start));
      assert.equal(await page.locator("#attribution span").count(), got.window.end - got.window.start);
      await page.screenshot({ path: join(artifacts, "files-long-text.png"), fullPage: true });
    });
  } finally {
    await browser.close();
    await server.close();
  }
});
