"""The vote store: SQLite via sqlite-utils, numbered migrations, WAL, one committed transaction per vote."""

from arena.store.filters import ALL_VOTES, Filters
from arena.store.migrations import LATEST as SCHEMA_VERSION
from arena.store.votes import VOTE_COLUMNS, VoteStore, vote_to_record

__all__ = ["ALL_VOTES", "SCHEMA_VERSION", "VOTE_COLUMNS", "Filters", "VoteStore", "vote_to_record"]
