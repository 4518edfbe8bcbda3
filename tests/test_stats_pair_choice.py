"""Informative pair drawing for ladders: its gains against a brute-force recomputation, its floor, its determinism."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from arena.stats.bradley_terry import PRIOR, fit_pairs
from arena.stats.counts import AggRow
from arena.stats.pair_choice import EXPLORE, choose_pair, gains, pair_counts, probabilities

MODELS = ["q4", "q3", "q2", "small"]
ALL_PAIRS = [(a, b) for k, a in enumerate(MODELS) for b in MODELS[k + 1 :]]


def _counts() -> dict[tuple[str, str], tuple[float, float]]:
    # q4 ~ small > q3 >> q2, with uneven vote counts
    return {
        ("q4", "q3"): (30.0, 50.0), ("q4", "q2"): (38.0, 40.0), ("q4", "small"): (10.0, 20.0),
        ("q3", "q2"): (25.0, 30.0), ("q3", "small"): (8.0, 20.0), ("q2", "small"): (2.0, 30.0),
    }  # fmt: skip


def _brute_gain(counts, pair) -> float:
    """Mean SE of neighbour differences now minus after one more vote on `pair`, by explicit pseudo-inverses."""
    n = len(MODELS)
    idx = {m: k for k, m in enumerate(MODELS)}
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    wins = np.array([PRIOR + counts.get((MODELS[i], MODELS[j]), (0, 0))[0] for i, j in pairs])
    total = np.array([2 * PRIOR + counts.get((MODELS[i], MODELS[j]), (0, 0))[1] for i, j in pairs])
    theta = fit_pairs(n, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), wins[None], total[None])[0]

    def info(extra: tuple[int, int] | None) -> np.ndarray:
        m = np.zeros((n, n))
        for (i, j), t in zip(pairs, total):
            t = t + (1 if extra == (i, j) else 0)
            p = 1 / (1 + np.exp(theta[j] - theta[i]))
            x = np.zeros(n)
            x[i], x[j] = 1, -1
            m += t * p * (1 - p) * np.outer(x, x)
        return m

    order = np.argsort(-theta, kind="stable")

    def mean_se(m: np.ndarray) -> float:
        cov = np.linalg.pinv(m)
        return float(np.mean([np.sqrt(cov[a, a] + cov[b, b] - 2 * cov[a, b]) for a, b in zip(order[:-1], order[1:])]))

    i, j = sorted((idx[pair[0]], idx[pair[1]]))
    return mean_se(info(None)) - mean_se(info((i, j)))


def test_gains_match_a_brute_force_recomputation() -> None:
    counts = _counts()
    fast = gains(MODELS, counts, ALL_PAIRS)
    for pair, g in zip(ALL_PAIRS, fast):
        assert g == pytest.approx(_brute_gain(counts, pair), rel=1e-6, abs=1e-12)
    # the clear pair (q2 loses 28 of 30 to small) is worth less than the close, thinly voted q4-small
    assert fast[ALL_PAIRS.index(("q4", "small"))] > fast[ALL_PAIRS.index(("q2", "small"))]


def test_every_pair_keeps_its_floor_and_probabilities_sum_to_one() -> None:
    probs = probabilities(MODELS, _counts(), ALL_PAIRS)
    assert sum(probs) == pytest.approx(1.0)
    assert min(probs) >= EXPLORE / len(ALL_PAIRS) - 1e-12
    # draws follow the probabilities (chi-square-free check: each within 5 standard errors)
    rng = random.Random(4)
    n = 3_000
    seen = Counter(choose_pair(MODELS, _counts(), ALL_PAIRS, rng) for _ in range(n))
    for pair, p in zip(ALL_PAIRS, probs):
        assert abs(seen[pair] / n - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_empty_ladder_is_drawn_uniformly_and_rows_are_accepted() -> None:
    probs = probabilities(MODELS, {}, ALL_PAIRS)
    assert probs == pytest.approx([1 / len(ALL_PAIRS)] * len(ALL_PAIRS))
    rows = [AggRow("q3", "q4", "B", "code", 30), AggRow("q4", "q3", "B", "math", 20), AggRow("q4", "q3", "tie", "math", 4)]
    assert pair_counts(rows, MODELS) == {("q4", "q3"): (30 + 0 + 2, 54)}
    rows.append(AggRow("q4", "other", "A", "code", 99))  # a model outside the ladder is ignored
    assert choose_pair(MODELS, rows, ALL_PAIRS, random.Random(1)) == choose_pair(MODELS, pair_counts(rows, MODELS), ALL_PAIRS, random.Random(1))


def test_seeded_draws_repeat_and_only_candidates_are_drawn() -> None:
    allowed = [("q4", "small"), ("q2", "q3")]  # e.g. the only pairs that fit in memory together
    one = [choose_pair(MODELS, _counts(), allowed, random.Random(7)) for _ in range(5)]
    two = [choose_pair(MODELS, _counts(), allowed, random.Random(7)) for _ in range(5)]
    assert one == two and set(one) <= set(allowed)
    with pytest.raises(ValueError):
        choose_pair(MODELS, _counts(), [], random.Random(0))
    with pytest.raises(ValueError):
        choose_pair(MODELS, _counts(), [("q4", "stranger")], random.Random(0))


def test_every_unvoted_pair_is_played_before_any_repeat() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        counts: dict[tuple[str, str], tuple[float, float]] = {}
        played = []
        for _ in range(len(ALL_PAIRS)):
            a, b = choose_pair(MODELS, counts, ALL_PAIRS, rng)
            played.append(frozenset((a, b)))
            w, t = counts.get((a, b), (0.0, 0.0))
            counts[(a, b)] = (w + 1.0, t + 1.0)  # the first model won this vote
        assert len(set(played)) == len(ALL_PAIRS), (seed, played)
