"""Objective checks per model: how often each model's answer passed the suite's automatic check (final number, JSON shape).

Pure: the input is a handful of rows aggregated by SQLite (arena.store.checks), never one row per vote.

Two views, because they answer different questions:
- per model (and per category, per check type): passed / run with a Wilson 95% CI. Easy to read, but the two models may
  have been checked on different prompt mixes if one side's check is missing.
- head to head (two models): only rounds where both answers were checked, counting the prompts where exactly one model
  passed. Both answered the same prompt, so this is a paired comparison: an exact two-sided binomial test on those
  discordant prompts (McNemar's exact test) says whether one model passes more often than the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from arena.stats.intervals import binom_test_two_sided, wilson
from arena.stats.verdict import format_p


@dataclass(frozen=True)
class CheckRow:
    """`count` rounds with `model_a` in the left pane and `model_b` in the right, in `category`, with a check of
    `check_type`; passed_a / passed_b are True/False, or None when that side's answer was not checked."""

    model_a: str
    model_b: str
    category: str
    check_type: str
    passed_a: bool | None
    passed_b: bool | None
    count: int


@dataclass(frozen=True)
class Tally:
    run: int = 0
    passed: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.run if self.run else None

    @property
    def ci(self) -> tuple[float, float] | None:
        return wilson(self.passed, self.run)

    def plus(self, passed: bool, count: int) -> Tally:
        return Tally(self.run + count, self.passed + (count if passed else 0))

    def to_dict(self) -> dict[str, Any]:
        ci = self.ci
        return {"run": self.run, "passed": self.passed, "pass_rate": self.rate, "ci95": None if ci is None else list(ci)}


@dataclass(frozen=True)
class HeadToHead:
    """Rounds where both answers were checked: `first` passed alone, `second` passed alone, both, neither."""

    first: str
    second: str
    first_only: int
    second_only: int
    both: int
    neither: int

    @property
    def rounds(self) -> int:
        return self.first_only + self.second_only + self.both + self.neither

    @property
    def discordant(self) -> int:
        return self.first_only + self.second_only

    @property
    def p_value(self) -> float | None:
        """Exact two-sided binomial test of first_only against half the discordant prompts (McNemar exact)."""
        return binom_test_two_sided(self.first_only, self.discordant) if self.discordant else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first, "second": self.second, "first_only": self.first_only, "second_only": self.second_only,
            "both": self.both, "neither": self.neither, "rounds": self.rounds, "p_value": self.p_value,
        }  # fmt: skip


@dataclass(frozen=True)
class ChecksSummary:
    models: list[str]  # display order: the given order first, then any other model with checks, by id
    overall: dict[str, Tally]
    by_category: dict[str, dict[str, Tally]]  # category -> model -> tally; categories sorted
    by_type: dict[str, dict[str, Tally]]  # check type ("number", "json") -> model -> tally
    head_to_head: HeadToHead | None = None  # when exactly two models were checked
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(t.run for t in self.overall.values())

    def label(self, model: str) -> str:
        return self.labels.get(model, model)

    def to_dict(self) -> dict[str, Any]:
        def per_model(tallies: dict[str, Tally]) -> dict[str, Any]:
            return {m: {**t.to_dict(), "label": self.label(m)} for m, t in tallies.items()}

        return {
            "models": per_model(self.overall),
            "categories": {c: per_model(t) for c, t in self.by_category.items()},
            "check_types": {c: per_model(t) for c, t in self.by_type.items()},
            "head_to_head": None if self.head_to_head is None else self.head_to_head.to_dict(),
        }


def summarize_checks(
    rows: Iterable[CheckRow], models: Sequence[str] = (), labels: dict[str, str] | None = None
) -> ChecksSummary:
    """Fold aggregated rows into per-model tallies (overall, per category, per check type) and the paired comparison."""
    overall: dict[str, Tally] = {}
    by_category: dict[str, dict[str, Tally]] = {}
    by_type: dict[str, dict[str, Tally]] = {}
    pairs: dict[tuple[str, str], list[int]] = {}  # (x, y) sorted -> [x only, y only, both, neither]
    for row in rows:
        for model, passed in ((row.model_a, row.passed_a), (row.model_b, row.passed_b)):
            if passed is None:
                continue
            overall[model] = overall.get(model, Tally()).plus(passed, row.count)
            cat = by_category.setdefault(row.category, {})
            cat[model] = cat.get(model, Tally()).plus(passed, row.count)
            typ = by_type.setdefault(row.check_type, {})
            typ[model] = typ.get(model, Tally()).plus(passed, row.count)
        if row.passed_a is None or row.passed_b is None or row.model_a == row.model_b:
            continue
        (x, px), (y, py) = sorted(((row.model_a, row.passed_a), (row.model_b, row.passed_b)))
        cell = pairs.setdefault((x, y), [0, 0, 0, 0])
        cell[0 if px and not py else 1 if py and not px else 2 if px else 3] += row.count

    order = [m for m in models if m in overall] + sorted(m for m in overall if m not in models)

    def ordered(tallies: dict[str, Tally]) -> dict[str, Tally]:
        return {m: tallies[m] for m in order if m in tallies}

    head: HeadToHead | None = None
    if len(order) == 2:
        first, second = order
        key = tuple(sorted((first, second)))
        cell = pairs.get(key)  # type: ignore[arg-type]
        if cell is not None:
            x_only, y_only, both, neither = cell
            if key[0] != first:
                x_only, y_only = y_only, x_only
            head = HeadToHead(first, second, x_only, y_only, both, neither)
    return ChecksSummary(
        models=order,
        overall=ordered(overall),
        by_category={c: ordered(t) for c, t in sorted(by_category.items())},
        by_type={c: ordered(t) for c, t in sorted(by_type.items())},
        head_to_head=head,
        labels=dict(labels or {}),
    )


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f}"


def tally_text(label: str, t: Tally) -> str:
    """"Gemma 3 270M 4/10 passed (40%, 95% CI 17-69%)"."""
    if not t.run or t.rate is None or t.ci is None:
        return f"{label} no checked answers"
    lo, hi = t.ci
    return f"{label} {t.passed}/{t.run} passed ({_pct(t.rate)}%, 95% CI {_pct(lo)}-{_pct(hi)}%)"


def tallies_text(summary: ChecksSummary, tallies: dict[str, Tally]) -> str:
    return " · ".join(tally_text(summary.label(m), t) for m, t in tallies.items())


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def head_to_head_text(summary: ChecksSummary) -> str | None:
    """The paired comparison in plain words, or None when there is none."""
    h = summary.head_to_head
    if h is None:
        return None
    a, b = summary.label(h.first), summary.label(h.second)
    start = f"On the {h.rounds} round{'s' if h.rounds != 1 else ''} where both answers were checked"
    if h.discordant == 0:
        return f"{start}, neither model ever passed alone: no difference to test yet."
    assert h.p_value is not None
    facts = (
        f"{start}, {a} alone passed {_times(h.first_only)} and {b} alone {_times(h.second_only)} "
        f"(paired exact test, {format_p(h.p_value)})"
    )
    if h.p_value < 0.05:
        leader = a if h.first_only > h.second_only else b
        return f"{facts}: {leader} passes significantly more often."
    return f"{facts}: no significant difference yet."
