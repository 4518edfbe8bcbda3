"""Two-model summary: who wins, by how much, how sure we are, and whether the left pane is favoured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from arena.stats.counts import AggRow
from arena.stats.intervals import ALPHA, binom_test_two_sided, wilson
from arena.stats.sequential import anytime_p_value, confidence_sequence, e_value, votes_needed
from arena.stats.ties_half import ties_half_interval

OUTCOMES = ("A", "B", "tie", "both_bad")


@dataclass(frozen=True)
class PairSummary:
    """Counts and statistics for `big` versus `small`. Rates are fractions in [0, 1]; None when undefined (no votes).

    The verdict is anytime-valid (arena.stats.sequential): safe however often the person looked.
    - anytime_ci: confidence sequence for big's share of decided votes at level 1 - alpha.
    - anytime_p_value / e_value: anytime-valid p-value and e-value against "no difference" (unadjusted);
      anytime_p_adjusted: times `comparisons` (Bonferroni over categories; equal to anytime_p_value overall).
    - more_votes_needed: decided votes until the anytime-valid verdict at the current rate, at level alpha
      (arena.stats.sequential.votes_needed; exact by its definition).
    - alpha: 0.05, or 0.05 / comparisons for a per-category summary (Bonferroni over the categories shown).
    The fixed-sample analysis, valid only when n was fixed in advance and looked at once:
    - win_rate / win_ci: big's share of decided votes (A or B), Wilson 95% score interval.
    - p_value: exact two-sided binomial test of big's decided wins against 1/2 (ties and both-bad left out).
    - ties_half_rate / ties_half_ci: (big wins + (ties + both_bad)/2) / all votes. Both-bad counts as a tie, as in
      FastChat ("tie (bothbad)"): it says neither answer was better. CI: the score interval for the mean per-vote
      score under the three-outcome model (arena.stats.ties_half; Wilson's when there are no ties).
    - left_*: share of decided votes won by the left pane (side A) with Wilson CI and exact p against 1/2.
    """

    big: str
    small: str
    big_wins: int
    small_wins: int
    ties: int
    both_bad: int
    left_wins: int  # decided votes won by side A, whichever model sat there
    win_rate: float | None
    win_ci: tuple[float, float] | None
    ties_half_rate: float | None
    ties_half_ci: tuple[float, float] | None
    p_value: float | None
    more_votes_needed: int | None
    left_share: float | None
    left_ci: tuple[float, float] | None
    left_p_value: float | None
    anytime_ci: tuple[float, float] | None = None
    anytime_p_value: float | None = None
    e_value: float | None = None
    alpha: float = ALPHA
    comparisons: int = 1

    @property
    def n(self) -> int:
        return self.big_wins + self.small_wins + self.ties + self.both_bad

    @property
    def decided(self) -> int:
        return self.big_wins + self.small_wins

    @property
    def anytime_p_adjusted(self) -> float | None:
        return None if self.anytime_p_value is None else min(1.0, self.anytime_p_value * self.comparisons)

    @property
    def significant(self) -> bool:
        """The anytime-valid verdict: 1/2 is outside the sequence at level alpha (you may stop)."""
        return self.anytime_ci is not None and not self.anytime_ci[0] <= 0.5 <= self.anytime_ci[1]

    @property
    def fixed_n_significant(self) -> bool:
        """Exact binomial p < 0.05: meaningful only for a number of votes fixed in advance."""
        return self.p_value is not None and self.p_value < ALPHA

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            n=self.n, decided=self.decided, significant=self.significant, fixed_n_significant=self.fixed_n_significant,
            anytime_p_adjusted=self.anytime_p_adjusted,
        )  # fmt: skip
        for key in ("win_ci", "ties_half_ci", "left_ci", "anytime_ci"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data


def summarize_pair(rows: Iterable[AggRow], big: str, small: str, comparisons: int = 1) -> PairSummary:
    """Summarize the votes between `big` and `small`; rows about any other models (or a model against itself) are ignored.

    `comparisons` > 1: this summary is one of that many looked at together (categories); its anytime-valid verdict
    and sequence use alpha / comparisons (Bonferroni), so all of them together keep a 5% error rate.
    """
    big_wins = small_wins = ties = both_bad = left_wins = 0
    for row in rows:
        if {row.model_a, row.model_b} != {big, small} or big == small:
            continue
        if row.outcome == "tie":
            ties += row.count
        elif row.outcome == "both_bad":
            both_bad += row.count
        elif row.outcome in ("A", "B"):
            winner = row.model_a if row.outcome == "A" else row.model_b
            if winner == big:
                big_wins += row.count
            else:
                small_wins += row.count
            if row.outcome == "A":
                left_wins += row.count
        else:
            raise ValueError(f"unknown outcome {row.outcome!r} in an aggregated row (expected one of {OUTCOMES})")
    return _summary(big, small, big_wins, small_wins, ties, both_bad, left_wins, max(1, comparisons))


def _summary(
    big: str, small: str, big_wins: int, small_wins: int, ties: int, both_bad: int, left_wins: int, comparisons: int
) -> PairSummary:
    decided = big_wins + small_wins
    total = decided + ties + both_bad
    half = big_wins + (ties + both_bad) / 2.0
    alpha = ALPHA / comparisons
    return PairSummary(
        big=big,
        small=small,
        big_wins=big_wins,
        small_wins=small_wins,
        ties=ties,
        both_bad=both_bad,
        left_wins=left_wins,
        win_rate=big_wins / decided if decided else None,
        win_ci=wilson(big_wins, decided),
        ties_half_rate=half / total if total else None,
        ties_half_ci=ties_half_interval(big_wins, ties + both_bad, small_wins),
        p_value=binom_test_two_sided(big_wins, decided) if decided else None,
        more_votes_needed=votes_needed(big_wins, decided, alpha=alpha),
        left_share=left_wins / decided if decided else None,
        left_ci=wilson(left_wins, decided),
        left_p_value=binom_test_two_sided(left_wins, decided) if decided else None,
        anytime_ci=confidence_sequence(big_wins, decided, alpha=alpha),
        anytime_p_value=anytime_p_value(big_wins, decided) if decided else None,
        e_value=e_value(big_wins, decided) if decided else None,
        alpha=alpha,
        comparisons=comparisons,
    )


def summarize_by_category(rows: Iterable[AggRow], big: str, small: str) -> dict[str, PairSummary]:
    """One PairSummary per category that has votes between the pair, sorted by category name.

    Eight categories each tested at 5% would give a false "you may stop" somewhere far more than 5% of the time, so
    each category's anytime-valid verdict is Bonferroni-corrected over the categories shown (alpha / K each).
    """
    buckets: dict[str, list[AggRow]] = {}
    for row in rows:
        if {row.model_a, row.model_b} == {big, small} and big != small:
            buckets.setdefault(row.category, []).append(row)
    k = len(buckets)
    return {cat: summarize_pair(buckets[cat], big, small, comparisons=k) for cat in sorted(buckets)}
