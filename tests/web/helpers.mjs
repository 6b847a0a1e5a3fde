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

/** `text` in GB18030, as Excel on Chinese Windows saves a CSV (Node has no encoder for it; Python does). */
export function gb18030(text) {
  const run = spawnSync("python3", ["-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('utf-8').encode('gb18030'))"],
    { input: Buffer.from(text, "utf8"), maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, String(run.stderr));
  return run.stdout;
}

/** `text` as Excel's "Unicode text": UTF-16LE with a BOM. */
export const utf16le = (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** A zip of `files` ({ name: string }) without compression. */
function zipStored(files) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content, "utf8"), fname = Buffer.from(name, "utf8"), crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fname.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += 30 + fname.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(centrals.length / 2, 8); end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** A minimal .xlsx: `sheets` is [[name, rows]], every cell an inline string. */
export function xlsx(sheets) {
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const ns = "http://schemas.openxmlformats.org";
  const files = {
    "[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="${ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join("")}</Types>`,
    "_rels/.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships"><Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    "xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${ns}/spreadsheetml/2006/main" xmlns:r="${ns}/officeDocument/2006/relationships"><sheets>${sheets.map(([name], i) => `<sheet name="${esc(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("")}</sheets></workbook>`,
    "xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join("")}</Relationships>`,
  };
  sheets.forEach(([, rows], i) => {
    const body = rows.map((cells, r) => `<row r="${r + 1}">${cells.map((v, c) => `<c r="${String.fromCharCode(65 + c)}${r + 1}" t="inlineStr"><is><t>${esc(v)}</t></is></c>`).join("")}</row>`).join("");
    files[`xl/worksheets/sheet${i + 1}.xml`] = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${ns}/spreadsheetml/2006/main"><sheetData>${body}</sheetData></worksheet>`;
  });
  return zipStored(files);
}
