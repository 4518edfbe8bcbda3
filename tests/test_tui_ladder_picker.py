"""Ladders in the TUI shell (layout only, scripted backend): the picker lists them, Enter opens one, the loading bar
names no model, and a new round after a vote draws the next pair. The real-model ladder run is test_tui_ladder_e2e."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from textual.widgets import OptionList

from arena.config.types import Config, Ladder
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.screens.picker import PickerScreen
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for


def with_ladder(config: Config) -> Config:
    third = dataclasses.replace(config.model("smollm2-135m"), id="smollm2-again", name="SmolLM2 again", quant="Q8_0")
    models = {**config.models, third.id: third}
    ladder = Ladder("lad", ("gemma3-270m", "smollm2-135m", "smollm2-again"), "three tiny models")
    return dataclasses.replace(config, models=models, ladders={"lad": ladder})


def test_picker_lists_ladders_and_a_ladder_draws_pairs(demo_config: Config, tmp_path: Path) -> None:
    config = with_ladder(demo_config)
    # Neutral answers: the default "Answer from <id>" names a model family, and such votes are left out of the counts.
    backend = fake_backend({"gemma3-270m": "Red.", "smollm2-135m": "Blue.", "smollm2-again": "Green."})

    async def scenario() -> None:
        app = ArenaApp(config, tmp_path / "v.db", seed=4, backend=backend)
        async with app.run_test(size=(120, 40)) as pilot:
            assert isinstance(app.screen, PickerScreen)
            options = app.screen.query_one("#matchups", OptionList)
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert "lad" in ids and "demo" in ids
            options.highlighted = options.get_option_index("lad")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ArenaScreen) and app.screen.round is not None)
            screen = app.screen
            assert isinstance(screen, ArenaScreen) and screen.ladder and "ladder lad" in screen.sub_title
            labels = " ".join(str(w.render()) for w in screen.query(".load-label"))
            assert "next round" in labels and "Gemma" not in labels and "SmolLM" not in labels
            pairs = []
            for n in range(1, 4):
                await wait_for(pilot, lambda: screen.round_no == n and screen.round is not None, 120, f"round {n}")
                prompt = screen.query_one("#prompt")
                await wait_for(pilot, lambda: not prompt.disabled and app.focused is prompt, 120, "the prompt box")
                await pilot.press(*"hi", "enter")
                await wait_for(pilot, lambda: screen.voting_open, 120, "the answers")
                pairs.append(frozenset(screen.round.models))  # type: ignore[union-attr]
                await pilot.press("3")
                await wait_for(pilot, lambda: screen.round.voted is not None)  # type: ignore[union-attr]
                await pilot.press("n")
            assert len(set(pairs)) == 3  # every unvoted pair comes first
            assert backend.preflights[:3] == [list(p) for p in (("gemma3-270m", "smollm2-135m"), ("gemma3-270m", "smollm2-again"), ("smollm2-135m", "smollm2-again"))]

    asyncio.run(scenario())
