"""Pure rules of a ladder: which pair to play next, and which model of a pair is "big". No I/O, no engines.

Pair choice is uncertainty-driven, as Chatbot Arena samples battles to shrink rating intervals fastest: the votes on a
pair so far give a Beta posterior of "the first model wins" (ties and both-bad count half to each side, as in the
Bradley-Terry fit); a pair is drawn with probability proportional to that posterior's variance, so pairs whose outcome is
least certain come up most. Random, not argmax: a voter who could predict the next pair from the last votes would no
longer be blind. Never starving a pair: every pair nobody voted on yet comes first, and no pair's weight drops below
FLOOR_SHARE of the largest one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from arena.config.types import ModelSpec
from arena.records import ModelFacts

FLOOR_SHARE = 0.15  # a settled pair still gets at least this fraction of the most uncertain pair's weight
DECIDED_FOR_FIRST = {"A": 1.0, "B": 0.0, "tie": 0.5, "both_bad": 0.5}  # outcome -> share won by the left model


class CountRow(Protocol):
    """The shape of arena.stats.counts.AggRow (any object with these attributes)."""

    model_a: str
    model_b: str
    outcome: str
    count: int


@dataclass(frozen=True)
class PairTally:
    first: str
    second: str
    votes: int = 0
    first_wins: float = 0.0  # ties and both-bad count half

    @property
    def second_wins(self) -> float:
        return self.votes - self.first_wins

    @property
    def posterior_variance(self) -> float:
        """Variance of Beta(1 + first_wins, 1 + second_wins): the uncertainty of P(first beats second)."""
        a, b = 1.0 + self.first_wins, 1.0 + self.second_wins
        return a * b / ((a + b) ** 2 * (a + b + 1.0))


def tally(counts: Iterable[CountRow], pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], PairTally]:
    """Votes per unordered pair, whatever side each model sat on and whichever matchup or ladder the vote came from."""
    key_of = {frozenset(p): p for p in pairs}
    votes: dict[tuple[str, str], int] = {p: 0 for p in pairs}
    wins: dict[tuple[str, str], float] = {p: 0.0 for p in pairs}
    for row in counts:
        pair = key_of.get(frozenset((row.model_a, row.model_b)))
        if pair is None or row.model_a == row.model_b or row.outcome not in DECIDED_FOR_FIRST:
            continue
        left_share = DECIDED_FOR_FIRST[row.outcome]
        share = left_share if row.model_a == pair[0] else 1.0 - left_share
        votes[pair] += row.count
        wins[pair] += share * row.count
    return {p: PairTally(p[0], p[1], votes[p], wins[p]) for p in pairs}


def pair_weights(tallies: Mapping[tuple[str, str], PairTally]) -> dict[tuple[str, str], float]:
    """The drawing weight of each pair (not normalized); see the module docstring."""
    variances = {p: t.posterior_variance for p, t in tallies.items()}
    top = max(variances.values(), default=0.0)
    return {p: max(v, FLOOR_SHARE * top) for p, v in variances.items()}


def choose_pair(
    models: list[str],
    counts: Sequence[CountRow],
    candidates: list[tuple[str, str]],
    rng: random.Random,
) -> tuple[str, str]:
    """The pair to play next among `candidates` (pairs of ids from `models` that can run together).

    Same signature as arena.stats.pair_choice.choose_pair, so either can serve a ladder session.
    """
    if not candidates:
        raise ValueError("no pair to choose from")
    known = set(models)
    pairs = [p for p in candidates if p[0] in known and p[1] in known] or list(candidates)
    tallies = tally(counts, pairs)
    unvoted = [p for p in pairs if tallies[p].votes == 0]
    if unvoted:
        return rng.choice(unvoted)
    weights = pair_weights(tallies)
    return rng.choices(pairs, weights=[weights[p] for p in pairs], k=1)[0]


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
