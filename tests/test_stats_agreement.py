"""Agreement coefficients (arena.stats.agreement) against independent references: scikit-learn's cohen_kappa_score,
statsmodels' fleiss_kappa and the `krippendorff` package; and every undefined case says why instead of giving NaN."""

from __future__ import annotations

import math
import random
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from arena.stats.agreement import cohen, fleiss, fleiss_complete, krippendorff_nominal, pairwise

CATS = ("big", "small", "tie", "both_bad")


def _ratings(rng: random.Random, n: int, agree: float) -> tuple[list[str], list[str]]:
    """Two raters: the second copies the first with probability `agree`, else picks at random."""
    first = [rng.choice(CATS) for _ in range(n)]
    second = [a if rng.random() < agree else rng.choice(CATS) for a in first]
    return first, second


@pytest.mark.parametrize("seed", range(40))
def test_cohen_equals_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    first, second = _ratings(rng, rng.randint(2, 60), rng.random())
    ours = cohen(first, second)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cohen_kappa_score(first, second)
    if math.isnan(ref):
        assert ours.kappa is None and ours.note
    else:
        assert ours.kappa == pytest.approx(ref, abs=1e-12)
    assert ours.shared == len(first)
    assert ours.agreed == sum(a == b for a, b in zip(first, second))


def test_cohen_undefined_cases_are_explained() -> None:
    none = cohen([], [])
    assert none.kappa is None and none.rate is None and none.note == "no shared items"
    # Both raters said "big" every time: perfect raw agreement, but chance agreement is 100% too; sklearn gives NaN.
    same = cohen(["big"] * 5, ["big"] * 5, {"big": "big better"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(cohen_kappa_score(["big"] * 5, ["big"] * 5))
    assert same.kappa is None and same.rate == 1.0
    assert same.note == "both voted big better on all 5 shared items: chance agreement is 100%"
    # One rater constant, the other not: defined (and 0: no agreement beyond chance).
    mixed = cohen(["big"] * 4, ["big", "small", "big", "tie"])
    assert mixed.kappa == pytest.approx(cohen_kappa_score(["big"] * 4, ["big", "small", "big", "tie"]))
    assert mixed.kappa == pytest.approx(0.0)
    with pytest.raises(ValueError):
        cohen(["big"], [])


def _table(rng: random.Random, items: int, raters: int) -> list[list[int]]:
    rows = []
    for _ in range(items):
        lean = rng.choice(CATS)
        ratings = [lean if rng.random() < 0.6 else rng.choice(CATS) for _ in range(raters)]
        rows.append([ratings.count(c) for c in CATS])
    return rows


@pytest.mark.parametrize("seed", range(30))
def test_fleiss_equals_statsmodels(seed: int) -> None:
    rng = random.Random(seed)
    table = _table(rng, rng.randint(1, 40), rng.randint(2, 7))
    ours = fleiss(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm_fleiss_kappa(np.array(table), method="fleiss")
    if math.isnan(ref):
        assert ours.kappa is None and ours.note
    else:
        assert ours.kappa == pytest.approx(ref, abs=1e-12)
    # Observed agreement: share of agreeing ordered rater pairs per item, averaged (brute force).
    m = sum(table[0])
    per_item = [sum(c * (c - 1) for c in row) / (m * (m - 1)) for row in table]
    assert ours.observed == pytest.approx(sum(per_item) / len(per_item))


def test_fleiss_undefined_cases() -> None:
    assert fleiss([]).kappa is None
    all_tie = fleiss([[0, 0, 3, 0], [0, 0, 3, 0]])
    assert all_tie.kappa is None and all_tie.observed == 1.0 and "chance agreement is 100%" in (all_tie.note or "")
    with pytest.raises(ValueError):
        fleiss([[1, 1, 0, 0], [3, 0, 0, 0]])  # unequal numbers of ratings per item


def test_fleiss_complete_uses_only_items_every_voter_rated() -> None:
    ratings = {
        "p1": {"ann": "big", "bob": "big", "cy": "small"},
        "p2": {"ann": "tie", "bob": "tie", "cy": "tie"},
        "p3": {"ann": "big", "bob": "small"},  # cy did not rate it: left out
        "p4": {"ann": "small", "bob": "small", "cy": "small"},
    }
    ours = fleiss_complete(ratings, ["ann", "bob", "cy"], CATS)
    table = [[2, 1, 0, 0], [0, 0, 3, 0], [0, 3, 0, 0]]
    assert ours.items == 3
    assert ours.kappa == pytest.approx(sm_fleiss_kappa(np.array(table), method="fleiss"))
    missing = fleiss_complete({"p1": {"ann": "big", "bob": "big"}}, ["ann", "bob", "cy"], CATS)
    assert missing.kappa is None and missing.note == "no item was rated by all 3 voters"


def _reliability(ratings: list[dict[str, str]], raters: list[str]) -> np.ndarray:
    codes = {c: k for k, c in enumerate(CATS)}
    return np.array([[codes[unit[r]] if r in unit else np.nan for unit in ratings] for r in raters], dtype=float)


@pytest.mark.parametrize("seed", range(30))
def test_krippendorff_equals_reference_package(seed: int) -> None:
    rng = random.Random(seed)
    raters = [f"v{k}" for k in range(rng.randint(2, 6))]
    units: list[dict[str, str]] = []
    for _ in range(rng.randint(2, 40)):
        lean = rng.choice(CATS)
        unit = {r: (lean if rng.random() < 0.7 else rng.choice(CATS)) for r in raters if rng.random() < 0.7}
        units.append(unit)
    ours = krippendorff_nominal([list(u.values()) for u in units])
    if ours.alpha is None:
        assert ours.note
        return
    ref = krippendorff.alpha(reliability_data=_reliability(units, raters), level_of_measurement="nominal")
    assert ours.alpha == pytest.approx(ref, abs=1e-12)
    assert ours.items == sum(len(u) >= 2 for u in units)
    assert ours.values == sum(len(u) for u in units if len(u) >= 2)


def test_krippendorff_undefined_cases() -> None:
    lonely = krippendorff_nominal([["big"], ["small"], []])
    assert lonely.alpha is None and lonely.note == "no item was rated by two or more voters"
    one_value = krippendorff_nominal([["tie", "tie"], ["tie", "tie", "tie"]])
    assert one_value.alpha is None and "same outcome" in (one_value.note or "")
    # The reference package refuses that case too (a domain of one value).
    with pytest.raises(ValueError):
        krippendorff.alpha(reliability_data=[[2.0, 2.0], [2.0, 2.0]], level_of_measurement="nominal")


def test_pairwise_on_shared_items_only() -> None:
    ratings = {
        "p1": {"ann": "big", "bob": "big"},
        "p2": {"ann": "small", "bob": "big", "cy": "tie"},
        "p3": {"ann": "tie", "bob": "tie"},
        "p4": {"cy": "big"},
    }
    pairs = pairwise(ratings, ["ann", "bob", "cy"])
    assert list(pairs) == [("ann", "bob"), ("ann", "cy"), ("bob", "cy")]
    ab = pairs[("ann", "bob")]
    assert (ab.shared, ab.agreed) == (3, 2)
    assert ab.kappa == pytest.approx(cohen_kappa_score(["big", "small", "tie"], ["big", "big", "tie"]))
    assert pairs[("ann", "cy")].shared == 1
