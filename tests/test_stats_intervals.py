"""Wilson intervals and the exact binomial test, checked against independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from arena.stats.intervals import Z95, binom_test_two_sided, wilson


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
