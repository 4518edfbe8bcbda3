"""Keys and screens around a round: category, display policy, help, palette, picker, stats; and `arena serve`.

Layout-level: the scripted engine (tests/support/fake_engine.py) stands in for models; real-model rounds are in
test_tui_e2e.py and test_tui_round_actions.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.screens.help import HelpScreen
from arena.tui.screens.picker import PickerScreen
from arena.tui.screens.stats import StatsScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for as _until
from tests.support.server import free_port


def test_category_policy_and_vote_recorded(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=1, backend=fake_backend({}))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await _until(pilot, lambda: screen.round is not None)
            await pilot.press("escape")
            # `p` cycles paced -> whole -> live; live is marked as not speed-blind
            await pilot.press("p", "p")
            assert screen.policy.value == "live" and "NOT speed-blind" in screen.sub_title
            assert screen.round.policy.value == "live"  # no turn yet: applies to this round
            # `c` picks the category of a free prompt
            await pilot.press("c")
            await pilot.pause(0.2)
            await pilot.press("down", "down", "enter")  # reasoning, math, code
            await pilot.pause(0.1)
            assert screen.round.category == "code"
            await pilot.press("i", *"x", "enter")
            await _until(pilot, lambda: screen.voting_open)
            await pilot.press("1")
            await _until(pilot, lambda: screen.round.voted is not None)

    asyncio.run(scenario())
    assert sqlite3.connect(db).execute("SELECT category, display_policy FROM battles").fetchall() == [("code", "live")]


LONG = {"gemma3-270m": "word " * 80, "smollm2-135m": "text " * 80}  # 50 pieces at 50 ms: ~2.5 s of streaming


def test_vote_keys_inactive_until_both_answers_are_done(demo_config, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "v.db", matchup_id="demo", seed=1, backend=fake_backend(LONG, delay_s=0.05))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            await _until(pilot, lambda: screen.round is not None)
            await pilot.press("1")  # no turn yet: nothing happens
            assert screen.round.voted is None
            await pilot.press(*"hi", "enter")
            await pilot.pause(0.1)
            await pilot.press("1")  # still streaming: ignored
            assert screen.round.voted is None
            await _until(pilot, lambda: screen.voting_open)
            await pilot.press("1")
            await _until(pilot, lambda: screen.round.voted is not None)

    asyncio.run(scenario())


def test_help_palette_stats_and_picker(demo_config, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "v.db", seed=1, backend=fake_backend({}))
        async with app.run_test(size=(120, 40)) as pilot:
            assert isinstance(app.screen, PickerScreen)  # no matchup given: the picker
            await pilot.press("enter")  # the first matchup
            await _until(pilot, lambda: isinstance(app.screen, ArenaScreen) and app.screen.round is not None)
            await pilot.press("escape", "question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.press("s")
            assert isinstance(app.screen, StatsScreen)
            await pilot.press("escape")
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            await pilot.press(*"Statis")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, StatsScreen))
            await pilot.press("escape")
            await pilot.press("m")
            await _until(pilot, lambda: isinstance(app.screen, PickerScreen))

    asyncio.run(scenario())


def test_arena_serve_serves_the_app_page(demo_config_path: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena", "--config", str(demo_config_path), "--db", str(tmp_path / "v.db"), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "arena serve did not answer"
                time.sleep(0.3)
        assert "Quant Arena" in page and "ws" in page  # the textual-serve page that opens the app over a websocket
    finally:
        proc.terminate()
        proc.wait(10)


def test_panes_wait_under_an_opaque_screen_and_catch_up_when_it_closes(demo_config, tmp_path: Path) -> None:
    """While help (opaque, like the command palette) covers the arena, the panes are not fed (the text keeps in the
    pacer); closing it shows everything, and voting opens as usual. The help screen is built once and reused."""

    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "v.db", matchup_id="demo", seed=1, backend=fake_backend(LONG, delay_s=0.05))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            await _until(pilot, lambda: screen.round is not None)
            await pilot.press(*"hi", "enter")
            panes = screen._panes()
            await _until(pilot, lambda: all(p.shown > 0 for p in panes))
            await pilot.press("escape", "question_mark")
            assert isinstance(app.screen, HelpScreen)
            help_screen = app.screen
            await _until(pilot, lambda: all(p.shown == p.queued for p in panes))  # appends sent before it opened
            covered = [p.shown for p in panes]
            await _until(pilot, lambda: not screen.runner.running, 30, "both answers to finish")
            visible = screen.ctl.visible()
            assert visible is not None and all(len(text) > 0 for text in visible[1])
            await pilot.pause(0.3)  # three pane refreshes
            assert [p.shown for p in panes] == covered  # nothing was fed under the help screen
            assert not screen.voting_open
            await pilot.press("escape")
            await _until(pilot, lambda: screen.voting_open, 30, "voting to open once the panes caught up")
            assert [p.shown for p in panes] == [len(LONG["gemma3-270m"]), len(LONG["smollm2-135m"])]
            await pilot.press("question_mark")
            assert app.screen is help_screen  # built once
            await pilot.press("escape")
            assert app.screen is screen

    asyncio.run(scenario())
