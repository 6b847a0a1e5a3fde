#!/usr/bin/env python3
"""Would reading each sentence on its own catch more plain statements than it costs in false alarms?

For every text of a screening set (default tests/data/robustness.csv), runs the model on the whole
text and on each of its sentences (split after 。！？!?；; a piece under 6 characters joins the one
before), and prints per group the share flagged as a whole and the share flagged when any
sentence is flagged too. Prints ids and numbers only.

    python3 scripts/sentence-windows.py [--model models/e5] [--data tests/data/robustness.csv]
"""
import argparse
import collections
import csv
import json
import os
import re
import subprocess
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--model", default="models/e5")
ap.add_argument("--data", default="tests/data/robustness.csv")
args = ap.parse_args()
target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sosrisk/target"))
binary = os.environ.get("SOSRISK_BIN", os.path.join(target, "debug", "sosrisk"))

rows = list(csv.DictReader(open(args.data, encoding="utf-8")))


def sentences(text):
    merged = []
    for part in re.split(r"(?<=[。！？!?；;\n])", text):
        if not part.strip():
            continue
        if merged and len(part.strip()) < 6:
            merged[-1] += part
        else:
            merged.append(part)
    return [p.replace("\n", " ").strip() for p in merged]


def flagged(texts):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(texts) + "\n")
    out = subprocess.run(
        [binary, "predict", "--model", args.model, "--json", "--file", f.name],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    os.unlink(f.name)
    calls = [json.loads(line)["call"] != "low" for line in out]
    assert len(calls) == len(texts), (len(calls), len(texts))
    return calls


whole = flagged([r["text"].replace("\n", " ") for r in rows])
pieces, owner = [], []
for i, r in enumerate(rows):
    for s in sentences(r["text"]):
        pieces.append(s)
        owner.append(i)
any_piece = [False] * len(rows)
for i, f in zip(owner, flagged(pieces)):
    any_piece[i] |= f
counts = collections.Counter(owner)
groups = collections.defaultdict(lambda: [0, 0, 0, 0])
for i, r in enumerate(rows):
    g = groups[r.get("group", "all")]
    g[0] += 1
    g[1] += counts[i] > 1
    g[2] += whole[i]
    g[3] += whole[i] or any_piece[i]
print("| group | texts | of several sentences | flagged whole | flagged whole or by a sentence |")
print("|---|---|---|---|---|")
for name, (n, several, w, ws) in groups.items():
    print(f"| {name} | {n} | {several} | {100 * w / n:.1f} % | {100 * ws / n:.1f} % |")
