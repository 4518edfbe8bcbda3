"""`arena stats` with votes from several voters, end to end over a real SQLite file: the team section appears for 2+
voters (or with --by-voter), its JSON equals the core's numbers, and voter names are sanitized on the terminal but
exact in JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from arena.cli import cmd_stats
from arena.stats.team import build_team_report
from arena.store import Filters, VoteStore
from arena.store.synthetic import BIG, SMALL
from arena.store.synthetic_team import MATCHUP, seed_team, team_records
from arena.store.team import iter_team_votes

HOSTILE = "mal\x1b]0;owned\x07lory\u202e\nx"
SHORT_HOSTILE = "eve\nx"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("teamcli") / "votes.db"
    records = team_records(["ann", "bob", HOSTILE, SHORT_HOSTILE], 24, prompts=12, seed=9)
    records += team_records(["solo"], 10, prompts=5, seed=1, matchup="solo-matchup")
    with VoteStore(path) as store:
        seed_team(store, records)
    return path


def run(db: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--db")
    cmd_stats.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--db", str(db), "--config", "/nonexistent/models.yaml", "stats", *argv])
    return int(args.func(args))


def test_team_section_for_two_or_more_voters_only(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--rounds", "50") == 0
    out = capsys.readouterr().out
    team_part = out.split("matchup solo-matchup")[0]
    assert "Team: 4 voters on Qwen2.5 14B Q2_K vs Qwen2.5 7B Q6_K" in team_part
    assert "Cohen's κ" in team_part and "Fleiss' κ over the" in team_part and "Krippendorff's α" in team_part
    assert "Pooled, voters as clusters" in team_part and "design effect" in team_part
    assert "Caution: only 4 voters" in team_part
    solo_part = out.split("matchup solo-matchup")[1]
    assert "Team:" not in solo_part  # one voter: the ordinary report only


def test_by_voter_shows_one_voter_and_says_what_is_missing(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--matchup", "solo-matchup", "--by-voter", "--rounds", "50") == 0
    out = capsys.readouterr().out
    assert "Team: 1 voter on" in out and "needs votes from 2 or more voters" in out
    assert "a clustered interval needs votes from at least 2 voters" in out


def test_json_team_equals_the_core(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--json", "--rounds", "50", "--seed", "4") == 0
    data = json.loads(capsys.readouterr().out)
    by_matchup = {r["matchup"]: r for r in data["reports"]}
    assert by_matchup["solo-matchup"]["team"] is None
    team = by_matchup[MATCHUP]["team"]
    with VoteStore(db) as store:
        core = build_team_report(iter_team_votes(store, Filters(matchup=MATCHUP)), BIG, SMALL, rounds=50, seed=4)
    assert team["pooled"]["decided"] == core.decided.to_dict()
    assert team["pooled"]["ties_half"] == core.ties_half.to_dict()
    assert [v["voter"] for v in team["voters"]] == [v.voter for v in core.voters]
    assert HOSTILE in [v["voter"] for v in team["voters"]]  # exact in JSON
    assert team["agreement"]["pairs"] == core.agreement.to_dict()["pairs"]
    assert team["voter_correction"] == {"method": "bonferroni", "voters": 4, "alpha_each": pytest.approx(0.05 / 4)}


def test_voter_names_are_sanitized_on_the_terminal(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--matchup", MATCHUP, "--rounds", "0") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "mal␛]0;owned␇lory\\u202e…" in out  # controls shown; cut at 24 characters in tables (JSON has it whole)
    assert "eve␤x" in out  # one line: the newline in a name is shown, not obeyed
    for line in out.splitlines():
        assert not line.startswith("x ")  # no table row was split by a name's newline


def test_hostile_voter_names_in_a_real_arena_process(tmp_path: Path) -> None:
    """`python -m arena stats` as a child process: the terminal output carries none of the name's escapes."""
    import subprocess
    import sys

    from tests.support.hostile import PAYLOAD, VISIBLE_ESC, arena_env, forbidden_in

    db = tmp_path / "votes.db"
    with VoteStore(db) as store:
        seed_team(store, team_records([PAYLOAD, "bob"], 12, prompts=6, seed=2))
    cfg = tmp_path / "models.yaml"
    cfg.write_text("version: 1\nmodels: []\n", encoding="utf-8")
    argv = [sys.executable, "-m", "arena", "--config", str(cfg), "--db", str(db), "stats", "--rounds", "20"]
    env = arena_env(str(tmp_path / "home"))
    proc = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    both = proc.stdout + proc.stderr
    assert proc.returncode == 0 and b"Team: 2 voters" in proc.stdout, both[-2000:]
    assert forbidden_in(both) == [] and b"PWNED" in both and VISIBLE_ESC in both, both[-2000:]
    data = json.loads(subprocess.run([*argv, "--json"], env=env, capture_output=True, timeout=300, check=True).stdout)
    assert PAYLOAD in [v["voter"] for v in data["reports"][0]["team"]["voters"]]
