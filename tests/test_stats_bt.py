"""Bradley-Terry on the Elo scale: closed-form two-model cases, the MLE score equations, bootstrap and ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arena.stats.bradley_terry import bootstrap_ratings, bt_ratings, rank_by_overlap
from arena.stats.counts import AggRow

TINY = 1e-10  # ridge small enough that the fit is the plain MLE to ~1e-8 Elo


def elo_gap(wins: float, losses: float) -> float:
    """Two models: the MLE gap is the logit of the win share, in Elo units."""
    return 400.0 * math.log10(wins / losses)


def test_two_models_match_the_logit_of_the_win_share() -> None:
    rows = [AggRow("x", "y", "A", "c", 40), AggRow("y", "x", "B", "c", 30), AggRow("y", "x", "A", "c", 25)]
    r = bt_ratings(rows, ridge=TINY)
    assert r["x"] - r["y"] == pytest.approx(elo_gap(70, 25), abs=1e-6)
    assert (r["x"] + r["y"]) / 2 == pytest.approx(1000.0)
    # the default ridge moves it only a little at this sample size
    default = bt_ratings(rows)
    assert default["x"] - default["y"] == pytest.approx(elo_gap(70, 25), abs=0.5)


def test_ties_and_both_bad_count_as_half() -> None:
    rows = [AggRow("x", "y", "A", "c", 10), AggRow("x", "y", "tie", "c", 12), AggRow("y", "x", "both_bad", "c", 8)]
    r = bt_ratings(rows, ridge=TINY)
    assert r["x"] - r["y"] == pytest.approx(elo_gap(10 + 10, 10), abs=1e-6)  # x: 10 wins + 20 halves; y: 20 halves
    even = bt_ratings([AggRow("x", "y", "A", "c", 5), AggRow("x", "y", "B", "c", 5), AggRow("x", "y", "tie", "c", 9)])
    assert even["x"] == pytest.approx(even["y"])


def test_symmetry_sides_and_names_do_not_matter() -> None:
    rows = [AggRow("x", "y", "A", "c", 17), AggRow("x", "y", "B", "c", 9), AggRow("x", "z", "tie", "c", 4), AggRow("z", "y", "A", "c", 6)]
    mirrored = [AggRow(r.model_b, r.model_a, {"A": "B", "B": "A"}.get(r.outcome, r.outcome), r.category, r.count) for r in rows]
    a, b = bt_ratings(rows), bt_ratings(mirrored)
    for m in a:
        assert a[m] == pytest.approx(b[m], abs=1e-9)
    renamed = bt_ratings([AggRow(r.model_a.upper(), r.model_b.upper(), r.outcome, r.category, r.count) for r in rows])
    for m in a:
        assert a[m] == pytest.approx(renamed[m.upper()], abs=1e-9)


def test_many_models_satisfy_the_mle_score_equations() -> None:
    # At the MLE each model's expected (half-)wins equal its observed ones: an independent check of the optimum.
    gen = np.random.default_rng(7)
    names = ["a", "b", "c", "d", "e"]
    rows = []
    for p, q in [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (0, 4)]:
        for outcome in ("A", "B", "tie", "both_bad"):
            rows.append(AggRow(names[p], names[q], outcome, "c", int(gen.integers(1, 30))))
    r = bt_ratings(rows, ridge=TINY)
    observed = dict.fromkeys(names, 0.0)
    expected = dict.fromkeys(names, 0.0)
    for row in rows:
        score = {"A": 1.0, "B": 0.0}.get(row.outcome, 0.5)
        observed[row.model_a] += score * row.count
        observed[row.model_b] += (1 - score) * row.count
        pa = 1 / (1 + 10 ** ((r[row.model_b] - r[row.model_a]) / 400))
        expected[row.model_a] += pa * row.count
        expected[row.model_b] += (1 - pa) * row.count
    for m in names:
        assert expected[m] == pytest.approx(observed[m], abs=1e-6)
    assert sum(r.values()) / len(r) == pytest.approx(1000.0)


def transitive_rows() -> list[AggRow]:
    return [
        AggRow("a", "b", "A", "c", 70), AggRow("a", "b", "B", "c", 30),
        AggRow("b", "c", "A", "c", 70), AggRow("c", "b", "A", "c", 30),
        AggRow("c", "a", "B", "c", 85), AggRow("c", "a", "A", "c", 15),
        AggRow("a", "c", "tie", "c", 10),
    ]  # fmt: skip


def test_three_model_transitive_case_ranks_correctly() -> None:
    ratings = bootstrap_ratings(transitive_rows(), rounds=200, seed=1)
    assert [r.model for r in ratings] == ["a", "b", "c"]
    assert [r.rank for r in ratings] == [1, 2, 3]
    for r in ratings:
        assert r.ci_low is not None and r.ci_high is not None
        assert r.ci_low < r.rating < r.ci_high
    assert {r.model: r.votes for r in ratings} == {"a": 210, "b": 200, "c": 210}


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    one = bootstrap_ratings(transitive_rows(), rounds=100, seed=42)
    two = bootstrap_ratings(transitive_rows(), rounds=100, seed=42)
    other = bootstrap_ratings(transitive_rows(), rounds=100, seed=43)
    assert one == two
    assert [r.rating for r in one] == [r.rating for r in other]  # point estimates do not depend on the seed
    assert [r.ci_low for r in one] != [r.ci_low for r in other]


def test_bootstrap_ci_width_shrinks_like_one_over_sqrt_n() -> None:
    small = [AggRow("x", "y", "A", "c", 60), AggRow("x", "y", "B", "c", 40)]
    large = [AggRow("x", "y", "A", "c", 6000), AggRow("x", "y", "B", "c", 4000)]
    ws = next(r for r in bootstrap_ratings(small, rounds=400, seed=3) if r.model == "x")
    wl = next(r for r in bootstrap_ratings(large, rounds=400, seed=3) if r.model == "x")
    width_small = (ws.ci_high or 0) - (ws.ci_low or 0)
    width_large = (wl.ci_high or 0) - (wl.ci_low or 0)
    assert width_small / width_large == pytest.approx(10.0, rel=0.2)
    # and matches the delta-method width for a proportion: gap = 400 log10(p/(1-p)), each rating moves half of it
    p, n = 0.6, 10_000
    sd_gap = 400 / math.log(10) / math.sqrt(n * p * (1 - p))
    assert width_large == pytest.approx(2 * 1.96 * sd_gap / 2, rel=0.15)


def test_a_model_that_never_loses_gets_a_finite_top_rating() -> None:
    rows = [AggRow("x", "y", "A", "c", 10), AggRow("y", "z", "A", "c", 5), AggRow("y", "z", "B", "c", 5)]
    ratings = bootstrap_ratings(rows, rounds=50, seed=0)
    assert ratings[0].model == "x"
    assert all(math.isfinite(r.rating) for r in ratings)
    assert ratings[0].rating - ratings[1].rating > 400


def test_rank_by_overlap() -> None:
    # intervals: a [10, 20], b [15, 25], c [0, 9], d [26, 30]
    lows, highs = [10, 15, 0, 26], [20, 25, 9, 30]
    assert rank_by_overlap(lows, highs) == [2, 2, 4, 1]


def test_no_rows_and_no_bootstrap() -> None:
    assert bootstrap_ratings([]) == []
    assert bt_ratings([]) == {}
    plain = bootstrap_ratings(transitive_rows(), rounds=0)
    assert [r.rank for r in plain] == [1, 2, 3] and plain[0].ci_low is None
