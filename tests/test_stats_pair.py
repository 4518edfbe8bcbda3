"""Pair summaries from aggregated rows: hand-worked counts and the edge cases."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from arena.stats.counts import AggRow
from arena.stats.intervals import Z95
from arena.stats.pair import summarize_by_category, summarize_pair
from arena.stats.ties_half import ties_half_interval

BIG, SMALL = "qwen14b-q2k", "qwen7b-q6k"


def rows_hand() -> list[AggRow]:
    """Big wins 30 from the left and 12 from the right; small wins 10 from the left and 8 from the right."""
    return [
        AggRow(BIG, SMALL, "A", "code", 30),  # big on the left, left won
        AggRow(SMALL, BIG, "B", "code", 12),  # big on the right, right won
        AggRow(SMALL, BIG, "A", "math", 10),  # small on the left, left won
        AggRow(BIG, SMALL, "B", "math", 8),  # small on the right, right won
        AggRow(BIG, SMALL, "tie", "math", 6),
        AggRow(SMALL, BIG, "both_bad", "code", 4),
        AggRow("other", SMALL, "A", "code", 99),  # not this pair: ignored
        AggRow(BIG, BIG, "A", "code", 5),  # a model against itself: ignored
    ]


def wilson_by_definition(k: float, n: float) -> tuple[float, float]:
    """Solve |k/n - p| = z sqrt(p(1-p)/n) by bisection on each side: independent of the closed form."""
    phat = k / n

    def f(p: float) -> float:
        return abs(phat - p) - Z95 * math.sqrt(p * (1 - p) / n)

    def root(a: float, b: float) -> float:  # f(a) and f(b) of opposite sign
        for _ in range(200):
            m = (a + b) / 2
            if (f(a) > 0) == (f(m) > 0):
                a = m
            else:
                b = m
        return (a + b) / 2

    return root(1e-15, phat), root(phat, 1 - 1e-15)


def test_hand_worked_pair() -> None:
    s = summarize_pair(rows_hand(), BIG, SMALL)
    assert (s.big_wins, s.small_wins, s.ties, s.both_bad) == (42, 18, 6, 4)
    assert s.n == 70 and s.decided == 60
    assert s.win_rate == pytest.approx(42 / 60)
    assert s.win_ci == pytest.approx(wilson_by_definition(42, 60), abs=1e-9)
    # ties and both-bad as half: (42 + 10/2) / 70
    assert s.ties_half_rate == pytest.approx(47 / 70)
    # The score interval on per-vote scores (checked against its definition in test_stats_ties_half.py): narrower
    # than Wilson's formula on the fractional count, which ignores that a half-point tie varies less.
    assert s.ties_half_ci == pytest.approx(ties_half_interval(42, 10, 18), abs=1e-12)
    wlo, whi = wilson_by_definition(47, 70)
    assert wlo < s.ties_half_ci[0] < 47 / 70 < s.ties_half_ci[1] < whi
    exact = sum(Fraction(math.comb(60, i), 2**60) for i in range(0, 19)) * 2  # P(X <= 18) twice
    assert s.p_value == pytest.approx(float(exact), rel=1e-10)
    assert s.significant and s.more_votes_needed == 0
    # position: left won 30 + 10 of 60 decided
    assert s.left_wins == 40 and s.left_share == pytest.approx(40 / 60)
    assert s.left_ci == pytest.approx(wilson_by_definition(40, 60), abs=1e-9)
    exact_left = sum(Fraction(math.comb(60, i), 2**60) for i in range(0, 21)) * 2
    assert s.left_p_value == pytest.approx(float(exact_left), rel=1e-10)


def test_swapping_roles_mirrors_the_summary() -> None:
    s = summarize_pair(rows_hand(), BIG, SMALL)
    t = summarize_pair(rows_hand(), SMALL, BIG)
    assert (t.big_wins, t.small_wins) == (s.small_wins, s.big_wins)
    assert t.win_rate == pytest.approx(1 - (s.win_rate or 0))
    assert t.p_value == pytest.approx(s.p_value)
    assert t.left_share == s.left_share  # position bias does not depend on which model we call big


def test_categories_partition_the_total() -> None:
    cats = summarize_by_category(rows_hand(), BIG, SMALL)
    assert list(cats) == ["code", "math"]
    assert cats["code"].big_wins == 42 and cats["code"].both_bad == 4 and cats["code"].small_wins == 0
    assert cats["math"].small_wins == 18 and cats["math"].ties == 6
    total = summarize_pair(rows_hand(), BIG, SMALL)
    assert sum(c.n for c in cats.values()) == total.n
    assert sum(c.left_wins for c in cats.values()) == total.left_wins


def test_no_votes() -> None:
    s = summarize_pair([], BIG, SMALL)
    assert s.n == 0 and s.decided == 0
    assert s.win_rate is None and s.win_ci is None and s.p_value is None and s.more_votes_needed is None
    assert s.ties_half_rate is None and s.left_share is None and not s.significant
    assert summarize_by_category([], BIG, SMALL) == {}


def test_all_ties() -> None:
    s = summarize_pair([AggRow(BIG, SMALL, "tie", "x", 7)], BIG, SMALL)
    assert s.decided == 0 and s.win_rate is None and s.p_value is None
    assert s.ties_half_rate == 0.5
    lo, hi = s.ties_half_ci or (0.0, 0.0)
    assert lo == pytest.approx(1 - hi)  # symmetric around one half


def test_only_both_bad() -> None:
    s = summarize_pair([AggRow(SMALL, BIG, "both_bad", "x", 3)], BIG, SMALL)
    assert (s.n, s.both_bad, s.decided) == (3, 3, 0)
    assert s.win_rate is None and s.ties_half_rate == 0.5


def test_one_model_always_wins() -> None:
    rows = [AggRow(BIG, SMALL, "A", "x", 6), AggRow(SMALL, BIG, "B", "x", 4)]
    s = summarize_pair(rows, BIG, SMALL)
    assert s.win_rate == 1.0
    assert s.win_ci is not None and s.win_ci[1] == 1.0
    assert s.win_ci[0] == pytest.approx(1 / (1 + Z95**2 / 10))
    assert s.p_value == pytest.approx(2 / 2**10)
    assert s.left_wins == 6


def test_unknown_outcome_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        summarize_pair([AggRow(BIG, SMALL, "C", "x", 1)], BIG, SMALL)


def test_not_significant_reports_votes_needed() -> None:
    s = summarize_pair([AggRow(BIG, SMALL, "A", "x", 6), AggRow(BIG, SMALL, "B", "x", 4)], BIG, SMALL)
    assert not s.significant
    assert s.more_votes_needed is not None and s.more_votes_needed > 0
    assert s.to_dict()["n"] == 10 and s.to_dict()["win_ci"] == list(s.win_ci or ())
