// A static file server for the built app (dist/), sending the headers the app's `_headers` file
// asks a host for, and recording every request it answers (method, URL, headers, body) so tests
// can check that none carries user text.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json",
  ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json", ".md": "text/markdown",
};

/** The `/*` block of a Netlify-style `_headers` file. */
async function siteHeaders(root) {
  const text = await readFile(join(root, "_headers"), "utf8").catch(() => "");
  const headers = {};
  let inAll = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    if (!line.startsWith(" ")) { inAll = line.trim() === "/*"; continue; }
    if (inAll) {
      const at = line.indexOf(":");
      headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return headers;
}

/**
 * Serves `root` under `prefix` (e.g. "/sosrisk/") on a free port of 127.0.0.1. `tamper` names a
 * file (relative to root) whose bytes are served with one byte flipped, as a corrupt copy would be.
 */
export async function serve(root, prefix = "/", { tamper } = {}) {
  const headers = await siteHeaders(root);
  const log = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    log.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    const url = new URL(req.url, "http://localhost");
    let path = decodeURIComponent(url.pathname);
    if (!path.startsWith(prefix)) { res.writeHead(404).end(); return; }
    path = normalize(path.slice(prefix.length) || "index.html");
    if (path.startsWith("..")) { res.writeHead(403).end(); return; }
    if (path.endsWith("/")) path += "index.html";
    const file = join(root, path);
    try {
      if (!(await stat(file)).isFile()) throw new Error("not a file");
      const body = await readFile(file);
      if (tamper && path === normalize(tamper)) body[body.length >> 1] ^= 0xff;
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] || "application/octet-stream", "Content-Length": body.length, "Cache-Control": "no-cache" });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${server.address().port}${prefix}`;
  return { base, log, close: () => new Promise((ok) => server.close(ok)) };
}
