"""Will these models fit in RAM? Checked before loading, so a too-big matchup is refused with numbers, not swapping.

Estimate per model (CPU inference, llama-cpp-python defaults: mmap, f16 KV cache, n_batch = n_ubatch = 512):
- weights: the file size. The file is mmap'd; pages count as resident once inference touches them, which it does.
- KV cache: 2 (K and V) x n_layers x n_ctx x n_head_kv x head_dim x 2 bytes, with head_dim from
  <arch>.attention.key_length / value_length when present, else embedding_length / head_count.
  Checked against llama.cpp's own report: SmolLM2-135M at n_ctx 2048 -> 45.00 MiB (exact); Gemma-3-270M at 2048 and
  8192 -> 36 and 144 MiB (exact: this build keeps a full-size cache for sliding-window layers too).
- compute buffer: n_batch x (4 x n_vocab + n_ctx x (2 x n_head + 4)) + 8 MiB: the logits of a batch, the attention
  scores and mask over the context, and small activations. llama.cpp's allocator reuses memory between these, so the
  sum is an upper bound. Fitted to llama.cpp's "compute buffer size": SmolLM2 99 / 166 MiB at n_ctx 2048 / 8192,
  Gemma-3-270M 515 MiB at both, the 2-layer synthetic test model 13 MiB at 1024; the formula gives 126 / 192 / 532 /
  15 MiB: conservative by at most ~25%.
- plus once per process: RUNTIME_OVERHEAD for Python, the libraries and the UI.
Available memory: MemAvailable from /proc/meminfo (Linux), else os.sysconf's available pages, else unknown (skip).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arena.config.types import ModelSpec
from arena.errors import MemoryRefused
from arena.models.facts import GGUFFacts, format_bytes

N_BATCH = 512
KV_BYTES = 2  # f16
RUNTIME_OVERHEAD = 150 * 1024 * 1024  # Python + llama.cpp + Textual, measured RSS before any model is ~80-120 MB


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    kv_cache: int
    compute: int
    n_ctx: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute


def kv_cache_bytes(facts: GGUFFacts, n_ctx: int) -> int:
    n_layers = facts.block_count or 0
    n_head = facts.head_count or 0
    n_head_kv = facts.head_count_kv or n_head
    head_dim = (facts.embedding_length or 0) // n_head if n_head else 0
    k_len = facts.key_length or head_dim
    v_len = facts.value_length or head_dim
    return n_layers * n_ctx * n_head_kv * (k_len + v_len) * KV_BYTES


def compute_bytes(facts: GGUFFacts, n_ctx: int, n_batch: int = N_BATCH) -> int:
    n_vocab = facts.vocab_size or 32000
    n_head = facts.head_count or 8
    return n_batch * (4 * n_vocab + n_ctx * (2 * n_head + 4)) + 8 * 2**20


def estimate_memory(facts: GGUFFacts, n_ctx: int) -> MemoryEstimate:
    return MemoryEstimate(facts.file_size, kv_cache_bytes(facts, n_ctx), compute_bytes(facts, n_ctx), n_ctx)


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes the OS can give without swapping, or None if unknown."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass
class PreflightResult:
    ok: bool
    needed: int  # bytes, all models + runtime overhead
    available: int | None  # None: unknown, not checked
    estimates: dict[str, MemoryEstimate] = field(default_factory=dict)  # model id -> estimate (local models)
    suggested_n_ctx: int | None = None  # the largest n_ctx (>= 512) at which the models would fit, if lower helps
    message: str = ""
    fix: str = ""

    def raise_if_refused(self, *, force: bool = False) -> None:
        if not self.ok and not force:
            raise MemoryRefused(self.message, self.fix)


def _needed(models: Sequence[tuple[ModelSpec, GGUFFacts | None]], n_ctx_override: int | None) -> tuple[int, dict[str, MemoryEstimate]]:
    estimates: dict[str, MemoryEstimate] = {}
    for spec, facts in models:
        if facts is None:  # remote model, or not on disk yet: nothing loads here
            continue
        n_ctx = min(spec.n_ctx, n_ctx_override) if n_ctx_override else spec.n_ctx
        estimates[spec.id] = estimate_memory(facts, n_ctx)
    return sum(e.total for e in estimates.values()) + RUNTIME_OVERHEAD, estimates


def preflight(
    models: Sequence[tuple[ModelSpec, GGUFFacts | None]],
    available: int | None = None,
) -> PreflightResult:
    """Check that the models fit in available memory together. `available=None` reads it from the OS."""
    needed, estimates = _needed(models, None)
    if available is None:
        available = available_memory()
    if available is None or needed <= available:
        return PreflightResult(True, needed, available, estimates)

    suggested = None
    max_ctx = max((e.n_ctx for e in estimates.values()), default=0)
    n_ctx = 512
    while n_ctx < max_ctx:
        if _needed(models, n_ctx)[0] <= available:
            suggested = n_ctx
        n_ctx *= 2
    parts = " + ".join(
        f"{mid} {format_bytes(e.total)} (weights {format_bytes(e.weights)}, KV cache {format_bytes(e.kv_cache)} at "
        f"n_ctx {e.n_ctx}, compute {format_bytes(e.compute)})"
        for mid, e in estimates.items()
    )
    message = (
        f"Not enough memory: the models need about {format_bytes(needed)} together ({parts}, plus "
        f"{format_bytes(RUNTIME_OVERHEAD)} for the app), and {format_bytes(available)} is available"
    )
    fixes = ["close other programs"]
    if suggested:
        fixes.append(f"lower n_ctx to {suggested} for these models in models.yaml")
    fixes.append("pick a matchup with a smaller budget_gb (see `arena models`)")
    fixes.append("or pass --force to try anyway (the system may swap or kill the app)")
    return PreflightResult(False, needed, available, estimates, suggested, message, ", ".join(fixes))
