"""The pooled mean with voters as clusters (arena.stats.clustered) against independent references: statsmodels' OLS
(intercept only; nonrobust for the iid numbers, cov_type="cluster" for CR1), scipy's t quantile, a brute-force
bootstrap; and a seeded simulation showing the iid interval under-covers when voters differ while the clustered ones
do not (counts of covered intervals, no timings)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from arena.stats.clustered import (
    FEW_CLUSTERS,
    SOME_CLUSTERS,
    Cluster,
    bootstrap_means,
    caution_text,
    clustered_mean,
    distinct_resamples,
    t_quantile_two_sided,
)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 6, 7, 9, 10, 19, 30, 64, 99, 100, 101, 150, 500, 10_000, 1_000_000])
@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
def test_t_quantile_equals_scipy(df: int, level: float) -> None:
    assert t_quantile_two_sided(df, level) == pytest.approx(sps.t.ppf(0.5 + level / 2, df), rel=1e-9, abs=1e-9)


def _clusters(scores: list[list[float]]) -> list[Cluster]:
    return [Cluster(n=len(s), total=float(sum(s)), total_sq=float(sum(x * x for x in s))) for s in scores]


def _random_team(rng: np.random.Generator, voters: int, ties: bool = True) -> list[list[float]]:
    """Per voter a list of per-vote scores (1 win, 0 loss, 1/2 tie), each voter with a taste of their own."""
    out = []
    for _ in range(voters):
        p = rng.beta(2, 2)
        n = int(rng.integers(1, 40))
        values = rng.choice([1.0, 0.0, 0.5] if ties else [1.0, 0.0], size=n, p=[p * 0.8, (1 - p) * 0.8, 0.2] if ties else [p, 1 - p])
        out.append([float(v) for v in values])
    return out


@pytest.mark.parametrize("seed", range(25))
def test_iid_and_cluster_robust_equal_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    team = _random_team(rng, int(rng.integers(2, 30)), ties=bool(seed % 2))
    y = np.array([x for s in team for x in s])
    groups = np.array([g for g, s in enumerate(team) for _ in s])
    ones = np.ones((len(y), 1))
    ours = clustered_mean(_clusters(team), rounds=0)
    if len(y) < 2 or np.all(y == y[0]):
        pytest.skip("degenerate draw")  # covered by test_degenerate_cases
    iid = sm.OLS(y, ones).fit()
    cr = sm.OLS(y, ones).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert ours.estimate == pytest.approx(float(iid.params[0]), abs=1e-12)
    assert ours.iid_se == pytest.approx(float(iid.bse[0]), rel=1e-9)
    assert ours.cluster_se == pytest.approx(float(cr.bse[0]), rel=1e-9)
    assert ours.cluster_df == len(team) - 1 == cr.df_resid_inference
    for got, ref in ((ours.iid_ci, iid.conf_int()[0]), (ours.cluster_ci, cr.conf_int()[0])):
        assert got is not None
        assert got[0] == pytest.approx(max(0.0, float(ref[0])), abs=1e-9)  # ours are clipped to [0, 1]
        assert got[1] == pytest.approx(min(1.0, float(ref[1])), abs=1e-9)
    assert ours.design_effect == pytest.approx((float(cr.bse[0]) / float(iid.bse[0])) ** 2, rel=1e-9)
    assert ours.effective_votes == pytest.approx(len(y) / ours.design_effect, rel=1e-12)


def test_bootstrap_matches_brute_force_resampling() -> None:
    """Each bootstrap mean equals the mean of the votes of the drawn voters (drawn with the same generator)."""
    rng = np.random.default_rng(3)
    team = _random_team(rng, 7)
    clusters = _clusters(team)
    means = bootstrap_means(clusters, rounds=50, seed=11)
    draws = np.random.default_rng(11).multinomial(7, np.full(7, 1 / 7), size=50)
    brute = []
    for counts in draws:
        votes = [x for g, times in enumerate(counts) for _ in range(times) for x in team[g]]
        brute.append(sum(votes) / len(votes))
    assert means == pytest.approx(brute, abs=1e-12)
    # Seeded: the same seed gives the same interval, another seed another one.
    a, b, c = (clustered_mean(clusters, rounds=400, seed=s) for s in (5, 5, 6))
    assert a.bootstrap_ci == b.bootstrap_ci != c.bootstrap_ci
    assert a.bootstrap_used == 400


def test_bootstrap_agrees_with_cluster_robust_on_a_large_team() -> None:
    """200 voters: the voter bootstrap's SE and interval agree with CR1's (both estimate the same sampling spread)."""
    rng = np.random.default_rng(7)
    team = _random_team(rng, 200)
    result = clustered_mean(_clusters(team), rounds=4000, seed=1)
    assert result.caution is None
    assert result.bootstrap_se == pytest.approx(result.cluster_se, rel=0.08)
    assert result.cluster_ci is not None and result.bootstrap_ci is not None
    width_cr = result.cluster_ci[1] - result.cluster_ci[0]
    for got, ref in zip(result.bootstrap_ci, result.cluster_ci):
        assert abs(got - ref) < 0.1 * width_cr


def test_degenerate_cases() -> None:
    empty = clustered_mean([], rounds=10)
    assert empty.estimate is None and empty.votes == 0 and empty.cluster_ci is None
    one = clustered_mean(_clusters([[1.0, 0.0, 1.0]]), rounds=100)
    assert one.estimate == pytest.approx(2 / 3) and one.iid_ci is not None
    assert one.cluster_se is None and one.cluster_ci is None and one.bootstrap_ci is None and one.design_effect is None
    assert one.caution and "at least 2 voters" in one.caution
    # Every vote the same score: no spread at all; the design effect is 0/0, so it is not given.
    flat = clustered_mean(_clusters([[1.0, 1.0], [1.0]]), rounds=100)
    assert flat.cluster_se == 0.0 and flat.iid_se == 0.0 and flat.design_effect is None and flat.effective_votes is None
    # Voters without votes are not clusters (statsmodels never sees them either).
    assert clustered_mean([Cluster(0, 0.0, 0.0), *_clusters([[1.0], [0.0]])], rounds=0).clusters == 2


def test_caution_tiers() -> None:
    assert "at least 2 voters" in (caution_text(1) or "")
    few = caution_text(FEW_CLUSTERS - 1) or ""
    assert "rough indication" in few and f"only {distinct_resamples(FEW_CLUSTERS - 1)} distinct resamples" in few
    assert distinct_resamples(4) == 35 == math.comb(7, 4)
    assert "somewhat too narrow" in (caution_text(FEW_CLUSTERS) or "")
    assert caution_text(SOME_CLUSTERS) is None


def _coverage(taste_sd: float, seed: int, sims: int = 400, voters: int = 30, votes: int = 25) -> dict[str, int]:
    """How many of `sims` simulated teams' 95% intervals contain the team's population share (ties as half).

    Each of `voters` voters casts `votes` votes; a voter's preference for big is logistic(0.3 + taste), taste ~
    Normal(0, taste_sd); 20% of votes are ties. The target is the population share: the mean over voters' tastes
    (with equal votes per voter), computed numerically from many draws.
    """
    rng = np.random.default_rng(seed)
    tie = 0.2
    pop = rng.normal(0.3, taste_sd, size=2_000_000)
    truth_half = float(np.mean(1.0 / (1.0 + np.exp(-pop)))) * (1 - tie) + tie / 2
    covered = {"iid": 0, "cluster": 0, "bootstrap": 0}
    for _ in range(sims):
        p = 1.0 / (1.0 + np.exp(-rng.normal(0.3, taste_sd, size=voters)))
        clusters = []
        for g in range(voters):
            u = rng.random(votes)
            wins = int(np.sum(u < (1 - tie) * p[g]))
            ties = int(np.sum(u >= 1 - tie))
            clusters.append(Cluster(n=votes, total=wins + ties / 2, total_sq=wins + ties / 4))
        m = clustered_mean(clusters, rounds=300, seed=int(rng.integers(2**31)))
        for name, ci in (("iid", m.iid_ci), ("cluster", m.cluster_ci), ("bootstrap", m.bootstrap_ci)):
            assert ci is not None
            covered[name] += ci[0] <= truth_half <= ci[1]
    return covered


def test_iid_interval_undercovers_when_voters_differ_and_clustered_ones_do_not() -> None:
    """Voters whose tastes differ (logit sd 1): the iid interval misses the team's share far more than 5% of the time."""
    covered = _coverage(taste_sd=1.0, seed=2024)
    print("voters differ, covered of 400:", covered)  # seeded: iid 261, cluster 373, bootstrap 367
    # Seeded, so these counts are fixed numbers; the bounds leave room around them, not around chance.
    assert covered["iid"] < 0.75 * 400  # iid: far below 95%
    assert covered["cluster"] >= 0.90 * 400  # CR1 with t(G-1): near 95%
    assert covered["bootstrap"] >= 0.88 * 400  # percentile bootstrap of 30 voters: a little below


def test_all_intervals_cover_when_voters_are_alike() -> None:
    """The control: identical voters make votes independent, and then the iid interval covers as well."""
    covered = _coverage(taste_sd=0.0, seed=2025)
    print("voters alike, covered of 400:", covered)
    assert covered["iid"] >= 0.92 * 400
    assert covered["cluster"] >= 0.90 * 400
    assert covered["bootstrap"] >= 0.88 * 400
