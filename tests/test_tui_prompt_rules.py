"""What the prompt box says when it does not send: an all-whitespace prompt is not ignored silently.

Layout-level: the scripted engine stands in for models (the rules themselves are unit-tested in test_battle_controller.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for


def test_a_blank_prompt_says_why_it_was_not_sent(demo_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "v.db", matchup_id="demo", seed=1, backend=fake_backend({}))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.round is not None)
            await pilot.click("#prompt")
            await pilot.press("space", "space", "space", "enter")
            await wait_for(pilot, lambda: any("only spaces or line breaks" in n.message for n in app._notifications))
            assert screen.round is not None and not screen.round.turns  # nothing was sent
            await pilot.press(*"hi", "enter")
            await wait_for(pilot, lambda: screen.voting_open)
            assert screen.round.turns[-1].user == "hi"

    asyncio.run(scenario())
