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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      if (immutable(url)) {
        const hit = await cache.match(request);
        if (hit) return hit;
      }
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response.clone());
        return response;
      } catch (error) {
        const hit = await cache.match(request, { ignoreSearch: false });
        if (hit) return hit;
        throw error;
      }
    }),
  );
});
