"""Follow-up turns, regenerate and stop, in the real app with two real models; the stored conversation matches."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.widgets.stream_view import StreamView
from tests.support.pilot import wait_for


def voting_open(screen: ArenaScreen) -> bool:
    return screen.voting_open


@pytest.mark.slow
def test_follow_up_regenerate_stop_and_vote(gemma_path: Path, smollm_path: Path, tmp_path: Path) -> None:
    from arena.config.loader import load_config
    from tests.conftest import write_demo_config

    db = tmp_path / "votes.db"
    # Long enough answers that the stop below lands mid-answer on an idle machine too.
    demo_config = load_config(write_demo_config(tmp_path / "models.yaml", gemma_path, smollm_path, max_tokens=160))

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=5)
        async with app.run_test(size=(150, 44)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.round is not None, 120, "models to load")
            await pilot.click("#prompt")
            await pilot.press(*"Say hello.", "enter")
            await wait_for(pilot, lambda: voting_open(screen), 120, "first answers")

            # A follow-up goes to both models, each seeing its own first answer.
            await pilot.press("i")
            await pilot.press(*"Now say goodbye.", "enter")
            await wait_for(pilot, lambda: len(screen.round.turns) == 2 and voting_open(screen), 120, "follow-up answers")
            first_answers = [screen.round.turns[0].sides[s].text for s in (0, 1)]
            for side in (0, 1):
                msgs = screen.round.messages_for(side)
                assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
                assert msgs[1]["content"] == first_answers[side]

            # Regenerate reruns the last turn on both with new seeds; the first turn stays.
            old_seeds = [screen.round.turns[1].sides[s].seed for s in (0, 1)]
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: voting_open(screen), 120, "regenerated answers")
            assert len(screen.round.turns) == 2
            assert [screen.round.turns[1].sides[s].seed for s in (0, 1)] != old_seeds
            assert [screen.round.turns[0].sides[s].text for s in (0, 1)] == first_answers

            # Stop: a long answer is stopped on both sides at once.
            await pilot.press("i")
            await pilot.press(*"Write a very long story about a lighthouse keeper, at least 2000 words.", "enter")
            turn = screen.round.turns[-1]
            panes = screen._panes()
            # Under the paced display a stop keeps what was shown: wait until both panes show text.
            await wait_for(pilot, lambda: all(p.shown > 0 for p in panes), 60, "both panes to show text")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: voting_open(screen), 60, "stopped answers")
            reasons = [screen.round.turns[-1].sides[s].reason for s in (0, 1)]
            assert all(r in ("cancelled", "stop") for r in reasons) and "cancelled" in reasons, reasons
            # The stored answers are exactly what the panes show.
            assert [p.query(StreamView).last().text for p in panes] == [turn.sides[s].text for s in (0, 1)]

            await pilot.press("4")  # both bad
            await wait_for(pilot, lambda: screen.round.voted is not None, 120, "vote saved")

    asyncio.run(scenario())
    row = sqlite3.connect(db).execute(
        "SELECT outcome, conversation_a, conversation_b, seeds_a, finish_reasons_a, finish_reasons_b, stopped_a, stopped_b FROM battles"
    ).fetchone()
    assert row[0] == "both_bad"
    for conv in (row[1], row[2]):
        roles = [m["role"] for m in json.loads(conv)]
        assert roles == ["user", "assistant"] * 3
    assert len(json.loads(row[3])) == 3
    assert "cancelled" in json.loads(row[4]) + json.loads(row[5])
    assert row[6] or row[7]
