#!/usr/bin/env python3
"""Trunk post-build hook: allows exactly the inline scripts Trunk wrote into index.html.

Trunk starts the app with an inline module script. Rather than `'unsafe-inline'`, the page's
Content-Security-Policy (meta tag and `_headers`) gets each inline script's SHA-256."""
import base64
import hashlib
import os
import re
import sys

dist = os.environ.get("TRUNK_STAGING_DIR") or sys.argv[1]
index = os.path.join(dist, "index.html")
html = open(index, encoding="utf-8").read()
scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
hashes = " ".join(
    "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode()
    for s in scripts
)
if hashes:
    allow = "script-src 'self' 'wasm-unsafe-eval' " + hashes
    html = html.replace("script-src 'self' 'wasm-unsafe-eval'", allow)
    open(index, "w", encoding="utf-8").write(html)
    headers = os.path.join(dist, "_headers")
    if os.path.exists(headers):
        text = open(headers, encoding="utf-8").read().replace("script-src 'self' 'wasm-unsafe-eval'", allow)
        open(headers, "w", encoding="utf-8").write(text)
print(f"csp_hashes: {len(scripts)} inline script(s) allowed by hash", file=sys.stderr)
