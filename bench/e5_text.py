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
N_LEVELS = 11
HIGH_RISK = 1


@dataclass
class Pieces:
    ids: list[int]
    chars_used: int
    truncated: bool


class PieceTokenizer:
    """`tokenizer.json` plus e5's query prefix and sosrisk's truncation (`PieceTokenizer::encode`)."""

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
