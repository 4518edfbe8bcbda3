"""Small exact building blocks of the fixed-sample analysis: Wilson score interval, exact two-sided binomial test.

Pure math on counts (scipy is deliberately not a dependency). Everything here is O(sqrt(n)) or better in time and
memory, so it stays fast for a million votes.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # the standard normal 97.5% quantile: two-sided 95% intervals
ALPHA = 0.05


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when n == 0.

    `successes` may be fractional: the formula only needs the point estimate and n. But for ties counted as half it is
    far too wide (1.4x at 50% ties, 2.2x at 80%: a tie varies less than a coin flip); use arena.stats.ties_half.
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(max(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0))
    # At p == 0 or 1 one bound is exactly 0 or 1 in exact arithmetic; say so instead of 0.9999999999999999.
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return lo, hi


def _log_pmf_half(k: int, n: int) -> float:
    """log P(X = k) for X ~ Binomial(n, 1/2)."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2.0)


def _lower_tail_half(m: int, n: int) -> float:
    """P(X <= m) for X ~ Binomial(n, 1/2), m <= n/2, summed in log space from the largest term down.

    Terms below the mode fall off like a Gaussian, so everything further than ~14 standard deviations below m is
    smaller than 1e-40 of the first term: the sum stops there, which keeps it O(sqrt(n)) for any n.
    """
    if m < 0:
        return 0.0
    span = min(m, int(7.0 * math.sqrt(n)) + 40)  # sd = sqrt(n)/2, so 14 sd
    i = np.arange(m, m - span, -1, dtype=np.float64)  # i = m, m-1, ..., m-span+1
    # pmf(i-1)/pmf(i) = i / (n - i + 1) for p = 1/2
    log_ratios = np.log(i) - np.log(n - i + 1.0)
    log_terms = np.concatenate(([0.0], np.cumsum(log_ratios)))  # relative to pmf(m)
    return float(math.exp(_log_pmf_half(m, n)) * np.exp(log_terms).sum())


def binom_test_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n trials under H0: p = 1/2.

    With p = 1/2 the distribution is symmetric, so the "sum of all outcomes at most as likely as the observed one"
    definition (R's binom.test, scipy's binomtest) equals twice the smaller tail, capped at 1. n == 0 gives 1.0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    m = min(k, n - k)
    if 2 * m == n:
        return 1.0
    return min(1.0, 2.0 * _lower_tail_half(m, n))


# "Votes still needed" lives in arena.stats.sequential (under the anytime-valid rule, exact by its definition). The
# fixed-n version that was here bisected on "p < 0.05 at N", which is not monotone in N, and overshot past 1,000.
