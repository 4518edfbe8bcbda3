"""Anytime-valid statistics (arena.stats.sequential) against independent computations and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arena.stats.intervals import wilson
from arena.stats.sequential import (
    ALPHA,
    T_OPT,
    anytime_p_value,
    confidence_sequence,
    critical_wins,
    e_value,
    log_e_value,
    prior,
    verdict_reached,
    votes_needed,
)

CASES = [(0, 1), (1, 1), (3, 10), (7, 10), (30, 50), (64, 100), (120, 200), (55, 100), (600, 1000), (0, 40), (2900, 5000)]


def mixture_by_integration(k: int, n: int, p0: float) -> float:
    """log of  integral L(p)/L(p0) Beta(p; a, b) dp  by quadrature on a fine grid: no Beta function, no lgamma.

    The Beta density is normalised numerically too; log-space throughout so large n does not underflow.
    """
    a, b = prior(p0)
    # Midpoint rule on a grid fine enough around the posterior mode: both integrands are smooth on (0, 1).
    m = 400_000
    p = (np.arange(m) + 0.5) / m
    log_prior = (a - 1) * np.log(p) + (b - 1) * np.log1p(-p)
    log_lr = k * (np.log(p) - math.log(p0)) + (n - k) * (np.log1p(-p) - math.log1p(-p0))

    def log_integral(x: np.ndarray) -> float:
        top = x.max()
        return float(top + np.log(np.exp(x - top).sum() / m))

    return log_integral(log_prior + log_lr) - log_integral(log_prior)


def confseq_log_supermg(s: float, v: float, g: float, h: float, t_opt: float = T_OPT, alpha_opt: float = ALPHA) -> float:
    """confseq's BetaBinomialMixture::log_superMG (two-sided, x = 1), transcribed in its own (s, v, g, h) coordinates.

    From gostevehoward/confseq src/confseq/uniform_boundaries.h (0.0.11); confseq itself needs Boost to build, which
    this machine lacks. s = sum(X_i - p0), v = n p0 (1 - p0), g = p0, h = 1 - p0; r from optimal_r / best_rho.
    """
    v_opt = g * h * t_opt
    rho = v_opt / (2 * math.log(1 / alpha_opt) + math.log(1 + 2 * math.log(1 / alpha_opt)))
    r = max(rho - g * h, 1e-3 * g * h)

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return (
        v / (g * h) * math.log(g + h)
        - ((v + h * s) / (h * (g + h))) * math.log(g)
        - ((v - g * s) / (g * (g + h))) * math.log(h)
        + log_beta((r + v - g * s) / (g * (g + h)), (r + v + h * s) / (h * (g + h)))
        - log_beta(r / (g * (g + h)), r / (h * (g + h)))
    )


@pytest.mark.parametrize(("k", "n"), CASES)
@pytest.mark.parametrize("p0", [0.5, 0.3, 0.62, 0.9])
def test_e_value_equals_the_mixture_integral_and_confseq(k: int, n: int, p0: float) -> None:
    ours = log_e_value(k, n, p0)
    assert ours == pytest.approx(confseq_log_supermg(k - n * p0, n * p0 * (1 - p0), p0, 1 - p0), abs=1e-9)
    assert ours == pytest.approx(mixture_by_integration(k, n, p0), abs=1e-6)


def test_p_value_and_e_value_agree_with_each_other_and_the_verdict() -> None:
    for k, n in CASES:
        e, p = e_value(k, n), anytime_p_value(k, n)
        assert p == pytest.approx(min(1.0, 1.0 / e), rel=1e-12)
        assert verdict_reached(k, n) == (e >= 1 / ALPHA)
        cs = confidence_sequence(k, n)
        assert cs is not None
        assert (not cs[0] <= 0.5 <= cs[1]) == verdict_reached(k, n)
    assert anytime_p_value(0, 0) == 1.0 and confidence_sequence(0, 0) is None


@pytest.mark.parametrize(("k", "n"), CASES)
def test_confidence_sequence_is_the_brute_force_set(k: int, n: int) -> None:
    """Every p0 on a fine grid is inside exactly when M_n(p0) < 1/alpha, and that set is one interval."""
    lo, hi = confidence_sequence(k, n) or (math.nan, math.nan)
    grid = np.linspace(1e-6, 1 - 1e-6, 20_001)
    inside = np.array([log_e_value(k, n, float(p)) < math.log(1 / ALPHA) for p in grid])
    where = np.flatnonzero(inside)
    assert where.size and np.all(np.diff(where) == 1), "the set of accepted p0 is not one interval"
    step = grid[1] - grid[0]
    assert lo == pytest.approx(max(grid[where[0]], 0.0), abs=step) or (lo == 0.0 and where[0] == 0)
    assert hi == pytest.approx(grid[where[-1]], abs=step) or (hi == 1.0 and where[-1] == grid.size - 1)
    assert lo <= k / n <= hi


def test_sequence_is_wider_than_wilson_and_shrinks() -> None:
    widths = []
    for n in (50, 100, 200, 500, 1000, 5000):
        k = round(0.6 * n)
        lo, hi = confidence_sequence(k, n) or (0.0, 1.0)
        wlo, whi = wilson(k, n) or (0.0, 1.0)
        assert lo < wlo and hi > whi
        widths.append(hi - lo)
    assert widths == sorted(widths, reverse=True)


def first_crossing(outcomes: np.ndarray, p0: float, threshold: float) -> np.ndarray:
    """For each row of 0/1 outcomes: did M_n(p0) reach `threshold` at any n? Built vote by vote from the martingale's
    one-step factors (a + k)/(a + b + n)/p0 or (b + n - k)/(a + b + n)/(1 - p0): independent of the closed form."""
    a, b = prior(p0)
    n_steps = outcomes.shape[1]
    k_before = np.cumsum(outcomes, axis=1) - outcomes
    n_before = np.arange(n_steps)[None, :]
    up = np.log((a + k_before) / (a + b + n_before) / p0)
    down = np.log((b + n_before - k_before) / (a + b + n_before) / (1 - p0))
    log_m = np.cumsum(np.where(outcomes == 1, up, down), axis=1)
    return (log_m >= math.log(threshold)).any(axis=1)


def test_time_uniform_coverage_by_simulation() -> None:
    """Look after every one of 500 votes: the true share leaves the 95% sequence at some look in <= 5% of runs.

    The same runs checked with a fixed-n Wilson interval at every look miss far more often, so this test fails if the
    sequence is swapped for a fixed-n interval.
    """
    rng = np.random.default_rng(20261203)
    runs, steps = 4000, 500
    for p in (0.5, 0.6, 0.75):
        outcomes = (rng.random((runs, steps)) < p).astype(np.int64)
        missed = first_crossing(outcomes, p, 1 / ALPHA)
        rate = missed.mean()
        assert rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / runs), f"p={p}: {rate:.3f}"
        # spot-check the closed form on a few runs and looks
        for row in range(3):
            for n in (10, 100, 500):
                k = int(outcomes[row, :n].sum())
                cs = confidence_sequence(k, n) or (0.0, 1.0)
                log_m = log_e_value(k, n, p)
                assert (log_m >= math.log(1 / ALPHA)) == (not cs[0] <= p <= cs[1])
        # Wilson at every look for comparison (first 200 looks is enough to show it).
        k = np.cumsum(outcomes[:400, :200], axis=1)
        wilson_miss = 0
        for row in range(400):
            for n in range(1, 201):
                lo, hi = wilson(int(k[row, n - 1]), n) or (0.0, 1.0)
                if not lo <= p <= hi:
                    wilson_miss += 1
                    break
        assert wilson_miss / 400 > 0.15


def brute_votes_needed(k: int, n: int) -> int:
    """The definition, scanned one N at a time."""
    lead = max(k, n - k)
    total = n
    while not verdict_reached((2 * lead * total + n) // (2 * n), total):
        total += 1
    return total - n


@pytest.mark.parametrize(
    ("k", "n"),
    [(3, 3), (1, 3), (6, 10), (4, 10), (13, 20), (30, 50), (45, 80), (64, 100), (55, 100), (53, 100), (52, 100), (108, 200), (270, 500), (7, 9)],
)
def test_votes_needed_equals_the_linear_scan(k: int, n: int) -> None:
    assert votes_needed(k, n) == brute_votes_needed(k, n)


def test_votes_needed_random_cases_and_edges() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(0, n + 1))
        if 2 * k == n:
            assert votes_needed(k, n) is None
            continue
        if abs(2 * k - n) < 0.06 * n:  # shares within 3 points of 50% need 10^4..10^8 votes: too long to scan
            continue
        assert votes_needed(k, n) == brute_votes_needed(k, n), (k, n)
    assert votes_needed(0, 0) is None
    assert votes_needed(600, 1000) == 0
    assert votes_needed(5001, 10_000, max_n=10**6) is None
    big = votes_needed(51, 100)
    assert big is not None and big > 10_000  # a 51% share needs tens of thousands of votes


def test_critical_wins_brute_force() -> None:
    for n in range(1, 300):
        brute = next((k for k in range((n + 1) // 2, n + 1) if verdict_reached(k, n)), None)
        assert critical_wins(n) == brute
