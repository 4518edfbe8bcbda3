"""Suite mode end to end: the real app, two real GGUF models, prompts drawn from a suite without typing, the vote row
carrying suite, prompt, category and both sides' objective checks, resumption in a new session, category filters,
falling back to free prompts when the suite is done; and `arena play`'s usage errors in a real subprocess."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from arena.cli.main import main
from arena.config.types import DisplayPolicy
from arena.prompts.checks import run_check
from arena.prompts.draw import draw_order, suite_seed
from arena.prompts.suite import load_suite
from arena.prompts.types import Prompt, Suite
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from tests.conftest import write_demo_config
from tests.support.pilot import spy_notifications, wait_for

REPO = Path(__file__).resolve().parent.parent

MINI_SUITE = """\
id: mini
title: Mini suite for the suite-mode test
prompts:
  - id: add
    category: math
    prompt: "What is 2 + 3? Reply with the number only."
    check: {type: number, answer: 5}
  - id: mul
    category: math
    prompt: "What is 6 times 7? Reply with the number only."
    check: {type: number, answer: 42}
  - id: obj
    category: json
    prompt: 'Reply with only this JSON object: {"ok": true}'
    check:
      type: json
      shape: {type: object, required: [ok], properties: {ok: {type: boolean}}}
  - id: sea
    category: creative
    prompt: "Write one line about the sea."
"""


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory: pytest.TempPathFactory, gemma_path: Path, smollm_path: Path):
    from arena.config.loader import load_config

    # Few tokens: this test is about the flow of prompts and records, not about answer quality.
    return load_config(write_demo_config(tmp_path_factory.mktemp("suite-cfg") / "models.yaml", gemma_path, smollm_path, max_tokens=12))


@pytest.fixture(scope="module")
def mini_suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    path = tmp_path_factory.mktemp("suite") / "mini.yaml"
    path.write_text(MINI_SUITE, encoding="utf-8")
    return load_suite(str(path))


async def play_suite_round(pilot, screen: ArenaScreen, expected: Prompt, round_no: int, vote_key: str) -> None:
    """The round's prompt is the expected suite prompt, sent without typing; both answer; the vote is saved."""
    await wait_for(pilot, lambda: screen.round_no == round_no and screen.round is not None and screen.round.turns, 180, f"round {round_no}")
    assert screen.prompt is not None and screen.prompt.id == expected.id
    r = screen.round
    assert (r.suite_id, r.prompt_id, r.category) == ("mini", expected.id, expected.category)
    assert r.turns[0].user == expected.prompt  # sent as is, nobody typed it
    info = str(screen.query_one("#round-info").render())
    assert f"prompt {expected.id}" in info and f"category: {expected.category}" in info
    # Voting opens once both answers are complete AND shown: the vote bar then offers the keys.
    await wait_for(pilot, lambda: r.can_vote and "[1] A better" in str(screen.query_one("#vote-bar").render()), 300, f"both answers to {expected.id}")
    await pilot.press(vote_key)
    await wait_for(pilot, lambda: r.voted is not None, 120, "the vote to be saved")


async def run_to_exhaustion(app: ArenaApp, expected: list[Prompt], keys: str, *, stats_after: int | None = None) -> list[str]:
    notes = spy_notifications(app)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, ArenaScreen)
        await wait_for(pilot, lambda: screen.contenders is not None, 180, "models to load")
        for k, prompt in enumerate(expected, start=1):
            await play_suite_round(pilot, screen, prompt, k, keys[k - 1])
            if stats_after == k:
                await check_stats_screen(pilot, app)
            await pilot.press("n")
        # Every prompt (of the category) has a vote: free prompts from here on, and the app says so.
        n = len(expected) + 1
        await wait_for(pilot, lambda: screen.round_no == n, 120, "the round after the last suite prompt")
        assert screen.prompt is None and screen.round.prompt_id is None and screen.round.suite_id is None
        assert not screen.round.turns  # nothing was sent automatically
        assert not screen.query_one("#prompt").disabled
        assert any("free prompts" in note for note in notes), notes
    return notes


async def check_stats_screen(pilot, app: ArenaApp) -> None:
    """The statistics screen shows the objective checks of the votes so far."""
    from textual.widgets import Static

    from arena.tui.screens.stats import StatsScreen

    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), 120, "the statistics screen")
    await pilot.pause(0.2)
    checks = app.screen.query_one("#stats-checks", Static)
    text = str(checks.render())
    assert checks.display and "Objective checks" in text
    assert text.count("/2 passed") == 2, text  # two math prompts checked for each of the two models
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, ArenaScreen), 120, "the arena again")


def stored_rows(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM battles ORDER BY tstamp")]
    conn.close()
    return rows


@pytest.mark.slow
def test_suite_mode_end_to_end(quick_config, mini_suite: Suite, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "votes.db"
    order = draw_order(mini_suite, suite_seed("demo", "mini"))
    math_order = [p for p in order if p.category == "math"]
    assert [p.id for p in math_order] == [p.id for p in draw_order(mini_suite, suite_seed("demo", "mini"), "math")]

    # Session 1: math only. Rounds follow the seeded order of the math prompts, then fall back to free prompts.
    app = ArenaApp(quick_config, db, matchup_id="demo", suite=mini_suite, category="math", seed=5, policy=DisplayPolicy.WHOLE)
    asyncio.run(run_to_exhaustion(app, math_order, "12", stats_after=2))
    rows = stored_rows(db)
    assert [(r["suite_id"], r["prompt_id"], r["category"]) for r in rows] == [("mini", p.id, "math") for p in math_order]

    # Session 2: a new app on the same DB, no category: resumes with the unvoted prompts, in the seeded order.
    rest = [p for p in order if p.category != "math"]
    app = ArenaApp(quick_config, db, matchup_id="demo", suite=mini_suite, seed=9, policy=DisplayPolicy.WHOLE)
    asyncio.run(run_to_exhaustion(app, rest, "34"))

    rows = stored_rows(db)
    by_id = mini_suite.by_id()
    assert sorted(r["prompt_id"] for r in rows) == sorted(by_id)  # each prompt voted exactly once
    assert [r["outcome"] for r in rows] == ["A", "B", "tie", "both_bad"]
    for row in rows:
        prompt = by_id[row["prompt_id"]]
        assert (row["suite_id"], row["category"]) == ("mini", prompt.category)
        for s in "ab":
            conversation = json.loads(row[f"conversation_{s}"])
            assert conversation[0] == {"role": "user", "content": prompt.prompt}
            answer = conversation[-1]["content"] if conversation[-1]["role"] == "assistant" else ""
            if prompt.check is None:
                assert row[f"checks_{s}"] is None
                continue
            stored = json.loads(row[f"checks_{s}"])
            assert stored["type"] == prompt.check.type and isinstance(stored["passed"], bool) and stored["detail"]
            again = run_check(prompt.check, answer)  # the stored verdict is the checker's verdict on the stored answer
            assert (stored["passed"], stored["detail"]) == (again.passed, again.detail)

    # `arena stats` over this DB reports three checks per model (2 math + 1 json; the creative prompt has none).
    assert main(["--db", str(db), "--config", "/nonexistent/models.yaml", "stats", "--rounds", "0"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("Objective checks"))
    assert line.count("/3 passed") == 2, line
    assert "Per category (Bonferroni over" in out and "creative:" in out


def arena_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arena", *argv], check=False, cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_arena_play_usage_errors(demo_config_path: Path, mini_suite: Suite, tmp_path: Path) -> None:
    common = ["--config", str(demo_config_path), "--db", str(tmp_path / "v.db"), "play", "--matchup", "demo"]
    cases = [
        ([], "needs a prompt suite"),
        (["--suite", "nosuch"], "unknown prompt suite 'nosuch'"),
        (["--suite", str(mini_suite.path), "--category", "poetry"], "no prompts in category 'poetry'"),
    ]
    for extra, message in cases:
        proc = arena_cli(*common, *extra)
        assert proc.returncode == 2, (extra, proc.stdout, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("arena: ")
    assert not (tmp_path / "v.db").exists()  # refused before anything was opened
