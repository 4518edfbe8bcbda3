"""Bradley-Terry ratings on the Elo scale for any number of models, with seeded bootstrap CIs.

Model: P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400)), the scale FastChat's leaderboard uses. Ratings are
anchored so their mean is 1000. A tie counts as half a win for each side; both-bad counts as a tie too (FastChat's
"tie (bothbad)"). Which pane a model sat in is ignored here (position bias is reported separately).

Fitting: Newton's method on the log-likelihood plus a small ridge penalty (RIDGE/2 * sum(theta**2), theta in
natural-log strength units, about the weight of 1/100 of a vote). Why: when a model never loses, the unpenalized MLE
is at infinity; the penalty keeps it finite (a very large gap: ~1000 Elo for 10 wins out of 10) and fixes the mean.
On ordinary data it moves ratings by a relative ~RIDGE / (votes * p * (1-p)): under 0.1 Elo for 100+ votes.

Bootstrap: the aggregated counts per (model_a, model_b, outcome) cell are resampled multinomially with the same total,
which is exactly resampling votes with replacement, in memory proportional to the number of cells, not votes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from arena.stats.counts import AggRow

ELO_SCALE = 400.0 / math.log(10.0)  # natural-log strength -> Elo points
ANCHOR = 1000.0
RIDGE = 0.01
DEFAULT_ROUNDS = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    ci_low: float | None  # 2.5% bootstrap percentile; None without bootstrap
    ci_high: float | None
    rank: int  # 1 + number of models whose CI lower bound is above this model's upper bound
    votes: int  # votes this model took part in

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Cells:
    """Aggregated counts in array form: each cell is (i, j, score_i) with a count; score_i is 1, 0 or 0.5."""

    models: list[str]
    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    count: np.ndarray


def _cells(rows: Iterable[AggRow], models: Sequence[str] | None) -> _Cells:
    merged: dict[tuple[str, str, float], int] = {}
    seen: dict[str, None] = dict.fromkeys(models) if models else {}
    for row in rows:
        if row.model_a == row.model_b or row.count <= 0:
            continue  # a model against itself carries no information about ratings
        if models is not None and (row.model_a not in seen or row.model_b not in seen):
            continue
        if row.outcome == "A":
            score = 1.0
        elif row.outcome == "B":
            score = 0.0
        elif row.outcome in ("tie", "both_bad"):
            score = 0.5
        else:
            raise ValueError(f"unknown outcome {row.outcome!r} in an aggregated row")
        seen.setdefault(row.model_a)
        seen.setdefault(row.model_b)
        key = (row.model_a, row.model_b, score)
        merged[key] = merged.get(key, 0) + row.count
    names = list(seen)
    index = {name: k for k, name in enumerate(names)}
    keys = list(merged)
    return _Cells(
        models=names,
        i=np.array([index[a] for a, _, _ in keys], dtype=np.intp),
        j=np.array([index[b] for _, b, _ in keys], dtype=np.intp),
        score=np.array([s for _, _, s in keys], dtype=np.float64),
        count=np.array([merged[k] for k in keys], dtype=np.float64),
    )


def _fit(n_models: int, i: np.ndarray, j: np.ndarray, score: np.ndarray, count: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Penalized MLE of natural-log strengths (mean zero) by damped Newton steps; the problem is strictly convex."""
    theta = np.zeros(n_models)
    if n_models < 2 or count.sum() == 0:
        return theta
    wins = count * score  # i's (fractional) wins in each cell

    def loss(t: np.ndarray) -> float:
        d = t[i] - t[j]
        # -[s log sigma(d) + (1-s) log sigma(-d)] per vote, computed stably with logaddexp
        return float((wins * np.logaddexp(0.0, -d) + (count - wins) * np.logaddexp(0.0, d)).sum() + 0.5 * ridge * (t @ t))

    current = loss(theta)
    for _ in range(100):
        d = theta[i] - theta[j]
        p = 0.5 * (1.0 + np.tanh(0.5 * d))  # sigma(d), overflow-free
        resid = wins - count * p  # d(loglik)/d(theta_i) contribution
        grad = -(np.bincount(i, resid, n_models) - np.bincount(j, resid, n_models)) + ridge * theta
        w = count * p * (1.0 - p)
        off = np.bincount(i * n_models + j, w, n_models * n_models).reshape(n_models, n_models)
        off = off + off.T
        hess = np.diag(off.sum(axis=1) + ridge) - off
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while True:  # backtracking: Newton can overshoot when a model (nearly) never loses
            candidate = theta - scale * step
            new = loss(candidate)
            if new <= current or scale < 1e-8:
                break
            scale *= 0.5
        theta, previous, current = candidate, current, new
        if float(np.abs(scale * step).max()) < 1e-10 or previous - current < 1e-13 * max(1.0, abs(current)):
            break
    return theta - theta.mean()


def _to_elo(theta: np.ndarray) -> np.ndarray:
    return ANCHOR + ELO_SCALE * (theta - theta.mean())


def bt_ratings(rows: Iterable[AggRow], models: Sequence[str] | None = None, ridge: float = RIDGE) -> dict[str, float]:
    """Point estimates only: {model: Elo-scale rating}, mean 1000. `models` restricts (and orders) the models used."""
    cells = _cells(rows, models)
    if not cells.models:
        return {}
    theta = _fit(len(cells.models), cells.i, cells.j, cells.score, cells.count, ridge)
    return dict(zip(cells.models, _to_elo(theta).tolist()))


def bootstrap_ratings(
    rows: Iterable[AggRow],
    models: Sequence[str] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    ridge: float = RIDGE,
) -> list[Rating]:
    """Ratings with 95% bootstrap percentile intervals, sorted best first. Same seed and rows: same result.

    rounds == 0 skips the bootstrap: ci_low/ci_high are None and ranks follow the point ratings.
    """
    cells = _cells(rows, models)
    n_models = len(cells.models)
    if n_models == 0:
        return []
    point = _to_elo(_fit(n_models, cells.i, cells.j, cells.score, cells.count, ridge))
    votes = np.bincount(cells.i, cells.count, n_models) + np.bincount(cells.j, cells.count, n_models)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    total = int(cells.count.sum())
    if rounds > 0 and total > 0 and n_models >= 2:
        rng = np.random.default_rng(seed)
        probs = cells.count / cells.count.sum()
        samples = np.empty((rounds, n_models))
        for r in range(rounds):
            resampled = rng.multinomial(total, probs).astype(np.float64)
            samples[r] = _to_elo(_fit(n_models, cells.i, cells.j, cells.score, resampled, ridge))
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    if low is not None and high is not None:
        ranks = rank_by_overlap(low.tolist(), high.tolist())
    else:
        ranks = rank_by_overlap(point.tolist(), point.tolist())  # zero-width intervals: plain ordering
    out = [
        Rating(
            model=cells.models[k],
            rating=float(point[k]),
            ci_low=float(low[k]) if low is not None else None,
            ci_high=float(high[k]) if high is not None else None,
            rank=ranks[k],
            votes=int(votes[k]),
        )
        for k in range(n_models)
    ]
    return sorted(out, key=lambda r: (r.rank, -r.rating, r.model))


def rank_by_overlap(lows: Sequence[float], highs: Sequence[float]) -> list[int]:
    """FastChat's rule: rank = 1 + number of models whose lower bound is above this model's upper bound.

    Models whose intervals overlap share a rank, so a rank never claims more than the data supports.
    """
    return [1 + sum(1 for lo in lows if lo > hi) for hi in highs]
