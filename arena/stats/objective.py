"""Objective measures from scored text, and how they line up with the votes. Pure functions over records.

- bits per byte = total negative log-likelihood in bits / UTF-8 bytes of the scored text. The one likelihood measure
  comparable across tokenizers (a byte is a byte for every model). Lower is better.
- perplexity = exp(mean NLL per token, in nats). Per token: a model with a coarser tokenizer has fewer, harder tokens,
  so perplexities of different tokenizers are not comparable.
- KL divergence KL(P_ref || P_model) per token, in nats, against the highest-precision model of the same tokenizer
  (llama.cpp `llama-perplexity --kl-divergence`): mean, 99th percentile, max; and the share of tokens where both
  models' most likely next token is the same. They measure quantization damage, not quality.
None of these is a preference: a person may prefer the answers of the model that predicts text worse.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence

from arena.records.score import ModelScore, TextScore

LN2 = math.log(2.0)
# Relative bits-per-byte difference below which two models count as level: the run-to-run and text-to-text noise of
# bpb on a few kilobytes is a few tenths of a percent, so a 0.5% gap says nothing about which model predicts better.
BPB_LEVEL = 0.005


def bits_per_byte(nll_nats: float, n_bytes: int) -> float | None:
    return nll_nats / LN2 / n_bytes if n_bytes > 0 else None


def perplexity(nll_nats: float, n_tokens: int) -> float | None:
    return math.exp(nll_nats / n_tokens) if n_tokens > 0 else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def combine(
    model_id: str,
    scores: Iterable[TextScore],
    *,
    label: str | None = None,
    is_reference: bool = False,
    bits_per_weight: float | None = None,
) -> ModelScore:
    """One model's texts added up: sums of NLL, tokens and bytes; KL statistics over every scored token of them all."""
    rows = list(scores)
    nll = sum(r.nll_nats for r in rows)
    tokens = sum(r.tokens for r in rows)
    n_bytes = sum(r.bytes for r in rows)
    kl_rows = [r for r in rows if r.kld is not None]
    kld_mean = kld_p99 = kld_max = same_pct = None
    reference = None
    if kl_rows and len(kl_rows) == len(rows):  # KL only when every text has it: a partial mean would mislead
        values: array = array("f")
        for r in kl_rows:
            values.extend(r.kld)  # type: ignore[arg-type]
        if values:
            kld_mean = math.fsum(values) / len(values)
            kld_p99 = percentile(values, 99.0)
            kld_max = max(values)
            same_pct = 100.0 * sum(r.same_top or 0 for r in kl_rows) / len(values)
        reference = kl_rows[0].reference_id
    return ModelScore(
        id=model_id,
        label=label or model_id,
        bits_per_byte=bits_per_byte(nll, n_bytes),
        perplexity=perplexity(nll, tokens),
        tokens=tokens,
        bytes=n_bytes,
        texts=len(rows),
        kld_mean=kld_mean,
        kld_p99=kld_p99,
        kld_max=kld_max,
        same_top_pct=same_pct,
        reference=reference,
        is_reference=is_reference,
        bits_per_weight=bits_per_weight,
    )


def common_texts(by_model: Mapping[str, Sequence[TextScore]]) -> dict[str, list[TextScore]]:
    """Each model's rows restricted to the texts every model has: numbers on different texts do not compare.

    Settings are not matched across models: the batch size follows the vocabulary and the BOS rule the GGUF, so two
    tokenizers never share them. Within a model, a text scored several times (another window, alone and in a family)
    counts once: the newest row, and at equal times the one with KL (same NLL, more facts).
    """
    keyed: dict[str, dict[str, TextScore]] = {}
    for model, rows in by_model.items():
        best: dict[str, TextScore] = {}
        for r in rows:
            k = r.text_sha256
            if k not in best or (r.created, r.kld is not None) > (best[k].created, best[k].kld is not None):
                best[k] = r
        keyed[model] = best
    if not keyed:
        return {}
    shared = set.intersection(*(set(v) for v in keyed.values()))
    return {model: [rows[k] for k in sorted(shared)] for model, rows in keyed.items()}


def leader_by_bpb(big: ModelScore, small: ModelScore) -> str | None:
    """"big", "small", or None when their bits per byte are level (within BPB_LEVEL) or unknown."""
    a, b = big.bits_per_byte, small.bits_per_byte
    if a is None or b is None:
        return None
    if abs(a - b) <= BPB_LEVEL * min(a, b):
        return None
    return "big" if a < b else "small"


def agreement_line(
    vote_leader: str | None,
    vote_significant: bool,
    big: ModelScore,
    small: ModelScore,
) -> str:
    """One plain sentence: do the votes and bits per byte point the same way?

    vote_leader: "big", "small" or None (no decided votes, or a dead heat); vote_significant: p < 0.05.
    """
    bpb = leader_by_bpb(big, small)
    bpb_part = {
        "big": "bits per byte favours the big model",
        "small": "bits per byte favours the small model",
        None: "bits per byte shows no clear difference",
    }[bpb]
    if big.bits_per_byte is None or small.bits_per_byte is None:
        return "No bits per byte for both models yet: run `arena score` on a text."
    if vote_leader is None:
        return f"The votes show no leader yet; {bpb_part}."
    votes = f"votes prefer the {vote_leader} model" + ("" if vote_significant else " (not significant yet)")
    if bpb is None:
        return f"{votes[0].upper()}{votes[1:]}; {bpb_part}."
    if bpb == vote_leader:
        return f"They agree: {votes}, and {bpb_part}."
    return f"They disagree: {votes}; {bpb_part}. A likelihood score is not a preference: the votes answer your question."


def vote_leader(big_wins: int, small_wins: int) -> str | None:
    if big_wins == small_wins:
        return None
    return "big" if big_wins > small_wins else "small"


def objective_lines(
    big: ModelScore,
    small: ModelScore,
    *,
    big_wins: int,
    small_wins: int,
    significant: bool,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """The objective numbers of a matchup's two models beside the votes, for `arena stats` and the statistics screen."""
    names = dict(labels or {})
    width = max(len(names.get(s.id, s.label)) for s in (big, small))
    texts = f"{big.texts} text{'s' * (big.texts != 1)}"
    lines = [f"Objective scores (`arena score`, {texts}; lower bits/byte = predicts the text better; not a preference):"]
    for s in (big, small):
        parts = [f"bits/byte {s.bits_per_byte:.4f}" if s.bits_per_byte is not None else "bits/byte -"]
        if s.perplexity is not None:
            parts.append(f"perplexity {s.perplexity:.2f} (per token)")
        if s.kld_mean is not None:
            parts.append(f"KLD mean {s.kld_mean:.4f} / p99 {s.kld_p99:.3f} vs {names.get(s.reference or '', s.reference)}")
            parts.append(f"same top token {s.same_top_pct:.1f}%")
        lines.append(f"  {names.get(s.id, s.label).ljust(width)}  " + ", ".join(parts))
    lines.append("  " + agreement_line(vote_leader(big_wins, small_wins), significant, big, small))
    return lines
