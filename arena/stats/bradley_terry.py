"""Bradley-Terry ratings on the Elo scale for any number of models, with seeded bootstrap CIs.

Model: P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400)), the scale FastChat's leaderboard uses. Ratings are
anchored so their mean is 1000. A tie counts as half a win for each side; both-bad counts as a tie too (FastChat's
"tie (bothbad)"). Which pane a model sat in is ignored here (position bias is reported separately).

Point ratings: the maximum-likelihood estimate whenever it exists, which is exactly what FastChat's `compute_bt` finds
(a TINY ridge only pins the mean). The MLE exists iff the "scored against" graph is strongly connected (Zermelo 1929,
Ford 1957): for every split of the models into two groups, each group took at least a tie off the other. When it is
not (one model won every decided vote, or a group never lost to another), the MLE is at infinity and a fitted number
would be an artefact of the optimizer (the old ridge gave `big` 1340 to `small` 660 after ONE vote). Then we report the
posterior mode under a weak prior of equal strength: PRIOR pseudo-votes won by each side of every compared pair
(Jeffreys-style 1/2; like FastChat's regularized fits, it only matters when data are thin or separable).

Intervals: a Bayesian bootstrap (Rubin 1981) over the aggregated cells: each (model_a, model_b, outcome) cell gets a
Gamma(count + prior, 1) weight (normalized, that is Dirichlet(counts + prior): the posterior of the cell shares), plus
the PRIOR pseudo-vote cells above, always. With many votes this is the ordinary vote bootstrap (same mean and
covariance of the cell shares); with few votes the prior keeps every outcome possible, so a pair seen once cannot get
a zero-width interval or separate ranks (the degenerate case: a multinomial resample of a single cell is always the
same cell). Memory is proportional to the number of cells, never the number of votes, and the replicates are fitted
together in one batched Newton solve.
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
TINY = 1e-7  # ridge that only fixes the mean (and the level of a never-compared group): moves differences by ~1e-5 Elo
RIDGE = TINY  # kept for callers that pass ridge=RIDGE
PRIOR = 0.5  # pseudo-votes won by EACH side of each compared pair (prior of equal strength)
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
    used = {name for a, b, _ in merged for name in (a, b)}
    names = [name for name in seen if name in used]  # a model without votes has no rating (not a fake 1000 +- 0)
    index = {name: k for k, name in enumerate(names)}
    keys = list(merged)
    return _Cells(
        models=names,
        i=np.array([index[a] for a, _, _ in keys], dtype=np.intp),
        j=np.array([index[b] for _, b, _ in keys], dtype=np.intp),
        score=np.array([s for _, _, s in keys], dtype=np.float64),
        count=np.array([merged[k] for k in keys], dtype=np.float64),
    )


@dataclass(frozen=True)
class _Pairs:
    """Cells folded onto unordered pairs: a (rounds x cells) weight matrix times `share` gives the first model's
    (fractional) wins per pair, times `member` the pair's vote count."""

    first: np.ndarray  # (P,) index of each pair's first model
    second: np.ndarray  # (P,)
    share: np.ndarray  # (C, P): the cell's score for the pair's first model where the cell belongs to the pair, else 0
    member: np.ndarray  # (C, P): 1 where the cell belongs to the pair


def _pairs(cells: _Cells) -> _Pairs:
    keys: dict[tuple[int, int], int] = {}
    for a, b in zip(cells.i.tolist(), cells.j.tolist()):
        keys.setdefault((min(a, b), max(a, b)), len(keys))
    share = np.zeros((len(cells.i), len(keys)))
    member = np.zeros_like(share)
    for c, (a, b, s) in enumerate(zip(cells.i.tolist(), cells.j.tolist(), cells.score.tolist())):
        k = keys[(min(a, b), max(a, b))]
        member[c, k] = 1.0
        share[c, k] = s if a < b else 1.0 - s
    pairs = np.array(list(keys), dtype=np.intp).reshape(-1, 2)
    return _Pairs(first=pairs[:, 0], second=pairs[:, 1], share=share, member=member)


def fit_pairs(
    n_models: int,
    first: np.ndarray,
    second: np.ndarray,
    wins: np.ndarray,
    total: np.ndarray,
    ridge: float = TINY,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Penalized MLE of natural-log strengths (each row mean zero) for R data sets at once, by damped Newton steps.

    wins, total: (R, P) per pair, the first model's (fractional) wins and the pair's votes. Returns (R, n_models).
    The objective is strictly convex (ridge > 0), so Newton with backtracking converges from any start; bootstrap
    replicates start from the point estimate (`start`), which they scatter around, and need two or three steps.
    """
    wins = np.atleast_2d(np.asarray(wins, dtype=np.float64))
    total = np.atleast_2d(np.asarray(total, dtype=np.float64))
    rounds = wins.shape[0]
    theta = np.zeros((rounds, n_models))
    if n_models < 2 or len(first) == 0:
        return theta
    if start is not None:
        theta = theta + start
    incidence = np.zeros((len(first), n_models))  # x_k = e_first - e_second
    incidence[np.arange(len(first)), first] = 1.0
    incidence[np.arange(len(first)), second] = -1.0
    outer = np.einsum("ka,kb->kab", incidence, incidence).reshape(len(first), -1)  # x_k x_k^T, flattened
    eye = ridge * np.eye(n_models)
    losses = total - wins

    def loss(t: np.ndarray) -> np.ndarray:
        d = t @ incidence.T  # (R, P) strength differences
        # -[w log sigma(d) + (n-w) log sigma(-d)] = n softplus(-d) + (n-w) d, since softplus(d) = softplus(-d) + d
        return (total * np.logaddexp(0.0, -d) + losses * d).sum(axis=1) + 0.5 * ridge * (t * t).sum(axis=1)

    current = loss(theta)
    for _ in range(100):
        d = theta @ incidence.T
        p = 0.5 * (1.0 + np.tanh(0.5 * d))  # sigma(d), overflow-free
        grad = -((wins - total * p) @ incidence) + ridge * theta
        hess = ((total * p * (1.0 - p)) @ outer).reshape(rounds, n_models, n_models) + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        scale = np.ones(rounds)
        for _ in range(60):  # backtracking per data set: Newton can overshoot when a model (nearly) never loses
            candidate = theta - scale[:, None] * step
            new = loss(candidate)
            worse = new > current + 1e-12 * np.maximum(1.0, np.abs(current))
            if not worse.any():
                break
            scale = np.where(worse, 0.5 * scale, scale)
        # Convergence on the centred step: along "all ratings + c" the Hessian is only the TINY ridge, so rounding noise
        # in the gradient (large vote counts) moves the mean by ~1e-3 per step forever; the mean is removed anyway.
        moved_step = scale[:, None] * step
        moved = np.abs(moved_step - moved_step.mean(axis=1, keepdims=True)).max()
        candidate = candidate - candidate.mean(axis=1, keepdims=True)
        theta, current = candidate, loss(candidate)
        if moved < 1e-9:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def mle_exists(n_models: int, first: np.ndarray, second: np.ndarray, wins: np.ndarray, total: np.ndarray) -> bool:
    """Ford's condition: the graph with an edge u -> v whenever u took any score (a win or a tie) off v is strongly
    connected. Then, and only then, the Bradley-Terry likelihood has a finite maximum."""
    if n_models < 2:
        return True
    edges: dict[int, set[int]] = {k: set() for k in range(n_models)}
    back: dict[int, set[int]] = {k: set() for k in range(n_models)}
    for a, b, w, n in zip(first.tolist(), second.tolist(), wins.tolist(), total.tolist()):
        if w > 0:
            edges[a].add(b)
            back[b].add(a)
        if n - w > 0:
            edges[b].add(a)
            back[a].add(b)

    def reach(graph: dict[int, set[int]]) -> int:
        seen, todo = {0}, [0]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return len(seen)

    return reach(edges) == n_models and reach(back) == n_models


@dataclass(frozen=True)
class Fit:
    """Point ratings and bootstrap replicates on the Elo scale, for `models` in this order."""

    models: list[str]
    point: np.ndarray  # (n,)
    samples: np.ndarray | None  # (rounds, n), None without bootstrap
    votes: np.ndarray  # (n,) votes each model took part in
    mle: bool  # True: point ratings are the MLE; False: the data are separable and they are the prior's posterior mode

    def interval(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.samples is None:
            return None
        low, high = np.percentile(self.samples, [2.5, 97.5], axis=0)
        return low, high


def _to_elo(theta: np.ndarray) -> np.ndarray:
    return ANCHOR + ELO_SCALE * (theta - theta.mean(axis=-1, keepdims=True))


def fit(
    rows: Iterable[AggRow],
    models: Sequence[str] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    ridge: float = TINY,
    prior: float = PRIOR,
) -> Fit:
    """Ratings of the models in `rows` (restricted to `models` when given) and `rounds` Bayesian-bootstrap replicates."""
    cells = _cells(rows, models)
    n_models = len(cells.models)
    if n_models == 0:
        return Fit(models=[], point=np.zeros(0), samples=None, votes=np.zeros(0, dtype=np.int64), mle=True)
    votes = np.bincount(cells.i, cells.count, n_models) + np.bincount(cells.j, cells.count, n_models)
    pairs = _pairs(cells)
    wins = cells.count @ pairs.share
    total = cells.count @ pairs.member
    exists = mle_exists(n_models, pairs.first, pairs.second, wins, total)
    if exists:
        theta = fit_pairs(n_models, pairs.first, pairs.second, wins, total, ridge)[0]
    else:  # the MLE is at infinity: the posterior mode under PRIOR pseudo-wins for each side of each compared pair
        theta = fit_pairs(n_models, pairs.first, pairs.second, wins + prior, total + 2 * prior, ridge)[0]
    samples = None
    if rounds > 0 and n_models >= 2 and cells.count.sum() > 0:
        rng = np.random.default_rng(seed)
        # Dirichlet(counts + prior) over cells, drawn as independent Gamma(shape, 1) weights. A sum of Gammas is a Gamma
        # of the summed shapes, so cells with the same pair and the same score for the pair's first model are merged
        # first (both pane orders, all categories), and each side's prior goes into its win cell: identical in
        # distribution, and 3 draws per pair instead of one per cell plus two per pair.
        pair_of = np.argmax(pairs.member, axis=1)  # each cell's pair
        score_first = np.where(cells.i == pairs.first[pair_of], cells.score, 1.0 - cells.score)
        n_pairs = len(pairs.first)
        won = np.bincount(pair_of, cells.count * (score_first == 1.0), n_pairs) + prior
        lost = np.bincount(pair_of, cells.count * (score_first == 0.0), n_pairs) + prior
        tied = np.bincount(pair_of, cells.count * (score_first == 0.5), n_pairs)
        g_won = rng.standard_gamma(won, size=(rounds, n_pairs))
        g_lost = rng.standard_gamma(lost, size=(rounds, n_pairs))
        g_tied = rng.standard_gamma(np.maximum(tied, 1e-300), size=(rounds, n_pairs)) * (tied > 0)
        boot_wins = g_won + 0.5 * g_tied
        boot_total = g_won + g_lost + g_tied
        samples = _to_elo(fit_pairs(n_models, pairs.first, pairs.second, boot_wins, boot_total, ridge, start=theta))
    return Fit(models=cells.models, point=_to_elo(theta), samples=samples, votes=votes.astype(np.int64), mle=exists)


def bt_ratings(rows: Iterable[AggRow], models: Sequence[str] | None = None, ridge: float = TINY, prior: float = PRIOR) -> dict[str, float]:
    """Point estimates only: {model: Elo-scale rating}, mean 1000. `models` restricts (and orders) the models used."""
    result = fit(rows, models, rounds=0, ridge=ridge, prior=prior)
    return dict(zip(result.models, result.point.tolist()))


def bootstrap_ratings(
    rows: Iterable[AggRow],
    models: Sequence[str] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    ridge: float = TINY,
    prior: float = PRIOR,
) -> list[Rating]:
    """Ratings with 95% bootstrap percentile intervals, sorted best first. Same seed and rows: same result.

    rounds == 0 skips the bootstrap: ci_low/ci_high are None and ranks follow the point ratings.
    """
    return ratings_of(fit(rows, models, rounds=rounds, seed=seed, ridge=ridge, prior=prior))


def ratings_of(result: Fit) -> list[Rating]:
    """A Fit as Rating records, best first, ranked by interval overlap."""
    if not result.models:
        return []
    point = result.point
    bounds = result.interval()
    if bounds is not None:
        low, high = bounds
        ranks = rank_by_overlap(low.tolist(), high.tolist())
    else:
        ranks = rank_by_overlap(point.tolist(), point.tolist())  # zero-width intervals: plain ordering
    out = [
        Rating(
            model=result.models[k],
            rating=float(point[k]),
            ci_low=float(bounds[0][k]) if bounds is not None else None,
            ci_high=float(bounds[1][k]) if bounds is not None else None,
            rank=ranks[k],
            votes=int(result.votes[k]),
        )
        for k in range(len(result.models))
    ]
    return sorted(out, key=lambda r: (r.rank, -r.rating, r.model))


def rank_by_overlap(lows: Sequence[float], highs: Sequence[float]) -> list[int]:
    """FastChat's rule: rank = 1 + number of models whose lower bound is above this model's upper bound.

    Models whose intervals overlap share a rank, so a rank never claims more than the data supports.
    """
    return [1 + sum(1 for lo in lows if lo > hi) for hi in highs]
