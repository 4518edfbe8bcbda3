"""Snapshot of the statistics screen with a ladder: ranking table, the rating-vs-bits-per-weight chart (textual-plotext)
and the crossover sentence, over a real SQLite store seeded with synthetic votes for five models (facts included).

Pure layout test: the arena behind it uses the scripted engine. Update with `--snapshot-update` after an intended change.
"""

from __future__ import annotations

from pathlib import Path

from arena.store import VoteStore
from arena.store.synthetic_ladder import LADDER, seed_ladder
from arena.tui.app import ArenaApp
from arena.tui.screens.stats import StatsScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for

FIVE = {k: v for k, v in LADDER.items() if k != "qwen2.5-14b-q6_k"}  # 14B at three quants, 7B and 3B at Q8_0
ANSWERS = {"gemma3-270m": "ok", "smollm2-135m": "ok"}


def test_statistics_screen_with_ladder_chart(snap_compare, demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    with VoteStore(db) as store:
        seed_ladder(store, 1200, seed=7, ladder=FIVE)
    app = ArenaApp(demo_config, db, matchup_id="demo", seed=11, backend=fake_backend(ANSWERS))

    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "round", None) is not None)
        pilot.app.push_screen(StatsScreen("demo", ladder_id="qwen-demo", ladder_models=list(FIVE)))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, StatsScreen))
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=run_before, terminal_size=(130, 60))
