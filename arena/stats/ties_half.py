"""The big model's mean score when a tie (or both-bad) counts as half a win: a score interval with honest coverage.

Each vote scores 1 (big won), 0 (small won) or 1/2 (tie or both bad); the rate is the mean score. Plugging the
fractional count into the Wilson formula treats every vote as a coin flip of variance p(1 - p), but a half-point
tie varies far less: at 50% ties that interval is about 1.4 times too wide, at 80% ties about 2.2 times.

This is the score interval for that mean under the three-outcome (trinomial) model: mu0 is inside when
n (mean - mu0)^2 <= z^2 V(mu0), where V(mu0) is the variance of one vote's score under the maximum-likelihood
trinomial whose mean is mu0. That statistic is Pearson's chi-square at the restricted estimate (the score test), the
same construction as Wilson's (which evaluates p0 (1 - p0) at p0); with no ties it is exactly Wilson's interval.
It is a fixed-sample interval (for people who fixed n in advance), like Wilson's.
"""

from __future__ import annotations

import math

from arena.stats.intervals import Z95

_BISECT_STEPS = 64


def restricted_variance(wins: float, ties: float, losses: float, mu0: float) -> float:
    """Variance of one vote's score under the maximum-likelihood trinomial (p_win, p_tie, p_loss) with mean mu0.

    With p_tie = t the others are p_win = mu0 - t/2 and p_loss = 1 - mu0 - t/2; the log-likelihood
    W log(mu0 - t/2) + T log t + L log(1 - mu0 - t/2) is concave in t and its derivative vanishes at the smaller root
    of n t^2 - (2T + W B + L A) t + T A B = 0 (A = 2 mu0, B = 2 (1 - mu0)), which always lies in [0, min(A, B)].
    """
    n = wins + ties + losses
    a, b = 2.0 * mu0, 2.0 * (1.0 - mu0)
    lin = 2.0 * ties + wins * b + losses * a
    const = ties * a * b
    disc = max(lin * lin - 4.0 * n * const, 0.0)
    denom = lin + math.sqrt(disc)
    t = 0.0 if denom <= 0.0 else min(2.0 * const / denom, min(a, b))  # stable form of the smaller root
    p_win = mu0 - t / 2.0
    return max(p_win + t / 4.0 - mu0 * mu0, 0.0)  # E[s^2] - mu0^2


def ties_half_interval(wins: int, ties: int, losses: int, z: float = Z95) -> tuple[float, float] | None:
    """Score interval for (wins + ties/2) / n, ties meaning ties and both-bad together; None when there are no votes."""
    n = wins + ties + losses
    if n <= 0:
        return None
    mean = (wins + ties / 2.0) / n

    def inside(mu0: float) -> bool:
        var = restricted_variance(wins, ties, losses, mu0)
        return n * (mean - mu0) ** 2 <= z * z * var

    def bound(outer: float) -> float:
        if inside(outer):
            return outer
        ins, out = mean, outer
        for _ in range(_BISECT_STEPS):
            mid = (ins + out) / 2.0
            if inside(mid):
                ins = mid
            else:
                out = mid
        return (ins + out) / 2.0

    # At mu0 = 0 or 1 the restricted variance is 0, so those ends are inside only when the mean is exactly there.
    return (0.0 if mean <= 0.0 else bound(0.0)), (1.0 if mean >= 1.0 else bound(1.0))
