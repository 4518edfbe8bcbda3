"""A mean over votes when votes come in clusters (one cluster per voter): cluster-robust and cluster-bootstrap intervals.

Votes from one person are not independent: a voter who likes terse answers prefers the terse model again and again. An
interval that treats every vote as independent ("iid") is then too narrow, and more so the more votes each voter casts.
Two standard fixes, both here:

- **Cluster-robust (CR1)**, the sandwich estimator of Liang & Zeger (1986) with Stata's small-sample factor, as in
  statsmodels' `OLS(...).fit(cov_type="cluster")`. For the mean of per-vote scores s_i (the intercept of an
  intercept-only regression) it reduces to

      V_CR1 = G / (G - 1) * sum_g (S_g - n_g * mean)^2 / N^2       (S_g, n_g: score total and votes of voter g)

  (the usual (N - 1) / (N - K) factor is 1 with one parameter). The interval uses Student's t with G - 1 degrees of
  freedom, as Stata does and statsmodels does with `use_t=True`: with few voters the normal quantile is too small.
- **Cluster bootstrap**: resample whole voters with replacement, recompute the pooled mean (total score / total votes),
  take the 2.5% and 97.5% percentiles. Seeded.

Both need many clusters to be accurate (CR intervals are known to be too narrow with fewer than ~20-50 clusters, Cameron
& Miller 2015, "A Practitioner's Guide to Cluster-Robust Inference"; with G voters the bootstrap has at most
C(2G-1, G) distinct resamples), so the result carries `caution` text below 20 voters, a strong one below 5, and the
clustered numbers are not computed at all for one voter.

The design effect is V_CR1 / V_iid: how many times larger the variance of the mean really is than the iid formula says;
N / design effect is the effective number of independent votes.

Pure maths on per-cluster totals (n_g, S_g and the sum of squared scores Q_g): no per-vote data needed. scipy is not a
dependency, so the t quantile is computed here (exactly for small df, by the Cornish-Fisher expansion for large df).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.stats.intervals import Z95

MIN_CLUSTERS = 2  # below this a clustered interval does not exist (G / (G - 1), and zero degrees of freedom)
FEW_CLUSTERS = 5  # below this it exists but says little: we say so
SOME_CLUSTERS = 20  # below this a milder note: CR intervals run somewhat narrow with few clusters (Cameron & Miller 2015)
DEFAULT_BOOTSTRAP_ROUNDS = 2000
_EXACT_T_DF = 100  # t quantile: the exact finite series up to this many df, the Cornish-Fisher expansion above


# -- Student's t -------------------------------------------------------------------------------------------------------
def _t_central_probability(t: float, df: int) -> float:
    """P(|T| <= t) for T ~ Student's t with integer df >= 1 (Abramowitz & Stegun 26.7.3 and 26.7.4, exact series)."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2 == 1:  # odd: (2/pi) [theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)], df - 2 powers of cos
        total, term = 0.0, 1.0
        if df > 1:
            total = 1.0
            for k in range(1, (df - 1) // 2):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
            total *= s * c
        return (2.0 / math.pi) * (theta + total)
    total, term = 1.0, 1.0  # even: sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...], up to cos^(df - 2)
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return s * total


def t_quantile_two_sided(df: int, level: float = 0.95) -> float:
    """The t with P(|T| <= t) = level for Student's t with df degrees of freedom (df >= 1): 12.706 at df 1 for 95%."""
    if df < 1:
        raise ValueError(f"need df >= 1, got {df}")
    if df > _EXACT_T_DF:
        # Cornish-Fisher expansion in 1/df (A&S 26.7.5); at df > 100 its error is far below 1e-8.
        z = _normal_quantile(0.5 + level / 2.0)
        g1 = (z**3 + z) / 4.0
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
        g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160.0
        return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
    lo, hi = 0.0, 1.0
    while _t_central_probability(hi, df) < level:
        hi *= 2.0
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if _t_central_probability(mid, df) < level:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _normal_quantile(p: float) -> float:
    """Standard normal quantile by bisection on erf (only used for the large-df t; 1.959964 at 0.975)."""
    if abs(p - 0.975) < 1e-15:
        return Z95
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


# -- the clustered mean ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cluster:
    """One voter's votes, reduced to what a mean and its variances need: count, sum of scores, sum of squared scores."""

    n: int
    total: float
    total_sq: float


@dataclass(frozen=True)
class ClusteredMean:
    """The pooled mean of per-vote scores with an iid interval, a cluster-robust one and a cluster bootstrap.

    Intervals are clipped to [0, 1] (a share cannot leave it); the standard errors are not. None where undefined:
    no votes; fewer than MIN_CLUSTERS clusters (clustered numbers); every vote scored the same (design effect 0/0).
    """

    estimate: float | None
    votes: int
    clusters: int
    iid_se: float | None  # OLS standard error: sqrt(sum (s_i - mean)^2 / (N - 1) / N)
    iid_ci: tuple[float, float] | None  # mean +- t(N - 1) * iid_se
    cluster_se: float | None  # CR1
    cluster_ci: tuple[float, float] | None  # mean +- t(G - 1) * cluster_se
    cluster_df: int | None  # G - 1
    design_effect: float | None  # cluster_se^2 / iid_se^2
    effective_votes: float | None  # votes / design_effect
    bootstrap_ci: tuple[float, float] | None  # percentile interval from resampling whole clusters
    bootstrap_se: float | None
    bootstrap_rounds: int
    bootstrap_used: int  # rounds whose resample had votes (for a mean over decided votes, some may have none)
    seed: int
    caution: str | None  # few clusters: what the clustered numbers can and cannot say

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate, "votes": self.votes, "clusters": self.clusters,
            "iid_se": self.iid_se, "iid_ci": _list(self.iid_ci),
            "cluster_se": self.cluster_se, "cluster_ci": _list(self.cluster_ci), "cluster_df": self.cluster_df,
            "design_effect": self.design_effect, "effective_votes": self.effective_votes,
            "bootstrap_ci": _list(self.bootstrap_ci), "bootstrap_se": self.bootstrap_se,
            "bootstrap_rounds": self.bootstrap_rounds, "bootstrap_used": self.bootstrap_used, "seed": self.seed,
            "caution": self.caution,
        }  # fmt: skip


def _list(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def _clip(lo: float, hi: float) -> tuple[float, float]:
    return max(0.0, lo), min(1.0, hi)


def distinct_resamples(clusters: int) -> int:
    """How many different multisets of G clusters resampling G with replacement can give: C(2G - 1, G)."""
    return math.comb(2 * clusters - 1, clusters) if clusters > 0 else 0


def caution_text(clusters: int) -> str | None:
    """What to say about an interval built from this many voters, or None when there are enough to take it at face value."""
    if clusters < MIN_CLUSTERS:
        return (
            f"votes from {clusters} voter{'s' * (clusters != 1)}: a clustered interval needs votes from at least "
            f"{MIN_CLUSTERS} voters, so only the iid interval is given (it assumes votes are independent)"
        )
    if clusters < FEW_CLUSTERS:
        return (
            f"only {clusters} voters: clustered intervals from fewer than {FEW_CLUSTERS} voters say little (the "
            f"cluster-robust one rests on {clusters - 1} degree{'s' * (clusters != 2)} of freedom, the voter bootstrap "
            f"has only {distinct_resamples(clusters)} distinct resamples); read them as a rough indication"
        )
    if clusters < SOME_CLUSTERS:
        return (
            f"{clusters} voters: with fewer than {SOME_CLUSTERS} voters clustered intervals tend to be somewhat too "
            "narrow (the t quantile with voters - 1 df corrects part of it)"
        )
    return None


def clustered_mean(
    clusters: Sequence[Cluster], *, rounds: int = DEFAULT_BOOTSTRAP_ROUNDS, seed: int = 0, level: float = 0.95
) -> ClusteredMean:
    """The pooled mean of the scores in `clusters` (empty clusters are dropped), with iid, CR1 and bootstrap intervals."""
    used = [c for c in clusters if c.n > 0]
    g = len(used)
    n = sum(c.n for c in used)
    caution = caution_text(g)
    if n == 0:
        return ClusteredMean(None, 0, 0, None, None, None, None, None, None, None, None, None, rounds, 0, seed, caution)
    total = sum(c.total for c in used)
    mean = total / n
    # Residual sum of squares sum (s_i - mean)^2 = sum s_i^2 - N mean^2 (clamped: rounding can dip below 0).
    ssr = max(sum(c.total_sq for c in used) - n * mean * mean, 0.0)
    iid_se = iid_ci = None
    if n >= 2:
        iid_se = math.sqrt(ssr / (n - 1) / n)
        half = t_quantile_two_sided(n - 1, level) * iid_se
        iid_ci = _clip(mean - half, mean + half)
    cluster_se = cluster_ci = df = deff = eff = None
    boot_ci = boot_se = None
    boot_used = 0
    if g >= MIN_CLUSTERS:
        meat = sum((c.total - c.n * mean) ** 2 for c in used)
        cluster_se = math.sqrt(g / (g - 1) * meat) / n
        df = g - 1
        half = t_quantile_two_sided(df, level) * cluster_se
        cluster_ci = _clip(mean - half, mean + half)
        if iid_se is not None and iid_se > 0.0:
            deff = (cluster_se / iid_se) ** 2
            eff = n / deff if deff > 0.0 else None
        if rounds > 0:
            boot_ci, boot_se, boot_used = _bootstrap(used, rounds, seed, level)
    return ClusteredMean(
        estimate=mean, votes=n, clusters=g, iid_se=iid_se, iid_ci=iid_ci, cluster_se=cluster_se, cluster_ci=cluster_ci,
        cluster_df=df, design_effect=deff, effective_votes=eff, bootstrap_ci=boot_ci, bootstrap_se=boot_se,
        bootstrap_rounds=rounds, bootstrap_used=boot_used, seed=seed, caution=caution,
    )  # fmt: skip


def bootstrap_means(clusters: Sequence[Cluster], rounds: int, seed: int) -> np.ndarray:
    """The pooled mean of each of `rounds` resamples of whole clusters (G drawn with replacement); NaN-free: resamples
    without votes are left out. Exposed for the tests."""
    totals = np.array([c.total for c in clusters], dtype=float)
    counts = np.array([c.n for c in clusters], dtype=float)
    g = len(clusters)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(g, np.full(g, 1.0 / g), size=rounds).astype(float)  # times each cluster was drawn
    votes = weights @ counts
    keep = votes > 0
    return (weights[keep] @ totals) / votes[keep]


def _bootstrap(
    clusters: Sequence[Cluster], rounds: int, seed: int, level: float
) -> tuple[tuple[float, float] | None, float | None, int]:
    means = bootstrap_means(clusters, rounds, seed)
    if means.size < 2:
        return None, None, int(means.size)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return _clip(float(lo), float(hi)), float(np.std(means, ddof=1)), int(means.size)
