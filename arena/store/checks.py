"""Objective-check counts per model, aggregated by SQLite from the per-side checks JSON columns (checks_a, checks_b).

Each stored check is {"type": "number"|"json", "passed": true|false, "detail": "..."} (arena.battle.session). SQLite's
json_extract reads the two fields, and GROUP BY folds every matching vote into a few rows per
(left model, right model, category, check type, passed left, passed right): memory stays bounded at any number of
votes, and the same Filters as `arena stats` select the votes.
"""

from __future__ import annotations

from arena.stats.checks import CheckRow
from arena.store.filters import Filters
from arena.store.votes import VoteStore

_ALL_MATCHUPS = Filters()  # the stats default: every matchup, identity leaks excluded


def _side(column: str, field: str) -> str:
    # json_valid first: a hand-edited or foreign row with broken JSON must count as "not checked", not abort the query.
    return f"CASE WHEN json_valid({column}) THEN json_extract({column}, '$.{field}') END"


def checks_sql(filters: Filters) -> tuple[str, list[object]]:
    """The aggregate query over objective checks (exposed so tests can inspect it and its plan)."""
    where, params = filters.where()
    has_checks = "(checks_a IS NOT NULL OR checks_b IS NOT NULL)"
    where = f"{where} AND {has_checks}" if where else f"WHERE {has_checks}"
    sql = (
        "SELECT model_a, model_b, category, "
        f"coalesce({_side('checks_a', 'type')}, {_side('checks_b', 'type')}) AS check_type, "
        f"{_side('checks_a', 'passed')} AS passed_a, {_side('checks_b', 'passed')} AS passed_b, count(*) "
        f"FROM battles {where} GROUP BY model_a, model_b, category, check_type, passed_a, passed_b"
    )
    return sql, params


def _flag(value: object) -> bool | None:
    # json_extract turns JSON true/false into 1/0; anything else (missing "passed", null) means the side was not checked.
    if value in (0, 1) and not isinstance(value, str):
        return bool(value)
    return None


def aggregate_checks(store: VoteStore, filters: Filters = _ALL_MATCHUPS) -> list[CheckRow]:
    """Objective-check counts of the votes matching `filters` (same semantics as VoteStore.aggregate)."""
    rows = store._query(*checks_sql(filters))  # same package: shares the store's lock and error translation
    out: list[CheckRow] = []
    for model_a, model_b, category, check_type, passed_a, passed_b, count in rows:
        a, b = _flag(passed_a), _flag(passed_b)
        if a is None and b is None:
            continue
        out.append(CheckRow(model_a, model_b, category, str(check_type or "unknown"), a, b, int(count)))
    return out
