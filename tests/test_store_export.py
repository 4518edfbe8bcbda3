"""`arena export` and `arena merge` end to end through the real CLI over real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from arena.records import Vote
from arena.cli.main import main
from arena.store import VOTE_COLUMNS, VoteStore
from arena.store.synthetic import FACTS, make_record

NASTY = "line1\nline2\r\n\ttab \x00 \x07bell \x1b[2J\x1b[31mansi \\n not-a-newline \"quoted\", comma; 😀 \u2028 中文 \ud83d"


def _fill(path: Path, n: int, seed: int, matchup: str = "m1") -> list:
    rng = random.Random(seed)
    recs = []
    with VoteStore(path) as store:
        for i in range(n):
            rec = make_record(i, rng, matchup=matchup, voter="ann" if i % 2 else "bob",
                              tstamp=datetime(2025, 4, 1, tzinfo=timezone.utc) + timedelta(minutes=i + 1000 * seed))  # fmt: skip
            if i == 0:
                rec.side_a.messages[-1]["content"] = NASTY
                rec.side_b.messages[1]["content"] = NASTY
                rec.identity_leak, rec.leak_terms = True, ["Qwen"]
            if i == 1:
                rec.outcome = Vote.BOTH_BAD
            store.record_vote(rec, FACTS)
            recs.append(rec)
    return recs


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("export") / "votes.db"
    return path, _fill(path, 40, seed=1)


def _stored(path: Path) -> list[dict]:
    with VoteStore(path) as store:
        return list(store.iter_votes())


def test_jsonl_round_trips_byte_for_byte(db: tuple[Path, list], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, recs = db
    out = tmp_path / "votes.jsonl"
    assert main(["--db", str(path), "export", "--format", "jsonl", "--include-leaks", "-o", str(out)]) == 0
    assert "exported 40 votes" in capsys.readouterr().err
    lines = out.read_text(encoding="utf-8").splitlines()
    votes = [json.loads(line) for line in lines]
    assert votes == _stored(path)
    assert votes[0]["conversation_a"][-1]["content"] == NASTY  # control chars, ANSI, U+2028, lone surrogate: exact
    assert list(votes[0]) == list(VOTE_COLUMNS)
    assert not (tmp_path / "votes.jsonl.partial").exists()


def test_jsonl_to_stdout_with_filters(db: tuple[Path, list], capsys: pytest.CaptureFixture[str]) -> None:
    path, recs = db
    assert main(["--db", str(path), "export", "--voter", "ann", "--exclude-leaks", "--since", "2025-04-01T17:00"]) == 0
    votes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    start = datetime(2025, 4, 1, 17, tzinfo=timezone.utc)
    expected = [r.uuid for r in recs if r.voter == "ann" and not r.identity_leak and datetime.fromisoformat(r.tstamp) >= start]
    assert [v["uuid"] for v in votes] == expected and expected


def test_csv_round_trips(db: tuple[Path, list], tmp_path: Path) -> None:
    path, recs = db
    out = tmp_path / "votes.csv"
    assert main(["--db", str(path), "export", "-f", "csv", "--include-leaks", "-o", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    stored = _stored(path)
    assert len(rows) == len(stored) == 40
    assert list(rows[0]) == list(VOTE_COLUMNS)
    first = rows[0]
    assert first["identity_leak"] == "1" and json.loads(first["leak_terms"]) == ["Qwen"]
    # Text survives CSV quoting (newlines, CR, commas, quotes); the lone surrogate is written as the JSON escape \ud83d.
    assert json.loads(first["conversation_a"])[-1]["content"] == NASTY
    assert rows[1]["outcome"] == "both_bad" and rows[1]["winner_model"] == ""


def test_fastchat_format(db: tuple[Path, list], tmp_path: Path) -> None:
    path, recs = db
    out = tmp_path / "battles.json"
    assert main(["--db", str(path), "export", "--format", "fastchat", "--include-leaks", "-o", str(out)]) == 0
    battles = json.loads(out.read_text())
    assert isinstance(battles, list) and len(battles) == 40
    by_id = {b["question_id"]: b for b in battles}
    for rec in recs:
        b = by_id[rec.uuid]
        assert (b["model_a"], b["model_b"]) == (rec.model_a, rec.model_b)
        assert b["winner"] == {"A": "model_a", "B": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}[rec.outcome.value]
        assert b["anony"] is True and b["turn"] == 1 and b["language"] == "unknown"
        assert b["tstamp"] == datetime.fromisoformat(rec.tstamp).timestamp()
        assert [m["role"] for m in b["conversation_a"]] == ["user", "assistant"]  # no system prompt, as in FastChat
        assert b["category"] == rec.category and b["identity_leak"] == rec.identity_leak
    assert by_id[recs[1].uuid]["winner"] == "tie (bothbad)"
    assert by_id[recs[0].uuid]["conversation_b"][0]["content"] == NASTY


def test_fastchat_empty_selection_is_an_empty_list(db: tuple[Path, list], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = db
    assert main(["--db", str(path), "export", "-f", "fastchat", "--matchup", "none"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_export_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "none.db"), "export"]) == 1
    err = capsys.readouterr().err
    assert "no vote database" in err and "Fix:" in err and "Traceback" not in err
    assert not (tmp_path / "none.db").exists()
    path = tmp_path / "v.db"
    VoteStore(path).close()
    assert main(["--db", str(path), "export", "--since", "soon", "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "--since" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


# -- merge ------------------------------------------------------------------------------------------------------------


def test_merge_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    mine = _fill(ours, 10, seed=2)
    other = _fill(theirs, 15, seed=3, matchup="m-other")
    # A vote present in both (e.g. merged once already by another route).
    with VoteStore(theirs) as store:
        store.record_vote(mine[0], FACTS)
    assert main(["--db", str(ours), "merge", str(theirs)]) == 0
    assert "15 votes added, 1 already present" in capsys.readouterr().out
    assert main(["--db", str(ours), "merge", str(theirs)]) == 0
    assert "0 votes added, 16 already present" in capsys.readouterr().out
    with VoteStore(ours) as store, VoteStore(theirs) as source:
        assert store.count() == 25
        assert sorted(store.matchups()) == ["m-other", "m1"]
        for rec in other:
            assert store.get_vote(rec.uuid) == source.get_vote(rec.uuid) is not None
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_merge_into_a_new_db_copies_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    theirs = tmp_path / "theirs.db"
    _fill(theirs, 3, seed=4)
    fresh = tmp_path / "fresh" / "votes.db"
    assert main(["--db", str(fresh), "merge", str(theirs)]) == 0
    assert "3 votes added, 0 already present (skipped), 2 new models" in capsys.readouterr().out
    with VoteStore(fresh) as store:
        assert store.models() == FACTS


def test_merge_refuses_non_arena_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours = tmp_path / "ours.db"
    VoteStore(ours).close()
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE battles (uuid TEXT)")
    conn.commit()
    conn.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"hello" * 1000)
    for other in (plain, garbage):
        assert main(["--db", str(ours), "merge", str(other)]) == 1
        err = capsys.readouterr().err
        assert "not a Quant Arena vote database" in err and "Traceback" not in err
    assert main(["--db", str(ours), "merge", str(tmp_path / "missing.db")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["--db", str(ours), "merge", str(ours)]) == 1
    assert "into itself" in capsys.readouterr().err


def test_merge_reads_an_older_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_store_migrations import _make_v1_db

    old = tmp_path / "v1.db"
    uuids = _make_v1_db(old, 4)
    ours = tmp_path / "ours.db"
    assert main(["--db", str(ours), "merge", str(old)]) == 0
    assert "4 votes added" in capsys.readouterr().out
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # OTHER is only read, never upgraded
    conn.close()
    with VoteStore(ours) as store:
        assert {v["uuid"] for v in store.iter_votes()} == set(uuids)


def test_export_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`arena export | head -c 100`: no traceback, no error message, exit 0."""
    import subprocess
    import sys

    from arena.store.export import write_jsonl

    path = tmp_path / "v.db"
    _fill(path, 150, seed=5)
    with VoteStore(path) as store:
        size = write_jsonl(store.iter_votes(), out := io.StringIO()) and len(out.getvalue())
    assert size > 4 * 65536  # several pipe buffers: the writer really hits the closed pipe
    proc = subprocess.Popen([sys.executable, "-m", "arena", "--db", str(path), "export"],
                            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b'{"uuid"')
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert err == b"", err
