"""Text side of the peer benchmarks, without torch: sosrisk's e5 tokenization and padding, and
the dataset rows `sosrisk bench` reads. Texts are only ever read at run time, never written out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

# XLM-R's <pad>; sosrisk pads with it and masks it out (src/model/bert.rs PAD_ID).
PAD_ID = 1
# Characters of a text read at most (src/windows.rs MAX_CHARS).
MAX_CHARS = 20_000
N_LEVELS = 11
HIGH_RISK = 1


@dataclass
class Pieces:
    ids: list[int]
    chars_used: int
    truncated: bool


class PieceTokenizer:
    """`tokenizer.json` plus e5's query prefix, sosrisk's truncation (`PieceTokenizer::encode`) and
    its windows for long texts (`PieceTokenizer::windows`)."""

    def __init__(self, path: Path, prefix: str, max_tokens: int):
        self.inner = Tokenizer.from_file(str(path))
        self.prefix = prefix
        # sosrisk clamps to 3 so that <s>, one piece and </s> always fit.
        self.max_tokens = max(max_tokens, 3)

    def encode(self, text: str) -> Pieces:
        if not text.strip():
            raise ValueError("empty text")
        enc = self.inner.encode(self.prefix + text, add_special_tokens=True)
        ids = list(enc.ids)
        if len(ids) <= self.max_tokens:
            return Pieces(ids, len(text), False)
        # The first max_tokens - 1 pieces and the closing </s>, as the encoder saw in
        # pre-training; the text read ends where the last kept piece ends.
        ids = ids[: self.max_tokens - 1] + [ids[-1]]
        # Python's offsets count characters where Rust's count bytes; the prefix is ASCII, so
        # subtracting its length gives the same position either way.
        stop = max(enc.offsets[self.max_tokens - 2][1] - len(self.prefix), 0)
        return Pieces(ids, min(stop, len(text)), True)

    def windows(self, text: str) -> list[tuple[int, int]]:
        """`PieceTokenizer::windows` (src/tokenize.rs): the character spans `[start, end)` a text
        (already bounded to MAX_CHARS) is read in. One span when its own pieces fit beside `<s>`,
        `</s>` and the prefix's pieces; else windows of two pieces fewer (a window tokenized on its
        own may split its edges differently and must still fit), every half window, the first
        starting at the text's start and the last ending at its end (src/windows.rs)."""
        if not text.strip():
            raise ValueError("empty text")
        enc = self.inner.encode(self.prefix + text, add_special_tokens=True)
        p = len(self.prefix)
        special = enc.special_tokens_mask
        own = [(max(a - p, 0), b - p) for (a, b), s in zip(enc.offsets, special) if s == 0 and b > p]
        prefix_tokens = sum(1 for s in special if s == 0) - len(own)
        fits = max(self.max_tokens - 2 - prefix_tokens, 8)
        if len(own) <= fits:
            return [(0, len(text))]
        spans = token_windows(len(own), fits - 2)
        last = len(spans) - 1
        return [(0 if k == 0 else own[a][0], len(text) if k == last else own[b - 1][1]) for k, (a, b) in enumerate(spans)]


def token_windows(n: int, capacity: int) -> list[tuple[int, int]]:
    """`windows::token_windows`: token ranges of `capacity` tokens over `n`, one when they fit,
    else starting every half window, the last one ending at `n`."""
    capacity = max(capacity, 1)
    if n <= capacity:
        return [(0, n)]
    stride, start, out = max(capacity // 2, 1), 0, []
    while start + capacity < n:
        out.append((start, start + capacity))
        start += stride
    out.append((n - capacity, n))
    return out


def deciding_text(text: str, sosrisk: dict) -> str:
    """The part of `text` that decided sosrisk's prediction for it (`predict --json`): the window
    with the highest P(high risk) for a text read in windows, else the whole text."""
    w = sosrisk.get("window")
    return text[w["start"] : w["end"]] if w else text


def batch_np(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pads to the longest row with <pad> and a 0 mask, like `bert::batch`: int64 (ids, mask)."""
    t = max(1, max(len(r) for r in rows))
    ids = np.full((len(rows), t), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(rows), t), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def length_groups(lengths: list[int]) -> list[list[int]]:
    """`infer::length_groups`: within one call, texts sorted by length and split into groups
    that each pad to their own longest text. A group grows while its padding stays under a
    quarter of its cells, or 8 cells a row. Ported so that the peers do the same work per call."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # stable, like sort_by_key
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i in order:
        n = max(lengths[i], 1)
        rows = len(current) + 1
        if current and n * rows * 3 > (total + n) * 4 + 24 * rows:
            groups.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        groups.append(current)
    return groups


@dataclass
class Row:
    id: str
    text: str
    level: int
    binary: int | None


def _rows(data: Path) -> list[dict]:
    with open(data, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _row(r: dict) -> Row:
    b = (r.get("binary") or "").strip()
    return Row(r["id"], r["text"], int(r["level"]), int(b) if b else None)


def test_rows(data: Path) -> list[Row]:
    """The test split in file order: the texts `sosrisk bench` times (it takes the first N)."""
    return [_row(r) for r in _rows(data) if r.get("split") == "test"]


def train_rows(data: Path, n: int, val_fold: int = 3) -> list[Row]:
    """`sosrisk bench --train-rows n`: split=train rows outside the validation fold, in file order.
    An empty fold counts as "not the validation fold", as in sosrisk (`p.fold != Some(3)`)."""
    rows = [
        r for r in _rows(data) if r.get("split") == "train" and (r.get("fold") or "").strip() != str(val_fold)
    ]
    return [_row(r) for r in rows[:n]]
