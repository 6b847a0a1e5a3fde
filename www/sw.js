// Offline use: keeps the app's files and the model, so that after one visit the page loads from
// disk and works without a network. It only ever stores same-origin GET responses for static
// files; the page sends no text anywhere, so there is nothing else to store.
const CACHE = "sosrisk-v1";

// Filled in by scripts/precache.py at build time: the build's files and the default model's,
// stored when this worker installs (so the first visit is enough, even for the files the page
// fetched before this worker controlled it).
const PRECACHE = [];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // `reload`: from the network, not a stale HTTP cache entry of an older build.
      .then((cache) => cache.addAll(PRECACHE.map((u) => new Request(u, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Files whose URL names their content (Trunk's hashed names, model files with ?sha=) never
// change: cache first. Everything else (index.html, config.json, worker.js): network first,
// the cache when offline.
function immutable(url) {
  return url.searchParams.has("sha") || /-[0-9a-f]{16}(_bg)?\.(js|wasm|css)$/.test(url.pathname);
}

// What a URL is a version of: its path without Trunk's content hash (a ?sha= query is not part
// of the path). Two URLs of one family are two versions of one file.
function family(url) {
  return url.pathname.replace(/-[0-9a-f]{16}(_bg)?\.(js|wasm|css)$/, "-*$1.$2");
}

// Once a version of a file is in use, older versions go: otherwise every update of the app or of
// the model would leave the previous one (tens of MB) in the cache for good.
async function dropOlder(cache, url) {
  for (const request of await cache.keys()) {
    const other = new URL(request.url);
    if (other.href !== url.href && immutable(other) && family(other) === family(url)) {
      await cache.delete(request);
    }
  }
}

// The page tells which model files it loaded (another model than the default, say), each time
// it loads: store the ones not stored yet, drop older versions, then answer, so the page can say
// that it works offline now.
self.addEventListener("message", (event) => {
  const urls = event.data && event.data.type === "cache" ? event.data.urls : null;
  if (!Array.isArray(urls)) return;
  event.waitUntil(
    caches.open(CACHE).then(async (cache) => {
      let ok = true;
      for (const u of urls) {
        const url = new URL(u, self.location.href);
        if (url.origin !== self.location.origin || (await cache.match(url.href))) continue;
        try {
          const response = await fetch(url.href);
          if (response.ok) await cache.put(url.href, response);
          else ok = false;
        } catch {
          ok = false;
        }
      }
      // What is stored now is the current version of each of these files: older ones go
      // (the default model's too, when the page used another: an update must not pile up).
      for (const u of [...PRECACHE, ...urls]) {
        const url = new URL(u, self.location.href);
        if (immutable(url)) await dropOlder(cache, url);
      }
      if (event.source) event.source.postMessage({ type: "cached", ok });
    }),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      if (immutable(url)) {
        const hit = await cache.match(request);
        if (hit) {
          event.waitUntil(dropOlder(cache, url));
          return hit;
        }
      }
      try {
        const response = await fetch(request);
        if (response.ok) {
          await cache.put(request, response.clone());
          if (immutable(url)) event.waitUntil(dropOlder(cache, url));
        }
        return response;
      } catch (error) {
        const hit = await cache.match(request);
        if (hit) return hit;
        // The page under any query (?model=…, ?backend=…) is the page stored as the scope's root.
        if (request.mode === "navigate") {
          const page = await cache.match(new URL("./", self.registration.scope).href);
          if (page) return page;
        }
        throw error;
      }
    }),
  );
});
