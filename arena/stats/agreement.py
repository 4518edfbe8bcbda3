"""How much voters agree when they judge the same item: raw agreement, Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Nominal categories (here: big better / small better / tie / both bad). Each function takes plain counts or ratings and
returns None where the coefficient is undefined, with the reason in `reason()` form from the callers, never NaN:

- Cohen's kappa (two raters, items both rated): (p_o - p_e) / (1 - p_e), p_e from each rater's own marginal shares.
  Undefined with no shared items, or when p_e = 1: both raters put every shared item in the same one category, so
  agreement by chance is already 100% (scikit-learn returns NaN there).
- Fleiss' kappa (m >= 2 raters, every item rated by all m): (P_bar - P_e) / (1 - P_e) with pooled category shares.
  Undefined with no such items, or when P_e = 1 (every rating in one category).
- Krippendorff's alpha, nominal (any raters, missing ratings allowed): 1 - D_o / D_e from the coincidence matrix of
  the items rated at least twice. Undefined when no item has two ratings, or when all those ratings are one category.

Exact integer arithmetic decides "undefined" (p_e = 1 is a comparison of integers, not of floats).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

Item = TypeVar("Item", bound=Hashable)
Rater = TypeVar("Rater", bound=Hashable)
Category = TypeVar("Category", bound=Hashable)


@dataclass(frozen=True)
class PairAgreement:
    """Two raters on the items both rated."""

    shared: int  # items both rated
    agreed: int  # of those, items both put in the same category
    kappa: float | None  # Cohen's kappa, None when undefined (see `note`)
    note: str | None  # why kappa is undefined, in words

    @property
    def rate(self) -> float | None:
        return self.agreed / self.shared if self.shared else None


@dataclass(frozen=True)
class FleissAgreement:
    items: int  # items rated by every rater
    raters: int
    observed: float | None  # P_bar: mean share of agreeing rater pairs per item
    kappa: float | None
    note: str | None


@dataclass(frozen=True)
class KrippendorffAgreement:
    items: int  # items with at least two ratings (pairable)
    values: int  # ratings in those items
    alpha: float | None
    note: str | None


def cohen(first: Sequence[Category], second: Sequence[Category], label: Mapping[Category, str] | None = None) -> PairAgreement:
    """Cohen's kappa of two raters' categories on the same items, in the same order (first[i] and second[i] judge item i)."""
    if len(first) != len(second):
        raise ValueError(f"two raters need one rating each per item, got {len(first)} and {len(second)}")
    n = len(first)
    if n == 0:
        return PairAgreement(0, 0, None, "no shared items")
    agreed = sum(a == b for a, b in zip(first, second))
    counts_1: dict[Category, int] = {}
    counts_2: dict[Category, int] = {}
    for a, b in zip(first, second):
        counts_1[a] = counts_1.get(a, 0) + 1
        counts_2[b] = counts_2.get(b, 0) + 1
    chance = sum(c * counts_2.get(k, 0) for k, c in counts_1.items())  # n^2 * p_e, an integer
    if chance == n * n:
        (only,) = counts_1
        name = (label or {}).get(only, str(only))
        return PairAgreement(n, agreed, None, f"both voted {name} on all {n} shared item{'s' * (n != 1)}: chance agreement is 100%")
    kappa = (agreed * n - chance) / (n * n - chance)  # (p_o - p_e) / (1 - p_e), times n^2 above and below
    return PairAgreement(n, agreed, kappa, None)


def fleiss(table: Sequence[Sequence[int]]) -> FleissAgreement:
    """Fleiss' kappa from an items x categories table of counts; every row must sum to the same number of raters m >= 2."""
    rows = [list(r) for r in table]
    if not rows:
        return FleissAgreement(0, 0, None, None, "no item was rated by every voter")
    m = sum(rows[0])
    if m < 2 or any(sum(r) != m for r in rows):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings on every item")
    n_items = len(rows)
    k = len(rows[0])
    agree_pairs = sum(sum(c * (c - 1) for c in r) for r in rows)  # sum over items of sum_j n_ij (n_ij - 1)
    observed = agree_pairs / (n_items * m * (m - 1))
    totals = [sum(r[j] for r in rows) for j in range(k)]
    square = sum(t * t for t in totals)  # (N m)^2 * P_e
    whole = (n_items * m) ** 2
    if square == whole:
        return FleissAgreement(n_items, m, observed, None, "every rating is the same outcome: chance agreement is 100%")
    p_e = square / whole
    return FleissAgreement(n_items, m, observed, (observed - p_e) / (1.0 - p_e), None)


def krippendorff_nominal(units: Sequence[Sequence[Hashable]]) -> KrippendorffAgreement:
    """Krippendorff's alpha for nominal data; `units` holds each item's ratings (any number, missing ones left out)."""
    pairable = [list(u) for u in units if len(u) >= 2]
    if not pairable:
        return KrippendorffAgreement(0, 0, None, "no item was rated by two or more voters")
    # Coincidence matrix o_ck = sum_u (ordered c-k pairs of different raters in u) / (m_u - 1); for nominal data only
    # its diagonal (agreements) and the marginals n_c matter: D_o ~ n - sum_c o_cc, D_e ~ (n^2 - sum_c n_c^2) / (n - 1).
    n = 0
    diagonal = 0.0
    margins: dict[Hashable, int] = {}
    for unit in pairable:
        m = len(unit)
        counts: dict[Hashable, int] = {}
        for value in unit:
            counts[value] = counts.get(value, 0) + 1
            margins[value] = margins.get(value, 0) + 1
        n += m
        diagonal += sum(c * (c - 1) for c in counts.values()) / (m - 1)
    expected_disagreement = n * n - sum(c * c for c in margins.values())  # integer: sum_{c != k} n_c n_k
    if expected_disagreement == 0:
        return KrippendorffAgreement(len(pairable), n, None, "every rating is the same outcome: alpha is undefined")
    observed_disagreement = n - diagonal
    alpha = 1.0 - (n - 1) * observed_disagreement / expected_disagreement
    return KrippendorffAgreement(len(pairable), n, alpha, None)


def pairwise(
    ratings: Mapping[Item, Mapping[Rater, Category]], raters: Sequence[Rater], label: Mapping[Category, str] | None = None
) -> dict[tuple[Rater, Rater], PairAgreement]:
    """Cohen's kappa for every pair of `raters` (in the given order) on the items both rated; ratings: item -> rater -> category."""
    out: dict[tuple[Rater, Rater], PairAgreement] = {}
    for a, b in combinations(raters, 2):
        shared = [(by[a], by[b]) for by in ratings.values() if a in by and b in by]
        out[(a, b)] = cohen([x for x, _ in shared], [y for _, y in shared], label)
    return out


def fleiss_complete(
    ratings: Mapping[Item, Mapping[Rater, Category]], raters: Sequence[Rater], categories: Sequence[Category]
) -> FleissAgreement:
    """Fleiss' kappa over the items that every one of `raters` rated."""
    table = [
        [sum(by[r] == c for r in raters) for c in categories]
        for by in ratings.values()
        if all(r in by for r in raters)
    ]
    if not table:
        return FleissAgreement(0, len(raters), None, None, f"no item was rated by all {len(raters)} voters")
    return fleiss(table)
