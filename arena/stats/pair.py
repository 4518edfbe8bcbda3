"""Two-model summary: who wins, by how much, how sure we are, and whether the left pane is favoured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from arena.stats.counts import AggRow
from arena.stats.intervals import binom_test_two_sided, votes_needed, wilson

OUTCOMES = ("A", "B", "tie", "both_bad")


@dataclass(frozen=True)
class PairSummary:
    """Counts and statistics for `big` versus `small`. Rates are fractions in [0, 1]; None when undefined (no votes).

    - win_rate / win_ci: big's share of decided votes (A or B), Wilson 95% score interval.
    - ties_half_rate / ties_half_ci: (big wins + (ties + both_bad)/2) / all votes. Both-bad counts as a tie, as in
      FastChat ("tie (bothbad)"): it says neither answer was better. CI: the Wilson formula with a fractional count
      (slightly conservative because a tie varies less than a coin flip).
    - p_value: exact two-sided binomial test of big's decided wins against 1/2 (ties and both-bad left out).
    - more_votes_needed: see arena.stats.intervals.votes_needed (decided votes at the current rate).
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

    @property
    def n(self) -> int:
        return self.big_wins + self.small_wins + self.ties + self.both_bad

    @property
    def decided(self) -> int:
        return self.big_wins + self.small_wins

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(n=self.n, decided=self.decided, significant=self.significant)
        for key in ("win_ci", "ties_half_ci", "left_ci"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data


def summarize_pair(rows: Iterable[AggRow], big: str, small: str) -> PairSummary:
    """Summarize the votes between `big` and `small`; rows about any other models (or a model against itself) are ignored."""
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
    return _summary(big, small, big_wins, small_wins, ties, both_bad, left_wins)


def _summary(big: str, small: str, big_wins: int, small_wins: int, ties: int, both_bad: int, left_wins: int) -> PairSummary:
    decided = big_wins + small_wins
    total = decided + ties + both_bad
    half = big_wins + (ties + both_bad) / 2.0
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
        ties_half_ci=wilson(half, total),
        p_value=binom_test_two_sided(big_wins, decided) if decided else None,
        more_votes_needed=votes_needed(big_wins, decided),
        left_share=left_wins / decided if decided else None,
        left_ci=wilson(left_wins, decided),
        left_p_value=binom_test_two_sided(left_wins, decided) if decided else None,
    )


def summarize_by_category(rows: Iterable[AggRow], big: str, small: str) -> dict[str, PairSummary]:
    """One PairSummary per category that has votes between the pair, sorted by category name."""
    buckets: dict[str, list[AggRow]] = {}
    for row in rows:
        if {row.model_a, row.model_b} == {big, small} and big != small:
            buckets.setdefault(row.category, []).append(row)
    return {cat: summarize_pair(buckets[cat], big, small) for cat in sorted(buckets)}
