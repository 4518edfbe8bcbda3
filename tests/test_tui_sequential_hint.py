"""With answers generated one after the other and the speed-blind paced display, the panes stay blank for the whole first
answer; the vote bar says why, so a person does not take the wait for a hang. Concurrent rounds say nothing extra."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from arena.config.types import Config, Schedule
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for


@pytest.mark.parametrize("schedule, hinted", [(Schedule.SEQUENTIAL, True), (Schedule.CONCURRENT, False)])
def test_vote_bar_explains_a_sequential_wait(demo_config: Config, tmp_path: Path, schedule: Schedule, hinted: bool) -> None:
    config = dataclasses.replace(demo_config, defaults=dataclasses.replace(demo_config.defaults, schedule=schedule))
    bars: list[str] = []

    async def scenario() -> None:
        app = ArenaApp(config, tmp_path / "v.db", matchup_id="demo", seed=2, backend=fake_backend({}, delay_s=0.2))
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.round is not None)
            await pilot.click("#prompt")
            await pilot.press(*"hi", "enter")
            bar = lambda: str(screen.query_one("#vote-bar").render())  # noqa: E731
            await wait_for(pilot, lambda: "answering" in bar())
            bars.append(bar())
            await wait_for(pilot, lambda: screen.voting_open)

    asyncio.run(scenario())
    assert ("one after the other (schedule: sequential)" in bars[0]) is hinted, bars[0]
