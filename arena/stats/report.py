"""Everything `arena stats` and the TUI's results screen show, computed once from aggregated rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arena.stats.bradley_terry import DEFAULT_ROUNDS, DEFAULT_SEED, Rating, bootstrap_ratings
from arena.stats.counts import AggRow
from arena.stats.pair import PairSummary, summarize_by_category, summarize_pair
from arena.stats.verdict import FIXED_N_LABEL, fixed_n_verdict, verdict


@dataclass(frozen=True)
class Report:
    big: str
    small: str
    pair: PairSummary  # all categories together
    categories: dict[str, PairSummary]  # per category, sorted by name
    ratings: list[Rating]  # Bradley-Terry over every model in the rows, best first
    verdict: str  # anytime-valid: safe however often the person looked
    labels: dict[str, str] = field(default_factory=dict)  # model id -> display label
    matchup: str | None = None
    bootstrap_rounds: int = DEFAULT_ROUNDS
    seed: int = DEFAULT_SEED
    category_verdicts: dict[str, str] = field(default_factory=dict)  # anytime-valid, Bonferroni over the categories
    fixed_n_verdict: str = ""  # Wilson + exact binomial: only for a number of votes fixed in advance
    fixed_n_category_verdicts: dict[str, str] = field(default_factory=dict)  # uncorrected, fixed-n
    category_verdicts: dict[str, str] = field(default_factory=dict)
    # What the files say each contender is ("bigger model, more bits/weight"), and a note when the pair does not test
    # what its big/small slots claim; computed by the shell from the models' facts (arena.models.compare).
    roles: dict[str, str] = field(default_factory=dict)
    framing_note: str | None = None

    def role(self, model: str) -> str | None:
        return self.roles.get(model)

    def label(self, model: str) -> str:
        return self.labels.get(model, model)

    @property
    def empty(self) -> bool:
        return self.pair.n == 0 and not self.ratings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (plain dicts, lists, numbers, strings, None)."""
        return {
            "matchup": self.matchup,
            "big": {"id": self.big, "label": self.label(self.big), "role": self.role(self.big)},
            "small": {"id": self.small, "label": self.label(self.small), "role": self.role(self.small)},
            "verdict": self.verdict,
            "verdict_method": (
                "anytime-valid: beta-binomial mixture confidence sequence (Howard et al. 2021), "
                "valid however often the votes were looked at"
            ),
            "fixed_n_verdict": self.fixed_n_verdict,
            "fixed_n_method": FIXED_N_LABEL + ": Wilson 95% CI and exact two-sided binomial test",
            "framing_note": self.framing_note,
            "pair": self.pair.to_dict(),
            "categories": {
                name: {
                    **summary.to_dict(),
                    "verdict": self.category_verdicts.get(name),
                    "fixed_n_verdict": self.fixed_n_category_verdicts.get(name),
                }
                for name, summary in self.categories.items()
            },
            "category_correction": {
                "method": "bonferroni",
                "categories": len(self.categories),
                "alpha_each": 0.05 / max(1, len(self.categories)),
            },
            "bradley_terry": {
                "scale": "elo (400 * log10), mean 1000; ties and both-bad count as half a win each",
                "bootstrap_rounds": self.bootstrap_rounds,
                "seed": self.seed,
                "ratings": [{**r.to_dict(), "label": self.label(r.model)} for r in self.ratings],
            },
        }


def build_report(
    rows: Iterable[AggRow],
    big: str,
    small: str,
    labels: Mapping[str, str] | None = None,
    *,
    matchup: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    roles: Mapping[str, str] | None = None,
    framing_note: str | None = None,
) -> Report:
    """Pair summary (overall and per category), verdicts, and Bradley-Terry ratings with bootstrap CIs."""
    rows = list(rows)  # aggregated: a few rows per (pair, outcome, category), never per vote
    names = dict(labels or {})
    pair = summarize_pair(rows, big, small)
    categories = summarize_by_category(rows, big, small)
    big_label, small_label = names.get(big, big), names.get(small, small)
    return Report(
        big=big,
        small=small,
        pair=pair,
        categories=categories,
        ratings=bootstrap_ratings(rows, rounds=rounds, seed=seed),
        verdict=verdict(pair, big_label, small_label) + (f" {framing_note}" if framing_note else ""),
        labels=names,
        matchup=matchup,
        bootstrap_rounds=rounds,
        seed=seed,
        category_verdicts={name: verdict(s, big_label, small_label) for name, s in categories.items()},
        fixed_n_verdict=fixed_n_verdict(pair, big_label, small_label) + (f" {framing_note}" if framing_note else ""),
        fixed_n_category_verdicts={name: fixed_n_verdict(s, big_label, small_label) for name, s in categories.items()},
        roles=dict(roles or {}),
        framing_note=framing_note,
    )
