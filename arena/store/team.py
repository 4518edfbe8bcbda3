"""What team statistics read from the vote database: who voted, and each vote reduced to (voter, prompt, sides, outcome).

The agreement between voters needs each vote's prompt, so unlike `VoteStore.aggregate` this reads one row per vote;
the prompt text is hashed as it streams (arena.stats.team.item_key), so memory stays at one digest per (voter, prompt)
whatever the prompts' length. The same Filters as `arena stats` select the votes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from arena.stats.team import TeamVote, item_key
from arena.store import db as dbmod
from arena.store.filters import Filters
from arena.store.votes import VoteStore

# The first user message of the left side's conversation (both sides got the same prompt). json_valid first: a
# hand-edited or foreign row with broken JSON must read as "no prompt", not abort the query.
_PROMPT = (
    "CASE WHEN json_valid(conversation_a) THEN (SELECT json_extract(value, '$.content') FROM json_each(conversation_a) "
    "WHERE json_extract(value, '$.role') = 'user' LIMIT 1) END"
)


def voters_sql(filters: Filters) -> tuple[str, list[object]]:
    where, params = filters.where()
    return f"SELECT voter, count(*) FROM battles {where} GROUP BY voter ORDER BY voter", params


def voters(store: VoteStore, filters: Filters) -> dict[str | None, int]:
    """Votes per voter (None: votes without a name) among the votes matching `filters`: from the covering index."""
    return {voter: int(n) for voter, n in store._query(*voters_sql(filters))}  # same package: the store's lock and errors


def team_votes_sql(filters: Filters) -> tuple[str, list[object]]:
    where, params = filters.where()
    return f"SELECT voter, model_a, model_b, outcome, tstamp, uuid, {_PROMPT} FROM battles {where}", params


def iter_team_votes(store: VoteStore, filters: Filters) -> Iterator[TeamVote]:
    """The votes matching `filters` as TeamVotes, streamed from one read snapshot on a connection of its own."""
    sql, params = team_votes_sql(filters)
    try:
        reader = sqlite3.connect(str(store.path), timeout=store.timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise dbmod.translate(exc, store.path, "read") from exc
    try:
        cursor = reader.execute(sql, params)
        while batch := cursor.fetchmany(1000):
            for voter, a, b, outcome, tstamp, uuid, prompt in batch:
                item = item_key(prompt if isinstance(prompt, str) else None)
                yield TeamVote(voter=voter, item=item, model_a=a, model_b=b, outcome=outcome, order=(tstamp, uuid))
    except sqlite3.Error as exc:
        raise dbmod.translate(exc, store.path, "read") from exc
    finally:
        reader.close()
