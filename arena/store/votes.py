"""VoteStore: the one object the TUI, the CLI and the benchmarks use to write and read votes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.errors import StoreError
from arena.paths import default_db_path
from arena.stats.counts import AggRow
from arena.store import db as dbmod
from arena.store import migrations
from arena.store.columns import BOOL_COLUMNS, JSON_COLUMNS, MODEL_COLUMNS, VOTE_COLUMNS
from arena.store.filters import ALL_VOTES, Filters, canonical_tstamp

if TYPE_CHECKING:
    from arena.store.merge import MergeResult

_INSERT_VOTE = f"INSERT INTO battles ({', '.join(VOTE_COLUMNS)}) VALUES ({', '.join('?' * len(VOTE_COLUMNS))})"
_FACT_COLUMNS = MODEL_COLUMNS[1:-2]
# Facts follow the newest vote (a re-downloaded file updates them); first/last_seen only ever widen.
_UPSERT_MODEL = (
    f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) VALUES ({', '.join('?' * len(MODEL_COLUMNS))}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _FACT_COLUMNS)
    + ", first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)"
)
# A model the caller gave no facts for still needs its row (foreign key); keep whatever facts are known.
_TOUCH_MODEL = (
    "INSERT INTO models (id, name, source, first_seen, last_seen) VALUES (?, ?, 'unknown', ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), "
    "last_seen = max(last_seen, excluded.last_seen)"
)


def _dumps(value: Any) -> str:
    # ensure_ascii: any Python str, even one with a lone surrogate from a remote server's JSON, stores and exports exactly.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def vote_row(rec: BattleRecord) -> tuple[Any, ...]:
    """The battles row for a record, in VOTE_COLUMNS order."""
    outcome = Vote(rec.outcome)
    values: dict[str, Any] = {
        "uuid": rec.uuid,
        "tstamp": canonical_tstamp(rec.tstamp),
        "matchup_id": rec.matchup_id,
        "model_a": rec.model_a,
        "model_b": rec.model_b,
        "big_model": rec.big_model,
        "small_model": rec.small_model,
        "outcome": outcome.value,
        "winner_model": rec.winner_model,
        "display_policy": rec.display_policy,
        "identity_leak": int(bool(rec.identity_leak)),
        "leak_terms": _dumps(list(rec.leak_terms)),
        "category": rec.category,
        "suite_id": rec.suite_id,
        "prompt_id": rec.prompt_id,
        "voter": rec.voter,
        "app_version": rec.app_version,
    }
    for suffix, side in (("a", rec.side_a), ("b", rec.side_b)):
        values[f"conversation_{suffix}"] = _dumps(side.messages)
        values[f"sampling_{suffix}"] = _dumps(side.sampling)
        values[f"seeds_{suffix}"] = _dumps(side.seeds)
        values[f"timings_{suffix}"] = _dumps(side.timings)
        values[f"finish_reasons_{suffix}"] = _dumps(side.finish_reasons)
        values[f"stopped_{suffix}"] = int(bool(side.stopped))
        values[f"checks_{suffix}"] = None if side.checks is None else _dumps(side.checks)
    return tuple(values[c] for c in VOTE_COLUMNS)


def decode_vote(columns: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    """A battles row as a dict: JSON columns parsed, flags as bools."""
    vote = dict(zip(columns, row))
    for name in JSON_COLUMNS.intersection(vote):
        if vote[name] is not None:
            vote[name] = json.loads(vote[name])
    for name in BOOL_COLUMNS.intersection(vote):
        vote[name] = bool(vote[name])
    return vote


def vote_to_record(vote: Mapping[str, Any]) -> BattleRecord:
    """The BattleRecord a decoded vote came from (inverse of record_vote, up to tstamp normalization)."""

    def side(s: str) -> SideRecord:
        return SideRecord(
            model_id=vote[f"model_{s}"],
            messages=vote[f"conversation_{s}"],
            sampling=vote[f"sampling_{s}"],
            seeds=vote[f"seeds_{s}"],
            timings=vote[f"timings_{s}"],
            finish_reasons=vote[f"finish_reasons_{s}"],
            stopped=vote[f"stopped_{s}"],
            checks=vote.get(f"checks_{s}"),
        )

    return BattleRecord(
        matchup_id=vote["matchup_id"], big_model=vote["big_model"], small_model=vote["small_model"],
        side_a=side("a"), side_b=side("b"), outcome=Vote(vote["outcome"]), display_policy=vote["display_policy"],
        identity_leak=vote["identity_leak"], leak_terms=vote["leak_terms"], category=vote["category"],
        suite_id=vote["suite_id"], prompt_id=vote["prompt_id"], voter=vote["voter"], app_version=vote["app_version"],
        uuid=vote["uuid"], tstamp=vote["tstamp"],
    )  # fmt: skip


def aggregate_sql(filters: Filters) -> tuple[str, list[object]]:
    """The aggregate query (see VoteStore.aggregate), exposed so tests can check its query plan."""
    where, params = filters.where()
    return (
        f"SELECT model_a, model_b, outcome, category, count(*) FROM battles {where} "
        "GROUP BY matchup_id, identity_leak, model_a, model_b, outcome, category",
        params,
    )


class VoteStore:
    """The vote database. Thread-safe (one connection behind a lock); every write is one committed transaction."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        timeout: float = dbmod.DEFAULT_TIMEOUT_S,
        create: bool = True,
        synchronous: str = "FULL",
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.timeout = timeout
        if not create and not self.path.exists():
            raise StoreError(
                f"There is no vote database at {self.path} yet",
                "vote in the arena first (run `arena`), or point --db / ARENA_DB at an existing votes.db",
            )
        if self.path.is_dir():
            raise StoreError(f"The vote database path {self.path} is a folder", "pass a file name with --db FILE")
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = dbmod.connect(self.path, timeout=timeout, synchronous=synchronous)
        try:
            self.schema_version = migrations.migrate(self._conn, self.path)
        except sqlite3.Error as exc:
            self.close()
            raise dbmod.translate(exc, self.path, "open") from exc
        except BaseException:
            self.close()
            raise

    # -- lifecycle --------------------------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The vote database {self.path} was already closed", "open a new VoteStore")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> VoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------------------------
    def record_vote(self, rec: BattleRecord, facts: Mapping[str, ModelFacts]) -> None:
        """Save both models' facts and the vote in one transaction; durable when this returns. Raises StoreError."""
        try:
            row = vote_row(rec)
        except (ValueError, TypeError) as exc:  # bad outcome, tstamp or non-JSON value: a caller bug, never a silent loss
            raise StoreError(f"The vote {rec.uuid} is malformed and was not saved: {exc}", "report this as a bug") from exc
        stamp = row[1]
        with self._lock, dbmod.write(self.conn, self.path, "save the vote to") as conn:
            for model_id in dict.fromkeys((rec.model_a, rec.model_b, rec.big_model, rec.small_model)):
                fact = facts.get(model_id)
                if fact is None:
                    conn.execute(_TOUCH_MODEL, (model_id, model_id, stamp, stamp))
                else:
                    values = fact.to_dict()
                    values.update(id=model_id, requantized=int(bool(fact.requantized)), first_seen=stamp, last_seen=stamp)
                    conn.execute(_UPSERT_MODEL, tuple(values[c] for c in MODEL_COLUMNS))
            conn.execute(_INSERT_VOTE, row)

    @contextlib.contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """A write transaction on this store's connection (for bulk jobs such as merge); StoreError on failure."""
        with self._lock, dbmod.write(self.conn, self.path, action) as conn:
            yield conn

    def merge_from(self, other: Path | str) -> MergeResult:
        """Copy the votes (and their models) of another arena DB into this one; idempotent by vote uuid."""
        from arena.store.merge import merge_into

        return merge_into(self, Path(other).expanduser())

    # -- reading ----------------------------------------------------------------------------------------------------
    def _query(self, sql: str, params: list[object] | tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise dbmod.translate(exc, self.path, "read") from exc

    def aggregate(self, filters: Filters = Filters()) -> list[AggRow]:
        """Vote counts per (left model, right model, outcome, category), computed by SQLite from a covering index.

        One query per matchup, all in one read snapshot: with matchup_id (and identity_leak) fixed by equality, SQLite
        walks idx_battles_agg in GROUP BY order and aggregates as it goes, whatever its statistics say. One query over
        all matchups at once makes it sort 1M index entries in a temporary b-tree instead (4x slower at 1M votes).
        """
        totals: dict[tuple[str, str, str, str], int] = {}
        with self._lock, self._snapshot():
            matchups = [filters.matchup] if filters.matchup is not None else self.matchups()
            for matchup in matchups:
                for a, b, outcome, category, n in self._query(*aggregate_sql(replace(filters, matchup=matchup))):
                    key = (a, b, outcome, category)
                    totals[key] = totals.get(key, 0) + n
        return [AggRow(*key, count=n) for key, n in sorted(totals.items())]

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read transaction: the queries inside see one consistent state of the DB (WAL: writers are not blocked)."""
        nested = self.conn.in_transaction
        if not nested:
            self._query("BEGIN")
        try:
            yield
        finally:
            if not nested and self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # ending a read-only transaction loses nothing
                    self.conn.execute("ROLLBACK")

    def count(self, filters: Filters | None = None) -> int:
        """Number of votes matching `filters` (all votes, leaks included, when None)."""
        where, params = (filters or ALL_VOTES).where()
        return int(self._query(f"SELECT count(*) FROM battles {where}", params)[0][0])

    def matchups(self) -> list[str]:
        # A loose index scan (one index seek per matchup), not DISTINCT, which would read the whole index.
        rows = self._query(
            "WITH RECURSIVE m(id) AS (SELECT min(matchup_id) FROM battles UNION ALL "
            "SELECT (SELECT min(matchup_id) FROM battles WHERE matchup_id > m.id) FROM m WHERE m.id IS NOT NULL) "
            "SELECT id FROM m WHERE id IS NOT NULL"
        )
        return [r[0] for r in rows]

    matchup_ids = matchups  # the name arena/cli/cmd_stats.py uses

    def matchup_models(self, matchup_id: str) -> tuple[str, str] | None:
        """(big, small) model ids of the latest vote in this matchup, or None if it has no votes."""
        rows = self._query(
            "SELECT big_model, small_model FROM battles WHERE matchup_id = ? ORDER BY tstamp DESC LIMIT 1", (matchup_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def voted_prompt_ids(self, matchup_id: str, suite_id: str, voter: str | None = None) -> set[str]:
        """Prompts of a suite already voted on in this matchup, so a suite run can resume where it stopped.

        With `voter`: only that voter's votes. In a team every voter walks the whole suite, so prompts repeat across
        voters (what inter-voter agreement needs), and one voter's progress never shows in another's session."""
        sql = "SELECT DISTINCT prompt_id FROM battles WHERE matchup_id = ? AND suite_id = ? AND prompt_id IS NOT NULL"
        params: tuple[str, ...] = (matchup_id, suite_id)
        if voter is not None:
            sql += " AND voter = ?"
            params += (voter,)
        return {r[0] for r in self._query(sql, params)}

    def models(self) -> dict[str, ModelFacts]:
        """Facts of every model that has a vote, by id."""
        rows = self._query(f"SELECT {', '.join(MODEL_COLUMNS[:-2])} FROM models ORDER BY id")
        facts: dict[str, ModelFacts] = {}
        for row in rows:
            values = dict(zip(MODEL_COLUMNS, row))
            values["requantized"] = bool(values["requantized"])
            facts[row[0]] = ModelFacts(**values)
        return facts

    def get_vote(self, uuid: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {', '.join(VOTE_COLUMNS)} FROM battles WHERE uuid = ?", (uuid,))
        return decode_vote(VOTE_COLUMNS, rows[0]) if rows else None

    def iter_votes(self, filters: Filters = ALL_VOTES) -> Iterator[dict[str, Any]]:
        """Votes in time order, streamed row by row from one consistent snapshot (memory stays flat at any size).

        Uses its own connection, so writes on this store (other threads) are neither blocked by nor mixed into it.
        """
        where, params = filters.where()
        sql = f"SELECT {', '.join(VOTE_COLUMNS)} FROM battles {where} ORDER BY tstamp, uuid"
        try:
            reader = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise dbmod.translate(exc, self.path, "read") from exc
        try:
            cursor = reader.execute(sql, params)
            while True:
                batch = cursor.fetchmany(500)
                if not batch:
                    return
                for row in batch:
                    yield decode_vote(VOTE_COLUMNS, row)
        except sqlite3.Error as exc:
            raise dbmod.translate(exc, self.path, "read") from exc
        finally:
            reader.close()
