// What the browser tests share: where things are, how Chromium is started, the CLI's answers to
// compare with, and the page steps every test uses (wait for the model, classify one text).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
export const dist = join(root, "dist");
export const artifacts = join(here, "artifacts");
export const MODEL = process.env.SOSRISK_WEB_MODEL || "char-ngram";
export const BIN = process.env.SOSRISK_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "sosrisk");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const TOLERANCE = 1e-4;

export const FLAGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--use-angle=gl-egl", "--ignore-gpu-blocklist"];

/** `sosrisk predict --json` for `texts` (one per line, so none may hold a newline). */
export function cliPredictions(texts) {
  for (const t of texts) assert.ok(!/[\r\n]/.test(t), "the CLI reads one text per line");
  const file = join(tmpdir(), `sosrisk-web-${process.pid}-${Date.now()}.txt`);
  writeFileSync(file, texts.join("\n") + "\n");
  try {
    const run = spawnSync(BIN, ["predict", "--json", "--model", join(root, "models", MODEL), "--file", file],
      { encoding: "utf8", maxBuffer: 64 << 20 });
    assert.equal(run.status, 0, `sosrisk predict failed: ${run.stderr}`);
    return run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  } finally {
    rmSync(file, { force: true });
  }
}

export function assertClose(page, cli, what) {
  assert.equal(page.level, cli.level, `${what}: level`);
  assert.equal(page.high_risk, cli.high_risk, `${what}: high_risk`);
  // The one answer (high / review / low), its reason and the safety net's phrase: the same rule
  // on both sides.
  assert.equal(page.call, cli.call, `${what}: call`);
  assert.equal(page.reason, cli.reason, `${what}: reason`);
  assert.deepEqual(page.phrase ?? null, cli.phrase ?? null, `${what}: phrase`);
  assert.ok(Math.abs(page.high_risk_prob - cli.high_risk_prob) <= TOLERANCE, `${what}: P(high) ${page.high_risk_prob} vs ${cli.high_risk_prob}`);
  page.level_probs.forEach((p, i) => assert.ok(Math.abs(p - cli.level_probs[i]) <= TOLERANCE, `${what}: P(level ${i}) ${p} vs ${cli.level_probs[i]}`));
}

/** Clears the box, types `text` in, classifies, and waits for the answer with its attribution. */
export async function classify(page, text, timeout = 120_000) {
  await page.click("text=/^(清除|Clear)$/");
  await page.waitForSelector("#result", { state: "detached" });
  await page.fill("#post", text);
  await page.press("#post", "Control+Enter");
  const result = await page.waitForSelector('#result[data-explained="true"], #result-error', { timeout });
  const json = await result.getAttribute("data-prediction");
  return json ? JSON.parse(json) : { error: await result.textContent() };
}

/** Waits for the model to load; fails with the page's message if it does not. Returns the backend. */
export async function ready(page) {
  const status = await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout: 180_000 });
  // One read of state and backend together: read one after the other, a change in between (a
  // worker restarted just after loading) once gave "ready" with no backend.
  const { state, backend, text } = await status.evaluate((el) => ({ state: el.dataset.state, backend: el.dataset.backend, text: el.textContent }));
  assert.equal(state, "ready", text);
  return backend;
}
