"""`arena score` end to end on the real demo models: JSON, the cache, `arena stats` beside the votes, export, ctrl+c."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from arena.cli.main import main
from arena.records import BattleRecord, SideRecord, Vote
from arena.store import VoteStore

REPO = Path(__file__).resolve().parent.parent
KEYS = {"id", "bits_per_byte", "perplexity", "tokens", "bytes", "kld_mean", "kld_p99", "same_top_pct", "reference"}


@pytest.fixture(scope="module")
def short_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "short.txt"
    path.write_text((REPO / "README.md").read_text(encoding="utf-8")[:700], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scored_db(tmp_path_factory: pytest.TempPathFactory, demo_config_path: Path, short_text: Path) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("db") / "votes.db"
    out = subprocess.run(
        [sys.executable, "-m", "arena", "--config", str(demo_config_path), "--db", str(db), "score", "demo", "--text",
         str(short_text), "--window", "128", "--threads", "1", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "ETA" in out.stderr  # the progress line
    return db, json.loads(out.stdout)


def test_json_has_every_model_with_bits_per_byte_and_null_kl_across_tokenizers(scored_db: tuple[Path, dict], short_text: Path) -> None:
    _, payload = scored_db
    models = {m["id"]: m for m in payload["models"]}
    assert set(models) == {"gemma3-270m", "smollm2-135m"}
    for m in models.values():
        assert KEYS <= set(m)
        assert m["kld_mean"] is None and m["kld_p99"] is None and m["same_top_pct"] is None and m["reference"] is None
        assert 0 < m["bits_per_byte"] < 8 and m["perplexity"] > 1 and m["tokens"] > 50
    n_bytes = len(short_text.read_bytes())
    assert models["gemma3-270m"]["bytes"] == n_bytes  # Gemma adds BOS: every byte is scored
    assert models["smollm2-135m"]["bytes"] < n_bytes  # SmolLM2 does not: its first token has no context
    assert payload["passes_computed"] == 2


def test_rerun_comes_from_the_cache_with_identical_numbers(scored_db: tuple[Path, dict], demo_config_path: Path, short_text: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, first = scored_db
    t0 = time.monotonic()
    rc = main(["--config", str(demo_config_path), "--db", str(db), "score", "demo", "--text", str(short_text), "--window", "128", "--threads", "1", "--json"])
    assert rc == 0
    again = json.loads(capsys.readouterr().out)
    assert again["passes_computed"] == 0
    assert again["models"] == first["models"]
    # A different window is a different setting: not served from the cache (checked without running it).
    from arena.store.scores import has_scores_table

    with VoteStore(db) as store:
        assert has_scores_table(store)
        assert store._query("SELECT count(*) FROM scores")[0][0] == 2
    assert time.monotonic() - t0 < 120  # generous: only tokenizers are loaded


def test_bits_per_byte_in_the_cache_is_nll_over_bytes(scored_db: tuple[Path, dict]) -> None:
    db, payload = scored_db
    with VoteStore(db) as store:
        rows = store._query("SELECT model_id, nll_nats, bytes, tokens FROM scores")
    for model_id, nll, n_bytes, tokens in rows:
        m = next(x for x in payload["models"] if x["id"] == model_id)
        assert m["bits_per_byte"] == pytest.approx(nll / math.log(2) / n_bytes, rel=1e-12)
        assert m["perplexity"] == pytest.approx(math.exp(nll / tokens), rel=1e-12)


def _vote(winner: str, n: int) -> BattleRecord:
    a = SideRecord("gemma3-270m", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}], {}, [1], [{}], ["stop"])
    b = SideRecord("smollm2-135m", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "y"}], {}, [1], [{}], ["stop"])
    return BattleRecord("demo", "gemma3-270m", "smollm2-135m", a, b, Vote.B if winner == "small" else Vote.A, "paced", uuid=f"u{winner}{n}")


def test_stats_shows_scores_beside_the_votes_and_says_whether_they_agree(scored_db: tuple[Path, dict], demo_config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, payload = scored_db
    with VoteStore(db) as store:
        for k in range(40):  # enough for the anytime-valid verdict: "significant" follows it
            store.record_vote(_vote("small", k), {})
    assert main(["--config", str(demo_config_path), "--db", str(db), "stats", "--rounds", "0"]) == 0
    text = capsys.readouterr().out
    assert "Objective scores" in text and "bits/byte" in text
    bpb = {m["id"]: m["bits_per_byte"] for m in payload["models"]}
    bpb_leader = "big" if bpb["gemma3-270m"] < bpb["smollm2-135m"] else "small"
    expected = "They agree" if bpb_leader == "small" else "They disagree: votes prefer the small model; bits per byte favours the big model"
    assert expected in text
    assert main(["--config", str(demo_config_path), "--db", str(db), "stats", "--rounds", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["reports"][0]
    assert report["objective_scores"]["big"]["bits_per_byte"] == pytest.approx(bpb["gemma3-270m"])


def test_export_scores_as_jsonl(scored_db: tuple[Path, dict], tmp_path: Path) -> None:
    db, _ = scored_db
    out = tmp_path / "scores.jsonl"
    assert main(["--db", str(db), "export", "--what", "scores", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["model_id"] for r in rows} == {"gemma3-270m", "smollm2-135m"}
    assert all(r["settings"]["window"] == 128 and r["nll_nats"] > 0 for r in rows)
    assert main(["--db", str(db), "export", "--what", "scores", "--format", "csv"]) == 2


def test_usage_errors_are_one_paragraph(demo_config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(demo_config_path), "--db", str(tmp_path / "v.db")]
    assert main([*cfg, "score", "nope", "--text", str(REPO / "README.md")]) == 2
    assert main([*cfg, "score", "demo", "--text", str(tmp_path / "missing.txt")]) == 2
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert main([*cfg, "score", "demo", "--text", str(tmp_path / "latin1.txt")]) == 2
    err = capsys.readouterr().err
    assert "neither a matchup" in err and "Cannot read" in err and "not UTF-8" in err and "Traceback" not in err


def test_suite_texts_are_prompts_with_reference_answers() -> None:
    from arena.battle.scoring import texts_from_suite
    from arena.prompts.suite import load_suite

    texts = texts_from_suite("math")
    suite = load_suite("math")
    assert len(texts) == sum(1 for p in suite.prompts if p.notes)
    first = next(p for p in suite.prompts if p.notes)
    assert texts[0].name == first.id and first.notes.strip() in texts[0].text and first.prompt.strip() in texts[0].text


def test_ctrl_c_exits_130_and_stores_nothing_partial(demo_config_path: Path, tmp_path: Path) -> None:
    long_text = tmp_path / "long.txt"
    long_text.write_text((REPO / "README.md").read_text(encoding="utf-8") * 3, encoding="utf-8")
    db = tmp_path / "votes.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena", "--config", str(demo_config_path), "--db", str(db), "score", "smollm2-135m",
         "--text", str(long_text), "--window", "256", "--threads", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 300
    while "arena: scoring" not in seen and time.monotonic() < deadline:  # the first progress line: decoding has begun
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "arena: scoring" in seen, seen
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err
    with VoteStore(db) as store:
        assert store._query("SELECT count(*) FROM scores")[0][0] == 0  # one (model, text) pass was running: not stored


def test_numpy_reference_of_percentile_used_in_kl() -> None:
    # arena score's p99 is numpy's linear percentile (checked in tests/test_stats_objective.py); here just the dtype path
    from arena.stats.objective import percentile

    v = np.random.default_rng(0).random(1001).astype(np.float32)
    assert percentile(list(v), 99) == pytest.approx(float(np.percentile(v, 99)), rel=1e-6)


def test_statistics_screen_shows_the_scores_beside_the_votes(scored_db: tuple[Path, dict], demo_config, tmp_path: Path) -> None:
    import asyncio

    from textual.widgets import Static

    from arena.tui.app import ArenaApp
    from arena.tui.screens.stats import StatsScreen
    from tests.support.fake_engine import fake_backend

    db, _ = scored_db
    with VoteStore(db) as store:
        for k in range(3):
            store.record_vote(_vote("big", 100 + k), {})

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, seed=1, backend=fake_backend({}))
        async with app.run_test(size=(140, 50)) as pilot:
            await app.push_screen(StatsScreen("demo"))
            await pilot.pause(0.1)
            widget = app.screen.query_one("#stats-objective", Static)
            text = str(widget.content)
            assert widget.display and "Objective scores" in text and "bits/byte" in text
            assert "Gemma 3 270M" in text and ("They agree" in text or "They disagree" in text)

    asyncio.run(scenario())


def test_targets_expand_matchups_ladders_and_model_ids(demo_config) -> None:
    from dataclasses import dataclass
    from types import SimpleNamespace

    from arena.cli.cmd_score import resolve_targets

    assert resolve_targets(demo_config, ["demo"]) == ["gemma3-270m", "smollm2-135m"]
    assert resolve_targets(demo_config, ["smollm2-135m", "demo"]) == ["smollm2-135m", "gemma3-270m"]  # no repeats

    @dataclass(frozen=True)
    class Ladder:  # the shape of config.ladders on the ladder branch: model ids in order
        id: str
        models: tuple[str, ...]

    with_ladders = SimpleNamespace(
        path=demo_config.path, models=demo_config.models, matchups=demo_config.matchups,
        ladders={"lad": Ladder("lad", ("smollm2-135m", "gemma3-270m"))},
    )  # fmt: skip
    assert resolve_targets(with_ladders, ["lad"]) == ["smollm2-135m", "gemma3-270m"]
