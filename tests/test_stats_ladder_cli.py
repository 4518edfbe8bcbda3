"""`arena stats --ladder/--models` end to end over a real SQLite store of synthetic ladder votes (with facts)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from arena.cli.main import main
from arena.stats.bradley_terry import bootstrap_ratings
from arena.store import Filters, VoteStore
from arena.store.synthetic_ladder import LADDER, ladder_facts, ladder_record, seed_ladder, truth

MODELS = list(LADDER)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ladder") / "votes.db"
    with VoteStore(path) as store:
        seed_ladder(store, 900, seed=2)
        # votes in another matchup, and votes with a model outside the ladder: pooled / ignored respectively
        import random

        rng = random.Random(9)
        ratings = {**truth(), "stranger": 1500.0}
        facts = {**ladder_facts(), "stranger": ladder_facts()[MODELS[0]]}
        for i in range(900, 960):
            store.record_vote(ladder_record(i, rng, ratings, pair=("stranger", MODELS[1]), matchup="other"), facts)
        for i in range(960, 1000):
            store.record_vote(ladder_record(i, rng, ratings, pair=(MODELS[0], MODELS[4]), matchup="m-14b-7b"), facts)
    return path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_ladder_matches_a_pooled_fit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["--db", str(db), "stats", "--models", ",".join(MODELS), "--json", "--rounds", "200"])
    ladder = data["ladder"]
    assert [m["id"] for m in ladder["models"]].count(MODELS[0]) == 1 and len(ladder["models"]) == len(MODELS)
    with VoteStore(db) as store:
        rows = [r for r in store.aggregate(Filters()) if r.model_a in MODELS and r.model_b in MODELS]
    reference = {r.model: r for r in bootstrap_ratings(rows, models=MODELS, rounds=200)}
    facts = ladder_facts()
    for entry in ladder["models"]:
        ref = reference[entry["id"]]
        assert entry["rating"] == pytest.approx(ref.rating) and entry["ci_low"] == pytest.approx(ref.ci_low)
        assert entry["votes"] == ref.votes
        assert entry["bits_per_weight"] == facts[entry["id"]].bits_per_weight
        assert entry["n_params"] == facts[entry["id"]].n_params and entry["file_size"] == facts[entry["id"]].file_size
    assert ladder["votes"] == sum(r.count for r in rows) == 940  # 900 + 40 from the other matchup; 60 with "stranger" left out
    assert set(ladder["by_category"]) == {"code", "math", "json"}
    assert ladder["sentence"].startswith("Qwen2.5 14B")


def test_empty_and_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in (tmp_path / "none.db", tmp_path / "empty.db"):
        if path.name == "empty.db":
            VoteStore(path).close()
        data = _json(capsys, ["--db", str(path), "stats", "--models", "a,b,c", "--json"])
        assert [m["rating"] for m in data["ladder"]["models"]] == [None, None, None]
        assert "not enough votes yet" in data["ladder"]["sentence"].lower()
    assert not (tmp_path / "none.db").exists()


def test_text_terminal_plot_and_files(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, svg = tmp_path / "ladder.png", tmp_path / "ladder.svg"
    assert main(["--db", str(db), "stats", "--models", ",".join(MODELS), "--rounds", "100", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "rank  model" in out and "Per category:" in out and f"Chart written to {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["--db", str(db), "stats", "--models", ",".join(MODELS), "--rounds", "50", "--plot", str(svg)]) == 0
    assert "<svg" in svg.read_text()[:500]
    capsys.readouterr()
    assert main(["--db", str(db), "stats", "--models", ",".join(MODELS), "--rounds", "50", "--plot"]) == 0
    out = capsys.readouterr().out
    assert "bits per weight" in out and "\x1b[" not in out  # not a terminal: no colour codes
    assert "Q2_K" in out.split("rank  model")[0]  # the quant labels are drawn in the chart


def test_usage_errors_exit_2(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ["stats", "--models", "only-one"],
        ["stats", "--models", "a,b", "--plot", str(tmp_path / "x.gif")],
        ["stats", "--models", "a,b", "--matchup", "m"],
        ["stats", "--models", "a,b", "--ladder", "x"],
        ["stats", "--ladder", "no-such-ladder"],
        ["stats", "--plot"],
    ]
    for argv in cases:
        assert main(["--db", str(db), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert "Fix:" in err and "Traceback" not in err
    assert not (tmp_path / "x.gif").exists()


def test_ladder_id_is_looked_up_in_the_config(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Config.ladders comes with the ladder-config work; until then the lookup goes through getattr on the real config.
    from arena.config import loader

    real = loader.load_config(None)
    ladder = types.SimpleNamespace(id="qwen-ladder", models=MODELS[:5])
    config = types.SimpleNamespace(path=real.path, models=real.models, matchups=real.matchups, ladders={"qwen-ladder": ladder})
    monkeypatch.setattr(loader, "load_config", lambda path=None: config)
    data = _json(capsys, ["--db", str(db), "stats", "--ladder", "qwen-ladder", "--json", "--rounds", "50"])
    assert data["ladder"]["id"] == "qwen-ladder" and [m["id"] for m in data["ladder"]["models"]] != []
    assert sorted(m["id"] for m in data["ladder"]["models"]) == sorted(MODELS[:5])


def test_untrusted_names_are_made_visible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A GGUF whose name and quant type carry escape sequences: the text and the chart show them, never emit them.
    import random
    from dataclasses import replace

    path = tmp_path / "evil.db"
    facts = ladder_facts()
    evil = MODELS[1]
    facts[evil] = replace(facts[evil], name="Evil \x1b]0;pwned\x07 Q4", quant_type="Q4\x1b[31m")
    rng = random.Random(1)
    with VoteStore(path) as store:
        for i in range(200):
            store.record_vote(ladder_record(i, rng, truth()), facts)
    assert main(["--config", str(tmp_path / "none.yaml"), "--db", str(path), "stats", "--models", ",".join(MODELS), "--rounds", "20", "--plot"]) == 0
    out = capsys.readouterr().out
    assert "\x1b]" not in out and "\x07" not in out and "\x1b[31m" not in out
    assert "Evil \u241b]0;pwned\u2407 Q4" in out
