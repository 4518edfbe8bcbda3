"""Wilson intervals, the exact binomial test and votes-needed, checked against independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from arena.stats.intervals import Z95, binom_test_two_sided, votes_needed, wilson


def exact_two_sided(k: int, n: int) -> Fraction:
    """Brute force from the definition: sum of P(X = i) over every i at most as likely as k, p = 1/2, exact rationals."""
    pmf = [Fraction(math.comb(n, i), 2**n) for i in range(n + 1)]
    return sum((q for q in pmf if q <= pmf[k]), Fraction(0))


# Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no continuity correction).
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("k", "n", "lo_pub", "hi_pub"), NEWCOMBE)
def test_wilson_matches_published_values(k: int, n: int, lo_pub: float, hi_pub: float) -> None:
    ci = wilson(k, n)
    assert ci is not None
    lo, hi = ci
    assert lo == pytest.approx(lo_pub, abs=5e-5)
    assert hi == pytest.approx(hi_pub, abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(81, 263), (15, 148), (1, 29), (62, 120), (7, 9), (500, 1000)])
def test_wilson_bounds_solve_the_score_equation(k: int, n: int) -> None:
    # Independent route: the Wilson bounds are the p where the score statistic |phat - p| / sqrt(p(1-p)/n) equals z.
    lo, hi = wilson(k, n) or (math.nan, math.nan)
    phat = k / n
    for p in (lo, hi):
        if 0.0 < p < 1.0:
            assert abs(phat - p) / math.sqrt(p * (1 - p) / n) == pytest.approx(Z95, rel=1e-9)
    # ... and the roots of (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0, by the quadratic formula.
    a, b, c = 1 + Z95**2 / n, -(2 * phat + Z95**2 / n), phat**2
    disc = math.sqrt(b * b - 4 * a * c)
    assert (lo, hi) == pytest.approx(((-b - disc) / (2 * a), (-b + disc) / (2 * a)), abs=1e-12)


def test_wilson_edges() -> None:
    assert wilson(0, 0) is None
    lo, hi = wilson(10, 10) or (0.0, 0.0)
    assert hi == 1.0 and 0.6 < lo < 0.75  # all successes: upper bound exactly 1, lower bound 1/(1+z^2/n)
    assert lo == pytest.approx(1 / (1 + Z95**2 / 10))
    # fractional counts (ties as half) give the score interval around the fractional share
    lo, hi = wilson(5.5, 10) or (0.0, 0.0)
    assert lo < 0.55 < hi


def test_binomial_nine_of_ten() -> None:
    assert binom_test_two_sided(9, 10) == pytest.approx(0.021484375, rel=1e-12)  # 22/1024
    assert binom_test_two_sided(1, 10) == pytest.approx(0.021484375, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 17, 30, 61, 200])
def test_binomial_matches_brute_force_fractions(n: int) -> None:
    for k in range(n + 1):
        expected = float(min(Fraction(1), exact_two_sided(k, n)))
        assert binom_test_two_sided(k, n) == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_binomial_large_n_exact_and_normal() -> None:
    # n = 2000, exact rational reference
    assert binom_test_two_sided(1050, 2000) == pytest.approx(float(exact_two_sided(1050, 2000)), rel=1e-9)
    # n = 1e6: normal approximation with continuity correction is accurate to ~1e-3 relative here
    n, k = 1_000_000, 501_000
    z = (k - 0.5 - n / 2) / math.sqrt(n / 4)
    normal = math.erfc(z / math.sqrt(2))
    assert binom_test_two_sided(k, n) == pytest.approx(normal, rel=2e-3)


def test_binomial_edges() -> None:
    assert binom_test_two_sided(0, 0) == 1.0
    assert binom_test_two_sided(5, 10) == 1.0
    assert binom_test_two_sided(3, 3) == pytest.approx(0.25)
    assert binom_test_two_sided(0, 1) == 1.0
    with pytest.raises(ValueError):
        binom_test_two_sided(4, 3)


def brute_votes_needed(k: int, n: int) -> int:
    """Linear scan from the definition (no bisection)."""
    rate = k / n
    total = n
    while binom_test_two_sided(int(round(rate * total)), total) >= 0.05:
        total += 1
    return total - n


@pytest.mark.parametrize(("k", "n"), [(3, 3), (6, 10), (7, 10), (13, 20), (30, 50), (45, 80), (2, 10)])
def test_votes_needed_matches_linear_scan(k: int, n: int) -> None:
    assert votes_needed(k, n) == brute_votes_needed(k, n)


def test_votes_needed_hand_cases() -> None:
    # 3 of 3: 6 of 6 is the first all-win run with p < 0.05 (2/64 = 0.03125; 5 of 5 gives 0.0625), so 3 more.
    assert votes_needed(3, 3) == 3
    assert votes_needed(9, 10) == 0  # already significant
    assert votes_needed(5, 10) is None  # exactly even: no N helps
    assert votes_needed(0, 0) is None
    assert votes_needed(5001, 10_000, max_n=10**6) is None  # would need ~38 million votes


def test_votes_needed_large_is_fast_and_near_normal_estimate() -> None:
    import time

    start = time.perf_counter()
    more = votes_needed(51, 100)
    elapsed = time.perf_counter() - start
    assert more is not None
    # normal approximation: N = (z / (2 (r - 1/2)))^2 = (1.96 / 0.02)^2 ~ 9604
    assert abs((more + 100) - (Z95 / 0.02) ** 2) < 150
    assert elapsed < 1.0


def test_votes_needed_beyond_the_exact_scan_is_close_to_the_smallest() -> None:
    # 52 of 100 needs ~2,300 more: past the exact scan, so bisection; it must land on a real crossing near the minimum.
    more = votes_needed(52, 100)
    brute = brute_votes_needed(52, 100)
    assert more is not None and more > 1000
    assert brute <= more <= brute * 1.03
    total = 100 + more
    assert binom_test_two_sided(round(0.52 * total), total) < 0.05
