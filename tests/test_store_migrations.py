"""Schema migrations: a real v1 database (as the first release wrote it) is upgraded in place, votes intact."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from arena.errors import StoreError
from arena.store import SCHEMA_VERSION, Filters, VoteStore, migrations
from arena.store.db import connect
from arena.store.synthetic import FACTS, make_record
from arena.store.votes import aggregate_sql

# The column list the v1 code inserted (before checks_a / checks_b existed).
V1_COLUMNS = [
    "uuid", "tstamp", "matchup_id", "model_a", "model_b", "big_model", "small_model", "outcome", "winner_model",
    "display_policy", "identity_leak", "leak_terms", "category", "suite_id", "prompt_id", "voter", "app_version",
    "conversation_a", "sampling_a", "seeds_a", "timings_a", "finish_reasons_a", "stopped_a",
    "conversation_b", "sampling_b", "seeds_b", "timings_b", "finish_reasons_b", "stopped_b",
]  # fmt: skip


def _make_v1_db(path: Path, n: int) -> list[str]:
    """A version-1 DB holding n votes, written with v1's columns only."""
    conn = connect(path)
    assert migrations.migrate(conn, path, upto=1) == 1
    rng = random.Random(7)
    uuids = []
    conn.execute("BEGIN IMMEDIATE")
    for model in FACTS.values():
        conn.execute(
            "INSERT INTO models (id, name, source, quant_type, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
            (model.id, model.name, model.source, model.quant_type, "2024-12-01T00:00:00.000+00:00", "2024-12-02T00:00:00.000+00:00"),
        )
    for i in range(n):
        rec = make_record(i, rng)
        rec.identity_leak = False
        row = {
            "uuid": rec.uuid, "tstamp": rec.tstamp, "matchup_id": rec.matchup_id,
            "model_a": rec.model_a, "model_b": rec.model_b, "big_model": rec.big_model, "small_model": rec.small_model,
            "outcome": rec.outcome.value, "winner_model": rec.winner_model, "display_policy": rec.display_policy,
            "identity_leak": 0, "leak_terms": "[]", "category": rec.category, "suite_id": rec.suite_id,
            "prompt_id": rec.prompt_id, "voter": rec.voter, "app_version": "0.0.1",
        }  # fmt: skip
        for s, side in (("a", rec.side_a), ("b", rec.side_b)):
            row |= {
                f"conversation_{s}": json.dumps(side.messages), f"sampling_{s}": json.dumps(side.sampling),
                f"seeds_{s}": json.dumps(side.seeds), f"timings_{s}": json.dumps(side.timings),
                f"finish_reasons_{s}": json.dumps(side.finish_reasons), f"stopped_{s}": int(side.stopped),
            }  # fmt: skip
        conn.execute(f"INSERT INTO battles ({', '.join(V1_COLUMNS)}) VALUES ({', '.join('?' * len(V1_COLUMNS))})",
                     [row[c] for c in V1_COLUMNS])  # fmt: skip
        uuids.append(rec.uuid)
    conn.execute("COMMIT")
    conn.close()
    return uuids


def _columns(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[1] for r in conn.execute("PRAGMA table_info(battles)")}
    finally:
        conn.close()


def test_v1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "votes.db"
    uuids = _make_v1_db(path, 50)
    assert "checks_a" not in _columns(path)

    with VoteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == len(migrations.MIGRATIONS)
        assert store.count() == 50
        old = store.get_vote(uuids[0])
        assert old is not None and old["checks_a"] is None and old["app_version"] == "0.0.1"
        # The new column works for new votes.
        rec = make_record(999, random.Random(1))
        rec.side_b.checks = {"json_valid": False}
        store.record_vote(rec, FACTS)
        assert store.get_vote(rec.uuid)["checks_b"] == {"json_valid": False}  # type: ignore[index]
        # Old and new votes aggregate together.
        assert store.count(Filters()) == 51 - int(rec.identity_leak)
        # The aggregate query is answered from the covering index added by migration 2.
        # aggregate() runs one query per matchup; each must be answered from the index, without a sort.
        for f in (Filters(matchup=rec.matchup_id), Filters(matchup="m", include_leaks=True),
                  Filters(matchup="m", category="code", since="2025-01-01", voter="ann")):  # fmt: skip
            sql, params = aggregate_sql(f)
            plan = " | ".join(str(step) for step in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "COVERING INDEX idx_battles_agg" in plan and "TEMP B-TREE" not in plan, plan
        # The objective-check summary is answered from the partial covering index of migration 3.
        from arena.store.checks import checks_sql

        sql, params = checks_sql(Filters(matchup=rec.matchup_id))
        plan = " | ".join(str(step) for step in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "COVERING INDEX idx_battles_checks" in plan, plan
    assert {"checks_a", "checks_b"} <= _columns(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_upgrade_is_idempotent_and_reopen_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "votes.db"
    _make_v1_db(path, 3)
    VoteStore(path).close()
    with VoteStore(path) as store:  # a second open must not re-run migration 2 (it would fail: column exists)
        assert store.schema_version == SCHEMA_VERSION and store.count() == 3


def test_failed_migration_leaves_the_old_version_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "votes.db"
    _make_v1_db(path, 5)

    def broken(db: object) -> None:
        migrations._v2_checks_and_covering_index(db)  # type: ignore[arg-type]
        raise sqlite3.OperationalError("disk I/O error")  # e.g. the disk failed half way through the upgrade

    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations.MIGRATIONS[0], broken])
    with pytest.raises(StoreError, match="upgrade"):
        VoteStore(path)
    assert "checks_a" not in _columns(path)  # the half-done ALTER TABLE was rolled back with the version bump
    monkeypatch.undo()
    with VoteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION and store.count() == 5
