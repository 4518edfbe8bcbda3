"""The ties-as-half score interval: independent checks of its definition, and honest coverage by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arena.stats.intervals import Z95, wilson
from arena.stats.ties_half import restricted_variance, ties_half_interval


def restricted_variance_by_grid(w: int, t: int, l: int, mu0: float) -> float:
    """Maximise the trinomial log-likelihood over p_tie on a fine grid (no closed form), then the score variance."""
    top = 2 * min(mu0, 1 - mu0)
    tie = np.linspace(0.0, top, 200_001)
    p_w, p_l = mu0 - tie / 2, 1 - mu0 - tie / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(w > 0, w * np.log(p_w), 0.0) + np.where(t > 0, t * np.log(tie), 0.0) + np.where(l > 0, l * np.log(p_l), 0.0)
    best = tie[int(np.nanargmax(ll))]
    return float(mu0 - best / 2 + best / 4 - mu0**2)


@pytest.mark.parametrize(("w", "t", "l"), [(42, 10, 18), (25, 50, 25), (10, 80, 10), (0, 10, 0), (3, 1, 0), (0, 5, 5), (7, 2, 11)])
def test_restricted_variance_is_the_constrained_maximum(w: int, t: int, l: int) -> None:
    for mu0 in (0.1, 0.3, 0.5, 0.64, 0.9):
        assert restricted_variance(w, t, l, mu0) == pytest.approx(restricted_variance_by_grid(w, t, l, mu0), abs=2e-5)


@pytest.mark.parametrize(("w", "t", "l"), [(42, 10, 18), (25, 50, 25), (10, 80, 10), (0, 10, 0), (3, 1, 0), (0, 5, 5)])
def test_bounds_solve_the_score_equation(w: int, t: int, l: int) -> None:
    n = w + t + l
    mean = (w + t / 2) / n
    lo, hi = ties_half_interval(w, t, l) or (math.nan, math.nan)
    assert lo <= mean <= hi
    for mu0 in (lo, hi):
        if 0 < mu0 < 1:
            stat = n * (mean - mu0) ** 2 / restricted_variance_by_grid(w, t, l, mu0)
            assert stat == pytest.approx(Z95**2, rel=1e-3)


def test_without_ties_it_is_wilson() -> None:
    for w, l in [(30, 20), (0, 9), (9, 0), (81, 182), (1, 1)]:
        assert ties_half_interval(w, 0, l) == pytest.approx(wilson(w, w + l), abs=1e-12)
    assert ties_half_interval(0, 0, 0) is None


def test_coverage_is_honest_where_fractional_wilson_is_too_wide() -> None:
    rng = np.random.default_rng(1203)
    runs = 3000
    for probs, n in [((0.25, 0.5, 0.25), 60), ((0.1, 0.8, 0.1), 60), ((0.45, 0.2, 0.35), 40), ((0.55, 0.3, 0.15), 120)]:
        mu = probs[0] + probs[1] / 2
        ours = fractional = 0
        width_ours = width_frac = 0.0
        for w, t, l in rng.multinomial(n, probs, size=runs):
            lo, hi = ties_half_interval(int(w), int(t), int(l)) or (0.0, 1.0)
            ours += lo <= mu <= hi
            width_ours += hi - lo
            flo, fhi = wilson(w + t / 2, n) or (0.0, 1.0)
            fractional += flo <= mu <= fhi
            width_frac += fhi - flo
        se = math.sqrt(0.05 * 0.95 / runs)
        assert abs(ours / runs - 0.95) < 3.5 * se + 0.005, (probs, ours / runs)
        if probs[1] >= 0.5:  # the old interval over-covers and is much wider at many ties
            assert fractional / runs > 0.985
            assert width_frac / width_ours > 1.3
