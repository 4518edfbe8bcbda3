"""The one input shape of all statistics: vote counts aggregated in SQL by the store (bounded memory at any scale)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AggRow:
    """`count` votes where `model_a` sat in the left pane (side A), `model_b` in the right (side B), with `outcome`.

    outcome is one of "A", "B", "tie", "both_bad" (arena.records.Vote values).
    """

    model_a: str
    model_b: str
    outcome: str
    category: str
    count: int
