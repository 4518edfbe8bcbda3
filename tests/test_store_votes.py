"""VoteStore on real SQLite files: round trips, aggregates against a Python recount, filters, pragmas, errors."""

from __future__ import annotations

import collections
import dataclasses
import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from arena.records import ModelFacts, Vote
from arena.errors import StoreError, UsageError
from arena.store import SCHEMA_VERSION, Filters, VoteStore, vote_to_record
from arena.store.filters import canonical_tstamp
from arena.store.synthetic import BIG, FACTS, SMALL, make_record

NASTY = "tab\there\r\nCRLF \x00NUL \x1b[31mred\x1b[0m [bold]markup[/] \\u0041 literal-escape \"q\" 'q' 😀 中文 \ud800 lone"


def _votes(n: int, seed: int = 1) -> list:
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        rec = make_record(i, rng, matchup=rng.choice(["m1", "m2"]), voter=rng.choice(["ann", "bob", None]),
                          tstamp=datetime(2025, 3, 1, tzinfo=timezone.utc) + timedelta(hours=7 * i))  # fmt: skip
        recs.append(rec)
    return recs


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """One DB with 300 varied votes, shared by the read-only tests of this module."""
    path = tmp_path_factory.mktemp("filled") / "votes.db"
    recs = _votes(300)
    with VoteStore(path) as store:
        for rec in recs:
            store.record_vote(rec, FACTS)
    return path, recs


def test_creates_parent_dirs_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "votes.db"
    with VoteStore(path, timeout=3.5) as store:
        conn = store.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 3500
        assert store.schema_version == SCHEMA_VERSION
    assert path.is_file()


def test_vote_round_trips_exactly(tmp_path: Path) -> None:
    rec = make_record(0, random.Random(0), voter="ann")
    rec.side_a.messages[-1]["content"] = NASTY
    rec.side_b.checks = {"math_answer": "42", "ok": False, "detail": NASTY}
    rec.leak_terms = ["Qwen", NASTY]
    with VoteStore(tmp_path / "v.db") as store:
        store.record_vote(rec, FACTS)
        vote = store.get_vote(rec.uuid)
        assert vote is not None
        assert vote["conversation_a"][-1]["content"] == NASTY
        assert vote["winner_model"] == rec.winner_model
        assert vote_to_record(vote) == rec
        assert store.get_vote("no-such-uuid") is None


def test_vote_is_visible_to_another_connection_when_record_returns(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with VoteStore(path) as store:
        rec = make_record(1, random.Random(1))
        store.record_vote(rec, FACTS)
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT outcome FROM battles WHERE uuid = ?", (rec.uuid,)).fetchone() == (rec.outcome.value,)
        finally:
            other.close()


def _recount(recs: list, f: Filters) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for r in recs:
        ts = canonical_tstamp(r.tstamp)
        if f.matchup and r.matchup_id != f.matchup:
            continue
        if f.category and r.category != f.category:
            continue
        if f.voter and r.voter != f.voter:
            continue
        if not f.include_leaks and r.identity_leak:
            continue
        if f.since and ts < canonical_tstamp(f.since):
            continue
        if f.until and len(f.until) == 10 and ts[:10] > f.until:
            continue
        if f.until and len(f.until) > 10 and ts > canonical_tstamp(f.until):
            continue
        counts[(r.model_a, r.model_b, r.outcome.value, r.category)] += 1
    return counts


@pytest.mark.parametrize(
    "f",
    [
        Filters(),
        Filters(include_leaks=True),
        Filters(matchup="m1"),
        Filters(matchup="m2", category="code"),
        Filters(voter="ann", include_leaks=True),
        Filters(since="2025-03-20", until="2025-04-10"),  # bare dates: whole days, until inclusive
        Filters(since="2025-03-20T05:00", until="2025-04-10T12:30:00+02:00"),
        Filters(matchup="nope"),
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in dataclasses.asdict(f).items() if v not in (None, False)) or "default",
)
def test_aggregate_matches_python_recount(filled: tuple[Path, list], f: Filters) -> None:
    path, recs = filled
    with VoteStore(path) as store:
        rows = store.aggregate(f)
        got = {(r.model_a, r.model_b, r.outcome, r.category): r.count for r in rows}
        assert got == dict(_recount(recs, f))
        assert store.count(f) == sum(got.values())
    if f == Filters():
        assert sum(got.values()) > 200  # the fixture really has votes and most survive the default filter


def test_until_bare_date_includes_the_whole_day(tmp_path: Path) -> None:
    with VoteStore(tmp_path / "v.db") as store:
        late = make_record(0, random.Random(0), tstamp=datetime(2025, 5, 31, 23, 59, 59, 999000, tzinfo=timezone.utc))
        late.identity_leak = False
        store.record_vote(late, FACTS)
        assert store.count(Filters(until="2025-05-31")) == 1
        assert store.count(Filters(until="2025-05-30")) == 0
        assert store.count(Filters(since="2025-06-01")) == 0


def test_tstamp_stored_in_utc_whatever_the_offset(tmp_path: Path) -> None:
    rec = make_record(0, random.Random(0))
    rec.tstamp = "2025-06-01T02:30:00+02:00"
    with VoteStore(tmp_path / "v.db") as store:
        store.record_vote(rec, FACTS)
        assert store.get_vote(rec.uuid)["tstamp"] == "2025-06-01T00:30:00.000+00:00"  # type: ignore[index]


def test_bad_dates_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--since"):
        Filters(since="last tuesday").where()
    with pytest.raises(UsageError, match="--until") as info:
        Filters(until="2025-13-01").where()
    assert info.value.exit_code == 2


def test_matchups_models_and_prompt_ids(filled: tuple[Path, list]) -> None:
    path, recs = filled
    with VoteStore(path) as store:
        assert store.matchups() == ["m1", "m2"]
        assert store.matchup_models("m1") == (BIG, SMALL)
        assert store.matchup_models("none") is None
        expected = {r.prompt_id for r in recs if r.matchup_id == "m2"}
        assert store.voted_prompt_ids("m2", "builtin") == expected
        assert store.voted_prompt_ids("m2", "other-suite") == set()
        assert store.count() == len(recs)
        assert [v["uuid"] for v in store.iter_votes()] == [r.uuid for r in sorted(recs, key=lambda r: r.tstamp)]


def test_voted_prompt_ids_per_voter(tmp_path: Path) -> None:
    """A named voter resumes their own walk through a suite; others' votes do not use prompts up for them."""
    recs = _votes(40)
    for i, rec in enumerate(recs):
        rec.matchup_id, rec.suite_id, rec.prompt_id = "m", "builtin", f"p{i % 20}"
        rec.voter = "ada" if i < 15 else ("bo" if i < 25 else None)
    with VoteStore(tmp_path / "v.db") as store:
        for rec in recs:
            store.record_vote(rec, FACTS)
        by = {v: {r.prompt_id for r in recs if r.voter == v} for v in ("ada", "bo")}
        assert store.voted_prompt_ids("m", "builtin", voter="ada") == by["ada"]
        assert store.voted_prompt_ids("m", "builtin", voter="bo") == by["bo"]
        assert by["ada"] != by["bo"]
        assert store.voted_prompt_ids("m", "builtin", voter="nobody") == set()
        assert store.voted_prompt_ids("m", "builtin") == {r.prompt_id for r in recs}


def test_model_facts_upsert_widen_seen_and_fill_missing(tmp_path: Path) -> None:
    rng = random.Random(3)
    with VoteStore(tmp_path / "v.db") as store:
        first = make_record(10, rng, tstamp=datetime(2025, 2, 1, tzinfo=timezone.utc))
        store.record_vote(first, {BIG: FACTS[BIG]})  # no facts for SMALL: a placeholder row keeps the foreign key
        assert store.models()[SMALL].source == "unknown"
        newer = dataclasses.replace(FACTS[BIG], quant_type="Q2_K_S", fingerprint="sha256:abc")
        second = make_record(11, rng, tstamp=datetime(2025, 1, 1, tzinfo=timezone.utc))  # older timestamp
        store.record_vote(second, {BIG: newer, SMALL: FACTS[SMALL]})
        models = store.models()
        assert models[BIG] == newer and models[SMALL] == FACTS[SMALL]
        seen = store.conn.execute("SELECT first_seen, last_seen FROM models WHERE id = ?", (BIG,)).fetchone()
        assert seen == ("2025-01-01T00:00:00.000+00:00", "2025-02-01T00:00:00.000+00:00")


def test_duplicate_uuid_is_a_store_error_and_changes_nothing(tmp_path: Path) -> None:
    rec = make_record(0, random.Random(0))
    with VoteStore(tmp_path / "v.db") as store:
        store.record_vote(rec, FACTS)
        again = dataclasses.replace(rec, outcome=Vote.BOTH_BAD)
        with pytest.raises(StoreError, match="already saved"):
            store.record_vote(again, FACTS)
        assert store.count() == 1 and store.get_vote(rec.uuid)["outcome"] == rec.outcome.value  # type: ignore[index]
        store.record_vote(make_record(1, random.Random(1)), FACTS)  # the connection is usable after the failure
        assert store.count() == 2


def test_malformed_record_is_refused(tmp_path: Path) -> None:
    rec = make_record(0, random.Random(0))
    rec.tstamp = "yesterday"
    with VoteStore(tmp_path / "v.db") as store, pytest.raises(StoreError, match="malformed"):
        store.record_vote(rec, FACTS)


def test_concurrent_threads_share_one_store(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with VoteStore(tmp_path / "v.db") as store:

        def work(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for i in range(40):
                    store.record_vote(make_record(i, rng), FACTS)
                    store.aggregate(Filters())
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count() == 160


def test_missing_db_with_create_false(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no vote database") as info:
        VoteStore(tmp_path / "none.db", create=False)
    assert "Fix:" in info.value.render()
    assert not (tmp_path / "none.db").exists()


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "votes.db"
    path.write_bytes(b"this is not sqlite at all\n" * 500)
    with pytest.raises(StoreError, match="not a valid SQLite database"):
        VoteStore(path)


def test_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "votes.db"
    with VoteStore(path) as store:
        rng = random.Random(5)
        for i in range(200):
            store.record_vote(make_record(i, rng), FACTS)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # keep the header page, trash the b-tree pages behind it
        fh.seek(4096)
        fh.write(random.Random(9).randbytes(size - 4096))
    with pytest.raises(StoreError, match="damaged|not a valid") as info:
        with VoteStore(path) as store:
            store.aggregate(Filters(include_leaks=True))
    assert ".recover" in info.value.render()


def test_other_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a Quant Arena vote database"):
        VoteStore(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    VoteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer Quant Arena"):
        VoteStore(path)


def test_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder"):
        VoteStore(tmp_path)


def test_default_path_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_DB", str(tmp_path / "env" / "votes.db"))
    with VoteStore() as store:
        assert store.path == tmp_path / "env" / "votes.db"
    assert store.path.is_file()


def test_facts_for_models_of_record_in_models(tmp_path: Path) -> None:
    odd = ModelFacts(id="x", name="X", source="path:/x.gguf")
    rec = make_record(0, random.Random(0))
    with VoteStore(tmp_path / "v.db") as store:
        store.record_vote(rec, {**FACTS, "x": odd})  # extra facts are ignored: only the battle's models are stored
        assert set(store.models()) == {BIG, SMALL}
