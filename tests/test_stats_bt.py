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


# -- the degenerate case and the prior (see the module docstring) ----------------------------------------------------


def _beta_cdf_3_1_over_2_2(x: float) -> float:
    """CDF of Beta(3/2, 1/2) in closed form: I_x(1/2,1/2) - x^(1/2) (1-x)^(1/2) / (1/2 B(1/2,1/2))."""
    return (2 / math.pi) * (math.asin(math.sqrt(x)) - math.sqrt(x * (1 - x)))


def _beta_ppf(q: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _beta_cdf_3_1_over_2_2(mid) < q else (lo, mid)
    return (lo + hi) / 2


def test_one_vote_gives_a_wide_interval_and_shared_rank() -> None:
    # The case found in review: one decided vote used to give 1340 to 1340 and separate ranks.
    ratings = {r.model: r for r in bootstrap_ratings([AggRow("big", "small", "A", "code", 1)], rounds=4000, seed=5)}
    big, small = ratings["big"], ratings["small"]
    assert big.rank == small.rank == 1  # p = 1.00 for one vote: no order is supported
    assert big.ci_low is not None and big.ci_high is not None and small.ci_low is not None and small.ci_high is not None
    assert big.ci_low < big.rating < big.ci_high and small.ci_low < small.rating < small.ci_high
    # Posterior mode under 1/2 pseudo-win per side: big's share of wins is 1.5 / 2, gap = logit(3/4) in Elo units
    assert big.rating - small.rating == pytest.approx(400 * math.log10(3), abs=1e-3)
    # The interval: the share of wins is Dirichlet(1 + 1/2, 1/2) = Beta(3/2, 1/2); each rating moves half the gap.
    def rating_at(q: float) -> float:
        p = _beta_ppf(q)
        return 1000 + 200 * math.log10(p / (1 - p))

    assert big.ci_low == pytest.approx(rating_at(0.025), abs=25)  # Monte Carlo error of a 2.5% quantile at 4000 rounds
    assert big.ci_high == pytest.approx(rating_at(0.975), abs=60)  # the upper tail is long (logit near 1)
    assert small.ci_low == pytest.approx(2000 - rating_at(0.975), abs=60)


def test_ten_to_zero_separates_like_the_binomial_test() -> None:
    # 10-0: exact two-sided binomial p = 0.002, so separate ranks are supported; 3-0 (p = 0.25) is not.
    ten = bootstrap_ratings([AggRow("x", "y", "A", "c", 10)], rounds=2000, seed=1)
    three = bootstrap_ratings([AggRow("x", "y", "A", "c", 3)], rounds=2000, seed=1)
    assert [r.rank for r in ten] == [1, 2]
    assert [r.rank for r in three] == [1, 1]


def test_mle_is_used_whenever_it_exists() -> None:
    # One loss is enough for a finite MLE: then the prior plays no part and the gap is logit(9/10) exactly.
    r = bt_ratings([AggRow("x", "y", "A", "c", 9), AggRow("y", "x", "A", "c", 1)])
    assert r["x"] - r["y"] == pytest.approx(elo_gap(9, 1), abs=1e-4)
    # a tie also counts as scoring: 5 wins + 1 tie -> 5.5 : 0.5
    r = bt_ratings([AggRow("x", "y", "A", "c", 5), AggRow("y", "x", "tie", "c", 1)])
    assert r["x"] - r["y"] == pytest.approx(elo_gap(5.5, 0.5), abs=1e-4)


def test_ford_condition_against_brute_force() -> None:
    # mle_exists must agree with the definition: no split into two groups where one never scored against the other.
    from itertools import combinations

    from arena.stats.bradley_terry import mle_exists

    gen = np.random.default_rng(3)
    for _ in range(300):
        n = int(gen.integers(2, 6))
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if gen.random() < 0.7]
        if not pairs:
            continue
        first = np.array([p[0] for p in pairs])
        second = np.array([p[1] for p in pairs])
        total = gen.integers(1, 4, len(pairs)).astype(float)
        wins = np.array([float(gen.choice([0, t / 2, t])) for t in total])
        scored = {(a, b) for a, b, w, t in zip(first, second, wins, total) if w > 0} | {
            (b, a) for a, b, w, t in zip(first, second, wins, total) if t - w > 0
        }
        brute = all(
            any((a, b) in scored for a in group for b in range(n) if b not in group)
            for size in range(1, n)
            for group in map(set, combinations(range(n), size))
        )
        assert mle_exists(n, first, second, wins, total) == brute


def test_batched_fit_equals_one_at_a_time() -> None:
    from arena.stats.bradley_terry import fit_pairs

    first, second = np.array([0, 0, 1, 2]), np.array([1, 2, 2, 3])
    gen = np.random.default_rng(9)
    total = gen.integers(5, 50, (6, 4)).astype(float)
    wins = np.floor(total * gen.random((6, 4)))
    together = fit_pairs(4, first, second, wins, total)
    for k in range(6):
        alone = fit_pairs(4, first, second, wins[k : k + 1], total[k : k + 1])[0]
        assert together[k] == pytest.approx(alone, abs=1e-8)


def test_a_model_without_votes_gets_no_rating() -> None:
    rows = [AggRow("x", "y", "A", "c", 6), AggRow("x", "y", "B", "c", 4)]
    assert [r.model for r in bootstrap_ratings(rows, models=["x", "y", "z"], rounds=20)] == ["x", "y"]
