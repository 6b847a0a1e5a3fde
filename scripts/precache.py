#!/usr/bin/env python3
"""Trunk post-build hook: writes into dist/sw.js the list of files the service worker stores when
it installs, so that one visit is enough to use the page offline.

The list is the build's own output (the page, its scripts, wasm, styles, icon, manifest) and the
default model's files under the URLs the worker asks for (`?sha=` from its config.json, which is
how each version gets its own cache entry). Other models' files are stored when the page first
loads one (it tells the service worker which). Writing the list into sw.js also makes sw.js
differ between builds, so that browsers install the new version and store its files.

usage: precache.py DEFAULT_MODEL   (run by Trunk with TRUNK_STAGING_DIR set)"""
import json
import os
import sys

dist = os.environ.get("TRUNK_STAGING_DIR") or sys.argv[2]
default_model = sys.argv[1]
skip = {"sw.js", "_headers"}
files = ["./"]
for folder, dirs, names in os.walk(dist):
    dirs.sort()
    rel = os.path.relpath(folder, dist)
    if rel.split(os.sep)[0] == "models":
        continue
    for name in sorted(names):
        path = name if rel == "." else os.path.join(rel, name).replace(os.sep, "/")
        if path not in skip and path != "index.html":
            files.append(path)
model_dir = os.path.join(dist, "models", default_model)
config = json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8"))
files.append(f"models/{default_model}/config.json")
for name, sha in sorted(config["files"].items()):
    files.append(f"models/{default_model}/{name}?sha={sha}")

sw = os.path.join(dist, "sw.js")
text = open(sw, encoding="utf-8").read()
marker = "const PRECACHE = [];"
if marker not in text:
    sys.exit(f"precache: {marker!r} not found in sw.js")
text = text.replace(marker, "const PRECACHE = " + json.dumps(files, indent=None) + ";")
open(sw, "w", encoding="utf-8").write(text)
print(f"precache: {len(files)} files listed in sw.js", file=sys.stderr)
