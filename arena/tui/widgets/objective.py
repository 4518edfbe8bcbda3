"""The statistics screen's block of objective scores (`arena score`) beside the votes."""

from __future__ import annotations

from rich.text import Text

from arena.stats.objective import objective_lines
from arena.stats.report import Report
from arena.store import VoteStore
from arena.store.scores import matchup_scores


def objective_block(store: VoteStore, report: Report) -> Text | None:
    """The matchup's objective scores beside the votes (None when `arena score` has not scored both models)."""
    found = matchup_scores(store, report.big, report.small)
    if found is None:
        return None
    pair = report.pair
    lines = objective_lines(
        *found, big_wins=pair.big_wins, small_wins=pair.small_wins, significant=bool(pair.significant), labels=report.labels
    )
    t = Text()
    t.append(lines[0] + "\n", style="bold")
    for line in lines[1:-1]:
        t.append(line + "\n")
    t.append(lines[-1].strip() + "\n", style="italic")
    return t
