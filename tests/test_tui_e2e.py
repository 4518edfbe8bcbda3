"""End to end: the real app, two real GGUF models (llama.cpp), a full round, a vote, the reveal, a new round,
and the vote row in the real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.widgets.answer_pane import AnswerPane
from tests.support.pilot import wait_for


def pane_text(pane: AnswerPane) -> str:
    from textual.widgets import Static

    return "\n".join(str(s.render()) for s in pane.query(Static))


@pytest.mark.slow
def test_full_round_with_two_real_models(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "votes.db"

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=7)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.contenders is not None and screen.round is not None, 120, "models to load")
            assert screen.round is not None
            models = screen.round.models
            assert set(models) == {"gemma3-270m", "smollm2-135m"}
            # Nothing before the vote names a model: panes are labelled A and B only.
            pane_a, pane_b = screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane)
            assert str(pane_a.border_title) == "A" and str(pane_b.border_title) == "B"

            await pilot.click("#prompt")
            await pilot.press(*"Name three primary colors.")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.voting_open, 180, "both answers")
            answers = (screen.round.turns[-1].sides[0].text, screen.round.turns[-1].sides[1].text)
            assert all(a.strip() for a in answers), answers
            screen_text = " ".join(str(w.render()) for w in app.screen.query("*") if hasattr(w, "render") and w.display)
            for secret in ("Gemma", "SmolLM", "270M", "135M", "Q4_K_M", "Q4_1", "tokens/s"):
                # a model may name itself in its answer (that is flagged on the vote); our own chrome must not
                if not any(secret.lower() in a.lower() for a in answers):
                    assert secret not in screen_text, f"{secret!r} visible before the vote"

            await pilot.press("1")  # A is better
            await wait_for(pilot, lambda: screen.round.voted is not None, 120, "the vote to be saved")
            await pilot.pause(0.2)
            vote_bar = str(screen.query_one("#vote-bar").render())
            assert "saved" in vote_bar.lower()
            # The reveal: names, roles and measured speed in each pane
            assert "Gemma 3 270M" in str(pane_a.border_title) + str(pane_b.border_title)
            revealed = pane_text(pane_a) + pane_text(pane_b)
            assert "tokens/s" in revealed and "bits/weight" in revealed
            # The demo's files say Gemma is the bigger model AND has more bits per weight: never "harsh quant"
            assert "bigger model, more bits/weight" in revealed and "smaller model, fewer bits/weight" in revealed
            assert "harsh quant" not in revealed

            rows = sqlite3.connect(db).execute(
                "SELECT outcome, model_a, model_b, big_model, small_model, winner_model, display_policy FROM battles"
            ).fetchall()
            assert rows == [("A", models[0], models[1], "gemma3-270m", "smollm2-135m", models[0], "paced")]
            conv = sqlite3.connect(db).execute("SELECT conversation_a FROM battles").fetchone()[0]
            messages = json.loads(conv)
            assert messages[0] == {"role": "user", "content": "Name three primary colors."}
            assert messages[-1]["role"] == "assistant" and messages[-1]["content"] == answers[0]

            await pilot.press("n")  # a new round: fresh panes, fresh draw of sides
            await wait_for(pilot, lambda: screen.round_no == 2, 120, "a new round")
            assert screen.round.turns == [] and screen.round.voted is None
            assert str(pane_a.border_title) == "A"
            assert pane_text(pane_a).strip() == ""

    asyncio.run(scenario())
