"""Pure rules of a ladder: which model of a pair is "big", and what the reveal calls it. No I/O, no engines.

Which pair plays next is arena.stats.pair_choice.choose_pair (informative drawing, measured by benchmarks/ladder_sim.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from arena.config.types import ModelSpec
from arena.records import ModelFacts

_PARAMS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMBT])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def params_from_label(label: str | None) -> float | None:
    """'14B' -> 14e9, '270M' -> 270e6; None for anything else (e.g. '8x7B')."""
    if not label:
        return None
    m = _PARAMS_RE.match(label)
    return float(m.group(1)) * _SCALE[m.group(2).upper()] if m else None


def _n_params(model: str, specs: Mapping[str, ModelSpec], facts: Mapping[str, ModelFacts]) -> float | None:
    f = facts.get(model)
    if f is not None and f.n_params:
        return float(f.n_params)
    return params_from_label(specs[model].params_label) if model in specs else None


def same_size(a: str, b: str, specs: Mapping[str, ModelSpec], facts: Mapping[str, ModelFacts]) -> bool:
    """One parameter count (e.g. one model at two quants; header counts can differ by a rounding hair: within 2%).
    Unknown sizes are not the same size."""
    pa, pb = _n_params(a, specs, facts), _n_params(b, specs, facts)
    return pa is not None and pb is not None and abs(pa - pb) <= 0.02 * max(pa, pb)


def reveal_role(role: str, big: str, small: str, specs: Mapping[str, ModelSpec], facts: Mapping[str, ModelFacts]) -> str:
    """The role to reveal for a ladder pair: "big"/"small", or "harsh"/"light" when both have one size (calling the
    harsher quant of the same model "the big model" would be wrong)."""
    if same_size(big, small, specs, facts):
        return {"big": "harsh", "small": "light"}.get(role, role)
    return role


def pair_roles(
    a: str,
    b: str,
    specs: Mapping[str, ModelSpec],
    facts: Mapping[str, ModelFacts],
    order: Sequence[str] = (),
) -> tuple[str, str]:
    """(big, small) for a ladder pair. Big = more parameters (read from the GGUF, else the `params` label); with equal
    or unknown sizes, the harsher quant (fewer bits per weight) plays the "big, harsh quant" role; failing that, the
    model listed first in the ladder."""

    def bpw(model: str) -> float | None:
        f = facts.get(model)
        return f.bits_per_weight if f is not None else None

    pa, pb = _n_params(a, specs, facts), _n_params(b, specs, facts)
    if not same_size(a, b, specs, facts) and pa is not None and pb is not None:
        return (a, b) if pa > pb else (b, a)
    ba, bb = bpw(a), bpw(b)
    if ba is not None and bb is not None and ba != bb:
        return (a, b) if ba < bb else (b, a)
    rank = {m: i for i, m in enumerate(order)}
    return (a, b) if rank.get(a, 0) <= rank.get(b, 0) else (b, a)
