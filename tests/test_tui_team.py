"""The team arena's session side in the TUI: who votes (the name screen), every vote carrying that name, and results
kept from the voter while a round waits for their vote or when the host locked them.

Real demo models (llama.cpp) and a real SQLite file; the name-screen snapshots load no model (nothing loads before a
name is given). `team_gateway` only switches the session into team mode here: the gateway itself is `arena serve
--team`'s part, and these tests pass the real local backend explicitly.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Static

from arena.battle.controller import STATS_AFTER_VOTE, STATS_LOCKED
from arena.models.backend import ModelBackend
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.screens.picker import PickerScreen
from arena.tui.screens.stats import StatsScreen
from arena.tui.screens.voter import VoterScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import spy_notifications, wait_for

GATEWAY = "http://127.0.0.1:9/v1"  # never contacted in these tests: it marks the session as a team session


def error_text(app: ArenaApp) -> str:
    return str(app.screen.query_one("#voter-error", Static).render())


@pytest.mark.slow
def test_a_team_session_asks_who_votes_stores_it_and_keeps_results_closed_until_the_vote(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "votes.db"

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=3, team_gateway=GATEWAY, backend=ModelBackend(demo_config))
        notes = spy_notifications(app)
        async with app.run_test(size=(150, 45)) as pilot:
            assert isinstance(app.screen, VoterScreen)
            assert app.lineup is None  # nothing loads before the name
            name_box = app.screen.query_one("#voter-name", Input)
            assert name_box.has_focus  # keyboard only: type, Enter
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Type your name" in error_text(app), 120, "the empty-name message")
            await pilot.press(*("x" * 41), "enter")
            await wait_for(pilot, lambda: "41 characters" in error_text(app), 120, "the too-long message")
            name_box.value = "Eve\x1b]0;pwned\x07"  # as a paste into a browser terminal could bring it
            await pilot.press("enter")
            await wait_for(pilot, lambda: "control character (U+001B" in error_text(app), 120, "the control-character message")
            assert isinstance(app.screen, VoterScreen)
            name_box.value = ""
            await pilot.press(*"  Ada L.  ", "enter")

            await wait_for(pilot, lambda: isinstance(app.screen, ArenaScreen), 120, "the arena")
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            assert app.voter == "Ada L."
            assert screen.sub_title.endswith(" · voter Ada L.")
            await wait_for(pilot, lambda: screen.round is not None, 180, "models to load")
            await pilot.click("#prompt")
            await pilot.press(*"Say hello.", "enter")
            await wait_for(pilot, lambda: screen.round.turns != [], 120, "the turn to start")
            await pilot.press("escape")  # out of the prompt box: `s` is a key
            await pilot.press("s")  # while both answer: no results for a voter whose round waits
            await wait_for(pilot, lambda: STATS_AFTER_VOTE in notes, 120, "the refusal while answering")
            await wait_for(pilot, lambda: screen.voting_open, 300, "both answers")
            notes.clear()
            await pilot.press("s")
            await wait_for(pilot, lambda: STATS_AFTER_VOTE in notes, 120, "the refusal while voting is open")
            assert not any(isinstance(s, StatsScreen) for s in app.screen_stack)

            await pilot.press("2")
            await wait_for(pilot, lambda: screen.round.voted is not None, 120, "the vote")
            await pilot.press("s")  # after the vote the results open
            await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), 120, "the statistics")

        rows = sqlite3.connect(db).execute("SELECT voter, outcome FROM battles").fetchall()
        assert rows == [("Ada L.", "B")]

    asyncio.run(scenario())


@pytest.mark.slow
def test_statistics_locked_by_the_host_say_so_everywhere(demo_config, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "votes.db", matchup_id="demo", seed=3, voter="Bo", lock_stats=True)
        notes = spy_notifications(app)
        async with app.run_test(size=(150, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen) and screen.sub_title.endswith(" · voter Bo")
            await wait_for(pilot, lambda: screen.round is not None, 180, "models to load")
            await pilot.press("escape", "s")
            await wait_for(pilot, lambda: STATS_LOCKED in notes, 120, "the lock message in the arena")
            notes.clear()
            await app.run_action("command_palette")  # the palette's "Statistics" runs the same gated action
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 120, "the command palette")
            await pilot.press(*"Statistics")  # typed into the palette's search, not keys of the arena
            await wait_for(pilot, lambda: app.screen.query(CommandList).first().option_count > 0, 120, "palette hits")
            assert not notes
            await pilot.press("enter")
            await wait_for(pilot, lambda: STATS_LOCKED in notes, 120, "the lock message from the palette")
            assert not any(isinstance(s, StatsScreen) for s in app.screen_stack)
            notes.clear()
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), 120, "the picker")
            await pilot.press("s")
            await wait_for(pilot, lambda: STATS_LOCKED in notes, 120, "the lock message in the picker")
            assert not any(isinstance(s, StatsScreen) for s in app.screen_stack)
            # Any other way to the statistics screen shows the lock, not the numbers.
            await app.push_screen(StatsScreen("demo"))
            await pilot.pause(0.2)
            assert STATS_LOCKED in str(app.screen.query_one("#stats-locked", Static).render())
            assert not app.screen.query("#stats-summary")

    asyncio.run(scenario())


# --- snapshots of the name screen (no model is loaded before a name is given) ----------------------------------------
def _team_app(config, db: Path) -> ArenaApp:
    return ArenaApp(config, db, matchup_id="demo", seed=11, team_gateway=GATEWAY, backend=fake_backend({}))


def test_voter_name_screen(snap_compare, demo_config, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, VoterScreen), 120, "the name screen")
        await pilot.pause(0.2)

    assert snap_compare(_team_app(demo_config, tmp_path / "v.db"), run_before=run_before, terminal_size=(100, 24))


def test_voter_name_screen_refusing_a_name(snap_compare, demo_config, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, VoterScreen), 120, "the name screen")
        pilot.app.screen.query_one("#voter-name", Input).value = "a\tb"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "U+0009" in error_text(pilot.app), 120, "the refusal")
        await pilot.pause(0.2)

    assert snap_compare(_team_app(demo_config, tmp_path / "v.db"), run_before=run_before, terminal_size=(100, 24))
