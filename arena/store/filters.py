"""Which votes a query covers: the filters shared by `arena stats`, `arena export` and the TUI, as SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from arena.errors import UsageError

_TIME_FIX = "use a date (2024-05-31) or a date and time (2024-05-31T18:00, optionally with +02:00 or Z; naive times are UTC)"


def canonical_tstamp(value: str | datetime) -> str:
    """UTC ISO 8601 with milliseconds, e.g. 2024-05-31T18:00:00.000+00:00: one fixed width, so string order = time order."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _bound(value: str, option: str, *, upper: bool) -> tuple[str, str]:
    """(SQL operator, canonical tstamp) for a --since/--until value. A bare date covers that whole day."""
    text = value.strip()
    try:
        if len(text) == 10:  # YYYY-MM-DD: the whole day, in UTC
            day = date.fromisoformat(text)
            if upper:
                return "<", canonical_tstamp(datetime.combine(day + timedelta(days=1), time()))
            return ">=", canonical_tstamp(datetime.combine(day, time()))
        return ("<=" if upper else ">="), canonical_tstamp(text)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date or time", _TIME_FIX) from None


@dataclass(frozen=True)
class Filters:
    matchup: str | None = None
    category: str | None = None
    since: str | None = None  # inclusive; ISO date or datetime
    until: str | None = None  # inclusive; a bare date includes that whole day
    voter: str | None = None
    include_leaks: bool = False  # votes whose answers named a model family are excluded unless asked for

    def where(self) -> tuple[str, list[object]]:
        """A WHERE clause (or "") and its parameters. Raises UsageError for a bad --since/--until."""
        clauses: list[str] = []
        params: list[object] = []
        if self.matchup is not None:
            clauses.append("matchup_id = ?")
            params.append(self.matchup)
        if not self.include_leaks:
            clauses.append("identity_leak = 0")
        if self.category is not None:
            clauses.append("category = ?")
            params.append(self.category)
        if self.since:
            op, stamp = _bound(self.since, "--since", upper=False)
            clauses.append(f"tstamp {op} ?")
            params.append(stamp)
        if self.until:
            op, stamp = _bound(self.until, "--until", upper=True)
            clauses.append(f"tstamp {op} ?")
            params.append(stamp)
        if self.voter is not None:
            clauses.append("voter = ?")
            params.append(self.voter)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


ALL_VOTES = Filters(include_leaks=True)
