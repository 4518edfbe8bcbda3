"""Anytime-valid statistics: a confidence sequence, e-value and p-value that stay honest however often you look.

People look at the statistics after every vote and stop when they like what they see. A fixed-n p-value checked that way
declares a difference that is not there far more often than 5% (`benchmarks/peeking.py` measures how much more). The
numbers here are valid at every look at once: the chance that a no-difference matchup EVER shows a verdict, over all
the times you look, is at most alpha.

The method is Robbins' beta-binomial mixture martingale in the form of Howard, Ramdas, McAuliffe & Sekhon (2021),
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), the same construction as their
`confseq` package (`BetaBinomialMixture` with g = p0, h = 1 - p0, two-sided, and its `bernoulli_confidence_interval`).
For decided votes X_1, X_2, ... in {0, 1} (1 = the big model won) and a candidate share p0, with k wins in n votes:

    M_n(p0) = B(a + k, b + n - k) / B(a, b)  /  (p0^k (1 - p0)^(n - k)),   a = r / (1 - p0),  b = r / p0

is the likelihood ratio of "p ~ Beta(a, b)" (a prior centred on p0) against "p = p0". Under p = p0 it is a
nonnegative martingale starting at 1, so by Ville's inequality P(M_n(p0) >= 1/alpha for some n) <= alpha. Hence:

- e-value against "no difference": M_n(1/2);
- anytime-valid p-value: min(1, 1 / M_n(1/2));
- confidence sequence: {p0 : M_n(p0) < 1/alpha}, an interval found by bisection on each side of k/n.

`r` sets the prior's spread; confseq chooses it so the boundary is tightest after `t_opt` votes (here T_OPT decided
votes, a typical length of a session or two of voting). Any fixed choice keeps the guarantee; it only moves where
the intervals are narrowest.

Ties and both-bad votes are skipped: they do not move the martingale, so it stays one under every stopping rule.
The counts come aggregated from SQL, without the order of the votes, so we evaluate the martingale at the current n
instead of taking the running maximum over past n. That is still valid (it can only say "stop" less often), but a
verdict can come and go again as votes arrive.
"""

from __future__ import annotations

import math

ALPHA = 0.05
T_OPT = 150  # decided votes at which the 95% sequence is tightest (confseq's t_opt)
_BISECT_STEPS = 64  # halvings of [0, 1]: far below any shown digit


def mixture_r(p0: float, t_opt: float = T_OPT, alpha_opt: float = ALPHA) -> float:
    """confseq's `optimal_r` for the two-sided beta-binomial mixture at p0 (prior pseudo-count scale)."""
    v_opt = p0 * (1.0 - p0) * t_opt
    log_inv = math.log(1.0 / alpha_opt)
    rho = v_opt / (2.0 * log_inv + math.log(1.0 + 2.0 * log_inv))  # TwoSidedNormalMixture::best_rho
    return max(rho - p0 * (1.0 - p0), 1e-3 * p0 * (1.0 - p0))


def prior(p0: float, t_opt: float = T_OPT, alpha_opt: float = ALPHA) -> tuple[float, float]:
    """The Beta(a, b) mixing distribution for the share p used when testing p0 (its mean is p0)."""
    r = mixture_r(p0, t_opt, alpha_opt)
    return r / (1.0 - p0), r / p0


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_e_value(k: int, n: int, p0: float = 0.5, t_opt: float = T_OPT, alpha_opt: float = ALPHA) -> float:
    """log M_n(p0) for k wins in n decided votes. 0 <= k <= n, 0 < p0 < 1."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < p0 < 1.0:
        raise ValueError(f"need 0 < p0 < 1, got {p0}")
    a, b = prior(p0, t_opt, alpha_opt)
    return _log_beta(a + k, b + n - k) - _log_beta(a, b) - k * math.log(p0) - (n - k) * math.log1p(-p0)


def e_value(k: int, n: int, t_opt: float = T_OPT) -> float:
    """Evidence against "no difference" (p = 1/2): M_n(1/2). Large is strong evidence; 1/alpha or more means stop."""
    return math.exp(min(log_e_value(k, n, 0.5, t_opt), 700.0))


def anytime_p_value(k: int, n: int, t_opt: float = T_OPT) -> float:
    """Anytime-valid p-value for p = 1/2: min(1, 1/M_n(1/2)). P(it is ever <= alpha | no difference) <= alpha."""
    return min(1.0, math.exp(-log_e_value(k, n, 0.5, t_opt)))


def confidence_sequence(
    k: int, n: int, alpha: float = ALPHA, t_opt: float = T_OPT, alpha_opt: float = ALPHA
) -> tuple[float, float] | None:
    """Anytime-valid (1 - alpha) confidence sequence for the share p at this n: {p0 : M_n(p0) < 1/alpha}; None if n == 0.

    `alpha` may differ from `alpha_opt` (the level the mixture is tuned for): a Bonferroni-corrected sequence keeps
    the same martingale and only raises the bar, so it agrees exactly with the corrected p-value.
    """
    if n <= 0:
        return None
    threshold = math.log(1.0 / alpha)
    phat = k / n

    def outside(p0: float) -> bool:
        return log_e_value(k, n, p0, t_opt, alpha_opt) >= threshold

    # M_n(p0) grows as p0 moves away from k/n on either side (checked on a fine grid in the tests), so each bound
    # is the one crossing of the threshold between k/n and 0 (or 1). At p0 -> 0 with k > 0, M_n -> infinity.
    lo = 0.0
    if k > 0:
        inside_p, outside_p = phat, 0.0
        for _ in range(_BISECT_STEPS):
            mid = (inside_p + outside_p) / 2.0
            if mid <= 0.0 or outside(mid):
                outside_p = mid
            else:
                inside_p = mid
        lo = (inside_p + outside_p) / 2.0
    hi = 1.0
    if k < n:
        inside_p, outside_p = phat, 1.0
        for _ in range(_BISECT_STEPS):
            mid = (inside_p + outside_p) / 2.0
            if mid >= 1.0 or outside(mid):
                outside_p = mid
            else:
                inside_p = mid
        hi = (inside_p + outside_p) / 2.0
    return lo, hi


def verdict_reached(k: int, n: int, alpha: float = ALPHA, t_opt: float = T_OPT) -> bool:
    """True when 1/2 is outside the (1 - alpha) sequence: M_n(1/2) >= 1/alpha. Safe to stop and report a winner."""
    return n > 0 and log_e_value(k, n, 0.5, t_opt) >= math.log(1.0 / alpha)


def critical_wins(n: int, alpha: float = ALPHA, t_opt: float = T_OPT) -> int | None:
    """The fewest wins out of n decided votes for which the leader may stop (None if even n of n is not enough).

    By symmetry of the p0 = 1/2 prior the same count works for either model. M_n(1/2) rises with k above n/2 (the
    Beta function grows away from the middle), so an integer bisection finds it.
    """
    if n <= 0 or not verdict_reached(n, n, alpha, t_opt):
        return None
    lo, hi = n // 2, n  # not reached at lo (M_n(1/2) < 1 at the middle), reached at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if verdict_reached(mid, n, alpha, t_opt):
            hi = mid
        else:
            lo = mid
    return hi


def _leader_wins_at(lead: int, n: int, total: int) -> int:
    """round(total * lead / n), halves rounded up, in exact integer arithmetic."""
    return (2 * lead * total + n) // (2 * n)


def votes_needed(k: int, n: int, alpha: float = ALPHA, t_opt: float = T_OPT, max_n: int = 10**9) -> int | None:
    """How many MORE decided votes would reach the anytime-valid verdict if the observed share k/n held.

    Definition: the smallest N >= n such that the leader, with round(N * lead/n) wins of N (lead = the leader's wins,
    halves rounded up), reaches the verdict (`verdict_reached`), minus n. 0 when the verdict is already reached; None
    when n == 0, when k/n == 1/2 (no N ever suffices) or when N would exceed max_n. A point estimate: the share moves.

    Exact, without scanning every N from n: let c(N) = critical_wins(N). "Reached at N" means w(N) >= c(N), w(N) the
    leader's rounded wins. For a fixed excess e of wins over N/2, M_N(1/2) falls as N grows (d/dN log M =
    (psi(x+e) + psi(x-e))/2 - psi(2x) + log 2 <= (psi(x) - psi(x + 1/2))/2 < 0 with x = N/2 + a, by concavity of the
    digamma function psi and its duplication formula), so the real-valued critical count minus N/2 never falls and
    c(N + m) > c(N) - 1 + m/2. With w(N + m) <= (N + m) lead/n + 1/2 no N + m with (lead/n - 1/2) m <= c(N) - N lead/n
    - 3/2 can reach it: we jump past all of those at once and check again; near the answer, where the bound stops
    jumping, we step one N at a time at one evaluation each (about 60 ms for a 50.01% share of a million votes).

    (The fixed-n `votes_needed` this replaces bisected on "p < 0.05 at N", which is not monotone in N: rounding the
    win count and the discreteness of the exact test make it flip back and forth, so bisection found *a* crossing,
    not the first, up to 3.5% late past 1,000.)
    """
    if n <= 0 or 2 * k == n:
        return None
    lead = max(k, n - k)
    if verdict_reached(lead, n, alpha, t_opt):
        return 0
    # The first N where even N of N would do; the leader's rounded wins never exceed N, so nothing earlier can.
    total = n
    if critical_wins(total, alpha, t_opt) is None:
        lo, hi = total, total * 2
        while critical_wins(hi, alpha, t_opt) is None:
            lo, hi = hi, hi * 2
        while hi - lo > 1:  # verdict_reached(N, N) rises with N: M_{N+1}/M_N = 2 (a + N) / (2a + N) > 1
            mid = (lo + hi) // 2
            if critical_wins(mid, alpha, t_opt) is None:
                lo = mid
            else:
                hi = mid
        total = hi
    gap = 2 * lead - n  # (lead/n - 1/2) * 2n > 0
    c = critical_wins(total, alpha, t_opt)
    while total <= max_n:
        assert c is not None
        if _leader_wins_at(lead, n, total) >= c:
            return total - n
        # Impossible for every m with m * gap <= 2n c - 2 lead N - 3n (the bound above, times 2n).
        slack = 2 * n * c - 2 * lead * total - 3 * n
        jump = slack // gap + 1 if slack >= 0 else 1
        if jump > 1:
            total += jump
            c = critical_wins(total, alpha, t_opt)
        else:
            # Near the answer, one N at a time. For k > N/2, M_{N+1}(k) < M_N(k) and M_{N+1}(k+1) > M_N(k), so
            # c(N+1) is c(N) or c(N) + 1: one evaluation instead of a bisection (while c is clear of the middle).
            total += 1
            if 2 * c >= total + 4:
                c = c if verdict_reached(c, total, alpha, t_opt) else c + 1
            else:
                c = critical_wins(total, alpha, t_opt)
    return None
