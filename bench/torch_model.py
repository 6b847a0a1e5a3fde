"""sosrisk's e5 classifier in PyTorch, for the peer benchmarks in `peers.py`.

The module mirrors `src/model/bert.rs` (BertEncoder + BertClassifier) and loads the f32 weights
that `sosrisk export` writes, under the same parameter names. The tokenizer (`e5_text.py`, kept
free of torch so the onnxruntime runs do not load it) mirrors `PieceTokenizer::encode` in
`src/tokenize.rs`. Both must stay in step with the Rust code: the
`parity` subcommand of `peers.py` is what checks that they do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from e5_text import N_LEVELS, PAD_ID, PieceTokenizer, batch_np  # noqa: F401 (re-exported)


def batch(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pads to the longest row with <pad> and a 0 mask, like `bert::batch`: (ids, f32 mask)."""
    ids, mask = batch_np(rows)
    return torch.from_numpy(ids), torch.from_numpy(mask.astype(np.float32))


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.output_layer_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y):
            return y.reshape(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        # SDPA is what a PyTorch user would run (and what HF's BERT runs); with an additive
        # float mask it computes softmax(qk^T/sqrt(d) + bias) v, as burn does.
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        ctx = ctx.transpose(1, 2).reshape(b, t, h)
        x = self.attention_layer_norm(x + self.attention_output(ctx))
        y = self.output(F.gelu(self.intermediate(x)))  # erf GELU, as burn's Gelu
        return self.output_layer_norm(x + y)


class Encoder(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        h = cfg["hidden"]
        eps = cfg["layer_norm_eps"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], h)
        self.position_embeddings = nn.Embedding(cfg["max_positions"], h)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], h)
        self.embeddings_layer_norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            Layer(h, cfg["heads"], cfg["intermediate"], eps) for _ in range(cfg["layers"])
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t = ids.shape
        # Positions start at 0, as in bert.rs (not at XLM-R's padding_idx + 1): the table is
        # used as the imported file gives it.
        positions = torch.arange(t, device=ids.device).unsqueeze(0).expand(b, t)
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(torch.zeros_like(ids))
        )
        x = self.embeddings_layer_norm(x)
        bias = ((1.0 - mask) * -1e9).reshape(b, 1, 1, t)
        for layer in self.layers:
            x = layer(x, bias)
        return x

    def pooled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.forward(ids, mask)
        m = mask.unsqueeze(2)
        return (hidden * m).sum(1) / m.sum(1)


class Classifier(nn.Module):
    """Encoder, dropout on the pooled vector only (as in burn), and the two heads."""

    def __init__(self, cfg: dict, temperatures: list[float], dropout: float = 0.0):
        super().__init__()
        self.encoder = Encoder(cfg)
        self.dropout = nn.Dropout(dropout)
        self.level_head = nn.Linear(cfg["hidden"], N_LEVELS)
        self.binary_head = nn.Linear(cfg["hidden"], 2)
        self.register_buffer("temperatures", torch.tensor(temperatures, dtype=torch.float32))

    def logits(self, ids, mask):
        pooled = self.dropout(self.encoder.pooled(ids, mask))
        return self.level_head(pooled), self.binary_head(pooled)

    def forward(self, ids, mask):
        """Calibrated probabilities (level [b, 11], binary [b, 2]), as `probabilities` in burn."""
        level, binary = self.logits(ids, mask)
        return (
            torch.softmax(level / self.temperatures[0], dim=1),
            torch.softmax(binary / self.temperatures[1], dim=1),
        )


@dataclass
class Loaded:
    model: Classifier
    tokenizer: PieceTokenizer
    config: dict

    @property
    def threshold(self) -> float:
        return float(self.config["binary_threshold"])


def load(model_dir: Path, weights: Path, dropout: float = 0.0) -> Loaded:
    """The model directory's config.json and tokenizer.json, and `sosrisk export`'s weights."""
    config = json.loads((model_dir / "config.json").read_text())
    spec = config["model"]
    model = Classifier(spec["encoder"], spec["temperatures"], dropout)
    state = load_file(str(weights))
    state["temperatures"] = model.temperatures
    # strict: a renamed or missing tensor must fail here, not silently keep a random init.
    model.load_state_dict(state, strict=True)
    model.eval()
    tok = PieceTokenizer(model_dir / "tokenizer.json", spec["query_prefix"], spec["max_tokens"])
    return Loaded(model, tok, config)


def class_weights(levels: list[int]) -> torch.Tensor:
    """`LossWeights::new(.., balance=true, ..)`: n / (present classes x count), 0 if absent."""
    counts = [0] * N_LEVELS
    for lv in levels:
        counts[lv] += 1
    n = sum(counts)
    present = max(1, sum(1 for c in counts if c > 0))
    return torch.tensor([n / (present * c) if c else 0.0 for c in counts], dtype=torch.float32)


def weighted_cross_entropy(logits, targets: list[int | None], weight: torch.Tensor):
    """sosrisk's `weighted_cross_entropy`: rows without a target weigh 0; the sum is divided by
    the summed weight (floored at f32 epsilon, so a batch without targets gives 0, not NaN)."""
    idx = torch.tensor([t if t is not None else 0 for t in targets], dtype=torch.int64)
    w = torch.tensor([float(weight[t]) if t is not None else 0.0 for t in targets])
    picked = F.log_softmax(logits, dim=1).gather(1, idx.unsqueeze(1)).squeeze(1)
    known = max(float(w.sum()), torch.finfo(torch.float32).eps)
    return -(picked * w).sum() / known


def loss(model: Classifier, ids, mask, labels, weights: torch.Tensor):
    """Both heads' loss, `LossWeights::loss` with binary weight 1."""
    level, binary = model.logits(ids, mask)
    return weighted_cross_entropy(level, [lv for lv, _ in labels], weights) + weighted_cross_entropy(
        binary, [b for _, b in labels], torch.ones(2)
    )


def _check():
    # Cheap self-test of the pieces that do not need the model: padding and the loss rule.
    ids, mask = batch([[0, 5, 2], [0, 2]])
    assert ids.tolist() == [[0, 5, 2], [0, 2, PAD_ID]] and mask[1].tolist() == [1, 1, 0]
    w = class_weights([0, 0, 1, 3])
    assert math.isclose(float(w[0]), 4 / 6, rel_tol=1e-6) and float(w[2]) == 0.0
    logits = torch.zeros(2, 2)
    assert math.isclose(float(weighted_cross_entropy(logits, [None, 1], torch.ones(2))), math.log(2), rel_tol=1e-6)
    assert float(weighted_cross_entropy(logits, [None, None], torch.ones(2))) == 0.0


if __name__ == "__main__":
    _check()
    print("torch_model self-check ok")
