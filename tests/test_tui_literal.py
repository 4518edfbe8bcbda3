"""Hostile model output is shown literally (never interpreted as markup or terminal escapes) and stored exactly.

Layout-level test: answers come from the scripted engine (tests/support/fake_engine.py); real-model rounds are covered
by test_tui_e2e.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.widgets.answer_pane import AnswerPane
from arena.tui.widgets.stream_view import StreamView
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for as _wait

HOSTILE_A = "[bold red]x[/] and [link=https://evil.example]click[/link] $x$ <b>html</b>"
HOSTILE_B = "\x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07 \x1b]0;pwned title\x07 bell\x07 back\x08space \x9b1m"


def rendered_text(pane: AnswerPane) -> str:
    """What the pane's answers draw, as plain text, line by line."""
    return "\n".join("\n".join(view.rendered_lines()) for view in pane.query(StreamView))


def test_markup_and_escapes_shown_literally_and_stored_exactly(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    answers = {"gemma3-270m": HOSTILE_A, "smollm2-135m": HOSTILE_B}

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=3, backend=fake_backend(answers))
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await _wait(pilot, lambda: screen.round is not None)
            await pilot.click("#prompt")
            await pilot.press(*"hi", "enter")
            await _wait(pilot, lambda: screen.voting_open)
            by_model = {screen.round.models[i]: p for i, p in enumerate((screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane)))}
            md_a = by_model["gemma3-270m"].query_one(StreamView)
            md_b = by_model["smollm2-135m"].query_one(StreamView)
            assert md_a.text == HOSTILE_A and md_b.text == HOSTILE_B
            shown_a = rendered_text(by_model["gemma3-270m"])
            shown_b = rendered_text(by_model["smollm2-135m"])
            assert "[bold red]x[/]" in shown_a  # Rich markup is text, not style
            assert "\x1b" not in shown_b and "\x07" not in shown_b and "\x08" not in shown_b and "\x9b" not in shown_b
            assert "\u241b[31mred" in shown_b  # ESC drawn as the visible control picture
            assert "52;c;ZXZpbA==" in shown_b  # the OSC 52 payload is visible text, never sent to the terminal
            await pilot.press("3")
            await _wait(pilot, lambda: screen.round.voted is not None)

    asyncio.run(scenario())
    stored = dict(sqlite3.connect(db).execute("SELECT model_a, conversation_a FROM battles").fetchall())
    import json

    row = sqlite3.connect(db).execute("SELECT model_a, conversation_a, model_b, conversation_b FROM battles").fetchone()
    convs = {row[0]: json.loads(row[1]), row[2]: json.loads(row[3])}
    assert convs["gemma3-270m"][-1]["content"] == HOSTILE_A
    assert convs["smollm2-135m"][-1]["content"] == HOSTILE_B
    assert stored
