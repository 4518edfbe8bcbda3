"""What scoring a text through a model produces: the per-(model, text) record the store caches, and the per-model
summary `arena score` and `arena stats` show. Pure data, no I/O.

The record keeps sums, not averages, so several texts combine exactly (arena.stats.objective.combine): bits per byte of
two texts together is (NLL_1 + NLL_2) / (bytes_1 + bytes_2), not the mean of two ratios. Per-token KL values are kept
(float32, 4 bytes a token) because a 99th percentile over several texts cannot be rebuilt from per-text percentiles.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

SCORE_VERSION = 1  # bump when the scoring method changes (window layout, BOS rule): cached rows then stop matching


@dataclass(frozen=True)
class ScoreSettings:
    """Everything besides the model and the text that can change the numbers; part of the cache key.

    window: tokens per llama.cpp pass (BOS included); stride: new tokens scored by each window after the first, so
    every later window re-reads `window - 1 - stride` tokens as context only; n_batch: tokens per llama_decode call
    (llama.cpp's results can differ in the last bits with the batch layout).
    """

    window: int
    stride: int
    n_batch: int
    version: int = SCORE_VERSION

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


@dataclass
class TextScore:
    """One model on one text: the cache row (arena.store.scores)."""

    model_id: str
    fingerprint: str  # the model file's fingerprint (arena.models.facts.fingerprint)
    text_sha256: str
    text_name: str  # a file name or suite prompt id, for people; not part of the key
    settings: str  # ScoreSettings.key()
    tokens: int  # tokens whose log-probability was scored
    bytes: int  # UTF-8 bytes those tokens cover
    nll_nats: float  # sum over scored tokens of -ln p(token | context)
    reference_id: str | None = None  # the same-tokenizer model the KL is against, if any
    reference_fingerprint: str = ""  # "" when there is no reference (part of the key)
    kld: array | None = None  # per scored token: KL(reference || this model) in nats, float32
    same_top: int | None = None  # tokens where both models' most likely next token agree
    created: str = ""


@dataclass(frozen=True)
class ModelScore:
    """One model over all scored texts: what `arena score --json` prints per model."""

    id: str
    label: str
    bits_per_byte: float | None
    perplexity: float | None
    tokens: int
    bytes: int
    texts: int
    kld_mean: float | None = None
    kld_p99: float | None = None
    kld_max: float | None = None
    same_top_pct: float | None = None
    reference: str | None = None  # model id of the KL reference
    is_reference: bool = False  # the highest-precision model of a same-tokenizer group (others are measured against it)
    bits_per_weight: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        out.update(self.extra)
        return out
