// Offline use: keeps the app's files and the model so a second visit loads from disk and the page
// works without a network. It only ever stores same-origin GET responses for static files; the
// page sends no text anywhere, so there is nothing else to store.
const CACHE = "sosrisk-v1";

self.addEventListener("install", () => self.skipWaiting());
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
        const hit = await cache.match(request, { ignoreSearch: false });
        if (hit) return hit;
        throw error;
      }
    }),
  );
});
