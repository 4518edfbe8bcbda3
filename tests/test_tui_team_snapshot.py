"""Snapshot of the statistics screen's Team section: per-voter rows, agreement, the pooled result with iid / clustered /
voter-bootstrap intervals, over a real SQLite store seeded with synthetic votes from four voters (one of them with a
hostile name, drawn sanitized). And the section stays away with a single voter.

Pure layout test: the arena behind it uses the scripted engine. Update with `--snapshot-update` after an intended change.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from arena.records import ModelFacts
from arena.store import VoteStore
from arena.store.synthetic_team import seed_team, team_records
from arena.tui.app import ArenaApp
from arena.tui.screens.stats import StatsScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for

ANSWERS = {"gemma3-270m": "ok", "smollm2-135m": "ok"}
FACTS = {
    "gemma3-270m": ModelFacts(id="gemma3-270m", name="Gemma 3 270M", source="test", quant_type="Q4_K_M"),
    "smollm2-135m": ModelFacts(id="smollm2-135m", name="SmolLM2 135M Instruct", source="test", quant_type="Q4_1"),
}


def _seed(db: Path, voters: list[str | None]) -> None:
    records = team_records(
        voters, {v: 30 - 4 * k for k, v in enumerate(voters)}, prompts=15, seed=21, voter_sd=0.9, prompt_sd=1.5,
        big="gemma3-270m", small="smollm2-135m", matchup="demo",
    )  # fmt: skip
    with VoteStore(db) as store:
        seed_team(store, records, FACTS)


async def _open_stats(pilot) -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "round", None) is not None)
    pilot.app.push_screen(StatsScreen("demo"))
    # Drawn once the screen has mounted and filled its summary (refresh_report runs in on_mount).
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StatsScreen) and bool(pilot.app.screen.query("#stats-team")))
    await wait_for(pilot, lambda: pilot.app.screen.sub_title != "", what="the statistics to be drawn")


def test_statistics_screen_team_section(snap_compare, demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _seed(db, ["ann", "bob", "cy", "mal\x1b[31mlory"])
    app = ArenaApp(demo_config, db, matchup_id="demo", seed=11, backend=fake_backend(ANSWERS))

    async def run_before(pilot) -> None:
        await _open_stats(pilot)
        team = pilot.app.screen.query_one("#stats-team", Static)
        assert team.display
        pilot.app.screen.query_one("#stats-body").scroll_to_widget(team, animate=False, top=True)
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=run_before, terminal_size=(150, 56))


def test_no_team_section_for_one_voter(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _seed(db, [None])
    app = ArenaApp(demo_config, db, matchup_id="demo", seed=11, backend=fake_backend(ANSWERS))

    async def scenario() -> None:
        async with app.run_test(size=(150, 56)) as pilot:
            await _open_stats(pilot)
            assert "No votes" not in str(pilot.app.screen.query_one("#stats-summary", Static).render())
            assert not pilot.app.screen.query_one("#stats-team", Static).display

    asyncio.run(scenario())
