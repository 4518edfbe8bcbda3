"""Before the vote a failed side says only what is symmetric and model-free; the detail comes with the reveal.

A context overflow on a real demo model (SmolLM2 in llama.cpp) and a failing remote server (tests/support/hostile.py):
before the vote the panes read "Side A failed: <public text>" and nothing on screen names a model, a URL or a context
size; after the vote the reveal shows the detail, and the stored vote keeps it exactly. Any pre-vote text that names a
model sets the vote's identity-leak flag.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from arena.battle.round import Round
from arena.config.loader import load_config
from arena.config.types import Config, DisplayPolicy
from arena.engine.types import Failed, Finished, Timings
from arena.errors import EngineError
from tests.support.hostile import HostileServer
from tests.support.pilot import wait_for

N_CTX = 256


def write_config(tmp_path: Path, bad_url: str, smollm_path: Path) -> Config:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults:\n  display_policy: whole\n  schedule: concurrent\n  sampling: {max_tokens: 8}\n"
        "models:\n"
        f"  - {{id: far, name: Far Away, source: {{remote: {{base_url: '{bad_url}', model: m, timeout_s: 10}}}}}}\n"
        f"  - {{id: near, name: Near, n_ctx: {N_CTX}, n_threads: 1, source: {{path: '{smollm_path}'}}}}\n"
        "matchups:\n  - {id: mixed, big: far, small: near}\n",
        encoding="utf-8",
    )
    return load_config(cfg)


def new_round(config: Config, seed: int = 1) -> Round:
    m = config.matchups["mixed"]
    return Round.new(m, {x: config.sampling_for(x) for x in ("far", "near")}, DisplayPolicy.PACED,
                     rng=random.Random(seed))


@pytest.fixture
def config(tmp_path: Path, smollm_path: Path) -> Config:
    return write_config(tmp_path, "http://127.0.0.1:9/v1", smollm_path)


def test_a_failed_side_shows_only_its_public_text_and_keeps_the_detail(config: Config) -> None:
    from arena.errors import Public

    r = new_round(config)
    r.start_turn("hi")
    detail = f"The prompt is 900 tokens, but the context of {r.models[0]} is 256 tokens \x1b]0;x\x07"
    r.finish(0, Failed(EngineError(detail, "shorten it", public=Public.CONTEXT_FULL)))
    r.add_text(1, "fine")
    r.finish(1, Finished("stop", Timings()))
    assert r.last_errors == [(0, "Side A failed: the prompt does not fit this model's context window")]
    assert r.error_details(0) == [f"turn 1: {detail}. Fix: shorten it."]
    assert r.leak_terms() == []  # the public text names no model
    # A failed round is never a vote; what the store or the reveal of a discarded round gets is the exact detail.
    assert r.side_record(0).timings[-1]["error"] == f"{detail}. Fix: shorten it."  # exact, escapes included
    assert "error" not in r.side_record(1).timings[-1]


@pytest.mark.parametrize("public, term", [("the Qwen server failed", "Qwen"), ("far is down", "far")])
def test_a_pre_vote_error_that_names_a_model_sets_the_leak_flag(config: Config, public: str, term: str) -> None:
    r = new_round(config)
    r.start_turn("hi")
    r.finish(0, Failed(EngineError("detail", public=public)))
    r.finish(1, Finished("stop", Timings()))
    # The vote's leak flag comes from leak_terms(): a vote after a retried turn still carries what was shown.
    assert term in r.leak_terms()


def test_context_overflow_on_a_real_model_and_a_server_error_are_blind_until_the_vote(
    tmp_path: Path, smollm_path: Path
) -> None:
    from textual.widgets import Input, Static

    from arena.tui.app import ArenaApp
    from arena.tui.screens.arena import ArenaScreen
    from arena.tui.widgets.answer_pane import AnswerPane

    db = tmp_path / "votes.db"
    long_prompt = "Please summarize these words: " + "apple banana cherry " * 200  # no digits: see below

    async def scenario(config: Config) -> None:
        app = ArenaApp(config, db, matchup_id="mixed", seed=4)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.round is not None, 120, "the models to load")
            prompt = screen.query_one("#prompt", Input)
            prompt.focus()
            prompt.value = long_prompt
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.round.failed_sides == (0, 1) and "[n] discard" in str(
                screen.query_one("#vote-bar", Static).render()), 120, "both sides to fail")
            panes = (screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane))
            far = screen.round.models.index("far")
            errors = {side: " ".join(str(s.render()) for s in panes[side].query(Static) if "pane-error" in s.classes)
                      for side in (0, 1)}
            assert errors[far] == f"Side {'AB'[far]} failed: the server answered with an error"
            assert errors[1 - far] == f"Side {'AB'[1 - far]} failed: the prompt does not fit this model's context window"
            screen_text = " ".join(str(w.render()) for w in screen.query(Static) if w.display)
            for needle in ("far", "near", "Far Away", "Near", "SmolLM", "127.0.0.1", str(N_CTX), "HTTP", "PWNED"):
                assert needle not in screen_text, (needle, screen_text)
            await pilot.press("4")  # refused: a failed round is not a vote
            await pilot.pause(0.2)
            assert screen.round.voted is None
            await pilot.press("n")  # discard: the round is over, so the details may be shown
            await wait_for(pilot, lambda: all(any("reveal" in s.classes for s in p.query(Static)) for p in panes), 120,
                           "the reveal")
            revealed = {side: " ".join(str(s.render()) for s in panes[side].query(Static) if "reveal" in s.classes)
                        for side in (0, 1)}
            assert f"context of near is {N_CTX} tokens" in revealed[1 - far]
            assert "HTTP 500" in revealed[far] and "\u241b]0;PWNED\u2407" in revealed[far]

    with HostileServer() as server:
        asyncio.run(scenario(write_config(tmp_path, server.url("bad"), smollm_path)))
    assert sqlite3.connect(db).execute("SELECT count(*) FROM battles").fetchone()[0] == 0  # not a vote, not stored
