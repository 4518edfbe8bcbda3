"""`arena stats` end to end over a real SQLite vote database written through VoteStore."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.cli import cmd_stats
from arena.errors import ArenaError
from arena.store import VoteStore


def side(model: str) -> SideRecord:
    return SideRecord(model_id=model, messages=[{"role": "user", "content": "hi"}], sampling={}, seeds=[1], timings=[{}], finish_reasons=["stop"])


def vote(matchup: str, big: str, small: str, left: str, outcome: str, *, category: str = "chat", leak: bool = False,
         voter: str | None = None, day: int = 1) -> BattleRecord:  # fmt: skip
    right = small if left == big else big
    return BattleRecord(
        matchup_id=matchup, big_model=big, small_model=small, side_a=side(left), side_b=side(right),
        outcome=Vote(outcome), display_policy="paced", identity_leak=leak, category=category, voter=voter,
        tstamp=f"2025-03-{day:02d}T12:00:00.000+00:00",
    )  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stats") / "votes.db"
    facts = {"q14": ModelFacts(id="q14", name="Qwen 14B Q2_K", source="path:/x"), "q7": ModelFacts(id="q7", name="Qwen 7B Q6_K", source="path:/y")}
    records: list[BattleRecord] = []
    # matchup m1: big wins 30 (16 from the left), small wins 10 (5 from the left), 4 ties; code on day 1, math on day 2
    for k in range(30):
        records.append(vote("m1", "q14", "q7", "q14" if k < 16 else "q7", "A" if k < 16 else "B", category="code", voter="ann"))
    for k in range(10):
        records.append(vote("m1", "q14", "q7", "q7" if k < 5 else "q14", "A" if k < 5 else "B", category="math", day=2))
    records += [vote("m1", "q14", "q7", "q14", "tie", category="math", day=2) for _ in range(4)]
    # three identity-leak votes for the small model: excluded unless --include-leaks
    records += [vote("m1", "q14", "q7", "q7", "A", leak=True) for _ in range(3)]
    # matchup m2 between other models
    records += [vote("m2", "g2", "s1", "g2", "A") for _ in range(5)] + [vote("m2", "g2", "s1", "g2", "B") for _ in range(3)]
    with VoteStore(path) as store:
        for rec in records:
            store.record_vote(rec, facts)
    return path


def run(db: Path | None, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--db")
    cmd_stats.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([*(["--db", str(db)] if db else []), "--config", "/nonexistent/models.yaml", "stats", *argv])
    return int(args.func(args))


def load(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> dict:  # type: ignore[type-arg]
    assert run(db, "--json", "--rounds", "20", *argv) == 0
    return json.loads(capsys.readouterr().out)


def test_every_matchup_is_reported(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--rounds", "20") == 0
    out = capsys.readouterr().out
    assert "matchup m1" in out and "matchup m2" in out
    assert "Qwen 14B Q2_K wins 75% of decided votes" in out  # 30 of 40, names from the stored model facts
    assert "identity leaks are excluded" in out


def test_json_counts_and_leak_filter(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load(capsys, db, "--matchup", "m1")
    (report,) = data["reports"]
    pair = report["pair"]
    assert (pair["big_wins"], pair["small_wins"], pair["ties"], pair["both_bad"]) == (30, 10, 4, 0)
    assert pair["left_wins"] == 21
    assert report["big"]["id"] == "q14" and report["small"]["label"] == "Qwen 7B Q6_K"
    leaky = load(capsys, db, "--matchup", "m1", "--include-leaks")["reports"][0]["pair"]
    assert leaky["small_wins"] == 13 and leaky["left_wins"] == 24


def test_category_voter_and_dates(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = load(capsys, db, "--matchup", "m1", "--category", "code")["reports"][0]["pair"]
    assert (code["big_wins"], code["small_wins"], code["ties"]) == (30, 0, 0)
    ann = load(capsys, db, "--voter", "ann")["reports"]
    assert [r["matchup"] for r in ann] == ["m1"] and ann[0]["pair"]["n"] == 30
    day2 = load(capsys, db, "--matchup", "m1", "--since", "2025-03-02")["reports"][0]["pair"]
    assert day2["n"] == 14
    day1 = load(capsys, db, "--matchup", "m1", "--until", "2025-03-01")["reports"][0]["pair"]
    assert day1["n"] == 30


def test_no_votes_is_friendly(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    assert run(missing) == 0
    assert "No votes yet" in capsys.readouterr().out
    assert not missing.exists()  # stats never creates a database
    assert run(db, "--matchup", "nope") == 0
    assert "No votes yet matching matchup nope" in capsys.readouterr().out
    assert load(capsys, db, "--category", "poetry")["reports"] == []


def test_bad_date_is_a_usage_error(db: Path) -> None:
    with pytest.raises(ArenaError) as info:
        run(db, "--since", "yesterday")
    assert info.value.exit_code == 2 and "--since" in info.value.render()


def test_labels_come_from_the_config_when_it_loads(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "models.yaml"
    config.write_text(
        "version: 1\n"
        "models:\n"
        "  - {id: q14, name: Big Fourteen, quant: Q2_K, source: {remote: {base_url: 'http://127.0.0.1:9/v1', model: a}}}\n"
        "  - {id: q7, name: Small Seven Q6_K, quant: Q6_K, source: {remote: {base_url: 'http://127.0.0.1:9/v1', model: b}}}\n"
        "matchups:\n"
        "  - {id: m1, big: q14, small: q7}\n"
    )
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--db")
    cmd_stats.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--db", str(db), "--config", str(config), "stats", "--matchup", "m1", "--rounds", "0"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Big Fourteen Q2_K wins 75% of decided votes" in out and "Small Seven Q6_K" in out
    assert "Small Seven Q6_K Q6_K" not in out


def test_default_verdict_is_anytime_valid_and_fixed_n_is_labelled(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 30 of 40: exact p = 0.002 (fixed n), but anytime p = 0.050: not yet enough for someone who looked after every vote.
    assert run(db, "--matchup", "m1", "--rounds", "0") == 0
    out = capsys.readouterr().out
    assert "Keep voting: Qwen 14B Q2_K wins 75% of decided votes (anytime-valid 95% CS" in out
    assert "anytime CS" in out and "Wilson 95% CI" not in out and "exact binomial" not in out
    assert run(db, "--matchup", "m1", "--rounds", "0", "--fixed-n") == 0
    fixed = capsys.readouterr().out
    assert "Fixed-sample analysis (valid only if you fixed the number of votes in advance and look once):" in fixed
    assert "Qwen 14B Q2_K wins 75% of decided votes (Wilson 95% CI 60-86%, exact binomial p = 0.002, n = 40)." in fixed
    data = load(capsys, db, "--matchup", "m1")["reports"][0]
    assert data["verdict"].startswith("Keep voting") and data["fixed_n_verdict"].startswith("Qwen 14B Q2_K wins 75%")
    assert data["pair"]["significant"] is False and data["pair"]["fixed_n_significant"] is True
