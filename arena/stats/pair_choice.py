"""Which pair of a ladder to play next: informative drawing that never starves a pair.

Chatbot Arena samples battles to shrink rating intervals fastest (Chiang et al. 2024, "Chatbot Arena", section 5:
sample a pair in proportion to how much one more vote on it would shrink the uncertainty). We do the same for what a
ladder reports: its ranks and where the big family crosses a smaller model both hinge on the differences between
models that are NEIGHBOURS in rating, so the target is the mean standard error of those differences. Why not the mean
error of all ratings: for 5 models on a complete set of pairs even the best possible allocation (the A-optimal design,
computed with the true ratings) beats uniform drawing on that by only 3-15% (see benchmarks/ladder_sim.py), while
neighbour differences are where votes on far-apart pairs (Q2_K vs Q8_0 of one model: p near 0 or 1, little
information per vote) are wasted. The covariance of the ratings is the inverse Fisher information, sum over pairs of
n_ab * p_ab * (1 - p_ab) * x x^T with x = e_a - e_b; one more vote on (a, b) adds p(1-p) x x^T, and Sherman-Morrison
gives every candidate's effect in O(n^2), so scoring all candidates costs microseconds. Measured (README,
"Benchmarks"): 10% fewer votes than uniform drawing to a given mean CI width of neighbour differences, where the best
possible allocation would save 21%; no saving on the mean width of all ratings, where even the best saves 3%.

Every pair with no votes yet is played once before any repeat. Never starve a pair: a share EXPLORE of the draws is uniform over the candidates, so every pair keeps at least
EXPLORE / len(candidates) of the rounds (the position-bias and per-category views need every pair now and then, and
the informative weights rest on current estimates that could be wrong).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from arena.stats.bradley_terry import PRIOR, fit_pairs
from arena.stats.counts import AggRow

EXPLORE = 0.2  # uniform share of the draws: each candidate pair gets at least EXPLORE / len(candidates)

Pair = tuple[str, str]


def pair_counts(rows: Iterable[AggRow], models: Sequence[str]) -> dict[Pair, tuple[float, float]]:
    """{(a, b): (a's wins with ties as half, votes)} over unordered pairs of `models`, a before b in `models` order."""
    order = {m: k for k, m in enumerate(models)}
    out: dict[Pair, tuple[float, float]] = {}
    for row in rows:
        if row.model_a not in order or row.model_b not in order or row.model_a == row.model_b or row.count <= 0:
            continue
        score = {"A": 1.0, "B": 0.0}.get(row.outcome, 0.5)
        a, b = row.model_a, row.model_b
        if order[a] > order[b]:
            a, b, score = b, a, 1.0 - score
        wins, total = out.get((a, b), (0.0, 0.0))
        out[(a, b)] = (wins + score * row.count, total + row.count)
    return out


def gains(models: Sequence[str], counts: Mapping[Pair, tuple[float, float]], candidates: Sequence[Pair]) -> list[float]:
    """For each candidate pair: how much one more vote on it would lower the mean standard error of the rating
    differences between neighbours in the current ranking (>= 0).

    counts: {(a, b): (a's wins, votes)} as from pair_counts (either orientation is accepted).
    Ratings and p come from the fit with PRIOR pseudo-wins per side of every ladder pair, so an unplayed ladder
    starts from "all equal" and the information matrix is never singular on the centred ratings.
    """
    index = {m: k for k, m in enumerate(models)}
    n = len(models)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    wins = np.full(len(pairs), PRIOR)
    total = np.full(len(pairs), 2 * PRIOR)
    slot = {p: k for k, p in enumerate(pairs)}
    for (a, b), (w, t) in counts.items():
        if a not in index or b not in index or a == b:
            continue
        i, j = index[a], index[b]
        if i > j:
            i, j, w = j, i, t - w
        wins[slot[(i, j)]] += w
        total[slot[(i, j)]] += t
    first = np.array([p[0] for p in pairs], dtype=np.intp)
    second = np.array([p[1] for p in pairs], dtype=np.intp)
    theta = fit_pairs(n, first, second, wins[None, :], total[None, :])[0]
    p = 1.0 / (1.0 + np.exp(-(theta[first] - theta[second])))
    var = p * (1.0 - p)
    x = np.zeros((len(pairs), n))
    x[np.arange(len(pairs)), first] = 1.0
    x[np.arange(len(pairs)), second] = -1.0
    info = (x * (total * var)[:, None]).T @ x
    centre = np.full((n, n), 1.0 / n)  # info + J/n is invertible and acts as the covariance on contrasts
    cov = np.linalg.inv(info + centre)
    order = np.argsort(-theta, kind="stable")
    contrasts = np.zeros((n - 1, n))  # each model against its neighbour in the current ranking
    contrasts[np.arange(n - 1), order[:-1]] = 1.0
    contrasts[np.arange(n - 1), order[1:]] = -1.0
    cc = contrasts @ cov  # (n-1, n)
    now_var = np.einsum("ka,ka->k", cc, contrasts)
    now = float(np.sqrt(now_var).mean())
    out = []
    for a, b in candidates:
        i, j = index[a], index[b]
        k = slot[(min(i, j), max(i, j))]
        u = cov @ x[k]
        # Sherman-Morrison: adding v x x^T to the information lowers c^T cov c by v (c^T u)^2 / (1 + v x^T u)
        after = now_var - var[k] * (contrasts @ u) ** 2 / (1.0 + var[k] * float(x[k] @ u))
        out.append(max(now - float(np.sqrt(np.maximum(after, 0.0)).mean()), 0.0))
    return out


def choose_pair(
    models: Sequence[str],
    counts: Mapping[Pair, tuple[float, float]] | Iterable[AggRow],
    candidates: Sequence[Pair],
    rng: random.Random,
    explore: float = EXPLORE,
) -> Pair:
    """The next pair to play, drawn from `candidates` (pairs of `models` that may run now, e.g. fit in memory together).

    counts: the votes so far, as pair_counts(...) gives them or simply as the store's aggregated rows.
    P(pair) = explore / len(candidates) + (1 - explore) * gain(pair) / sum(gains). One rng.random() call per draw,
    so a seeded rng gives a reproducible sequence. Raises ValueError on no candidates or a model outside `models`.
    """
    if not candidates:
        raise ValueError("choose_pair needs at least one candidate pair")
    known = set(models)
    for a, b in candidates:
        if a not in known or b not in known or a == b:
            raise ValueError(f"candidate pair ({a!r}, {b!r}) is not a pair of two different ladder models")
    if not isinstance(counts, Mapping):
        counts = pair_counts(counts, models)
    # A pair nobody has voted on yet is the least certain of all: play every one once before any repeat (uniformly
    # among them, so the order stays unpredictable). Only the first len(candidates) draws of a new ladder are affected.
    voted = {frozenset(p) for p, (_, t) in counts.items() if t > 0}
    unvoted = [p for p in candidates if frozenset(p) not in voted]
    if unvoted and len(unvoted) < len(candidates):
        return unvoted[_draw([1.0 / len(unvoted)] * len(unvoted), rng)]
    return candidates[_draw(probabilities(models, counts, candidates, explore), rng)]


def probabilities(
    models: Sequence[str], counts: Mapping[Pair, tuple[float, float]], candidates: Sequence[Pair], explore: float = EXPLORE
) -> list[float]:
    """The drawing probability of each candidate (see choose_pair); they sum to 1."""
    voted = any(t > 0 and a in models and b in models for (a, b), (_, t) in counts.items())
    # Without votes every model is rated equal and "neighbours" would follow list order: draw uniformly instead.
    g = np.array(gains(models, counts, candidates)) if len(candidates) > 1 and voted else np.ones(len(candidates))
    uniform = np.full(len(candidates), 1.0 / len(candidates))
    informative = g / g.sum() if g.sum() > 0 else uniform
    return ((1.0 - explore) * informative + explore * uniform).tolist()


def _draw(probs: Sequence[float], rng: random.Random) -> int:
    u = rng.random()
    acc = 0.0
    for k, p in enumerate(probs):
        acc += p
        if u < acc:
            return k
    return len(probs) - 1
