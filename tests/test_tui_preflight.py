"""A RAM-preflight refusal is shown in the UI with its numbers and fix; the app stays usable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.pilot import wait_for

from arena.config.loader import load_config
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.screens.picker import PickerScreen


def test_preflight_refusal_is_shown_and_app_stays_up(smollm_path: Path, gemma_path: Path, tmp_path: Path) -> None:
    # A context of 1M tokens needs tens of GB of KV cache for SmolLM2: more than this machine has.
    yaml_text = f"""\
version: 1
models:
  - {{id: huge-ctx, name: SmolLM2 huge context, n_ctx: 1048576, source: {{path: "{smollm_path}"}}}}
  - {{id: gemma, name: Gemma, chat_format: gemma, n_ctx: 512, source: {{path: "{gemma_path}"}}}}
matchups:
  - {{id: too-big, big: huge-ctx, small: gemma}}
"""
    cfg_path = tmp_path / "models.yaml"
    cfg_path.write_text(yaml_text, encoding="utf-8")
    config = load_config(cfg_path)

    async def scenario() -> None:
        app = ArenaApp(config, tmp_path / "v.db", matchup_id="too-big")
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen._load_error is not None, 120, "the preflight refusal")
            bar = str(screen.query_one("#vote-bar").render())
            assert "Not enough memory" in bar and "n_ctx" in bar and "--force" in bar
            assert "[f] load anyway" in bar and "[m] pick another matchup" in bar
            assert screen._load_error.forceable and screen.check_action("force_load", ()) is True
            assert screen.contenders is None  # nothing was loaded
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), 120, "the picker")

    asyncio.run(scenario())


def test_a_refusal_that_cannot_be_forced_offers_no_override(tmp_path: Path, smollm_path: Path) -> None:
    # A model that is not on disk: loading anyway cannot help, so neither the hint nor the `f` key is offered.
    cfg_path = tmp_path / "models.yaml"
    cfg_path.write_text(
        "version: 1\nmodels:\n"
        "  - {id: absent, source: {repo: example-org/never-downloaded-GGUF, file: never-Q2_K.gguf}}\n"
        f'  - {{id: smol, source: {{path: "{smollm_path}"}}}}\n'
        "matchups:\n  - {id: m, big: absent, small: smol}\n",
        encoding="utf-8",
    )
    config = load_config(cfg_path)

    async def scenario() -> None:
        app = ArenaApp(config, tmp_path / "v.db", matchup_id="m")
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen._load_error is not None, 120, "the load error")
            bar = str(screen.query_one("#vote-bar").render())
            assert "arena pull absent" in bar and "[m] pick another matchup" in bar
            assert "[f] load anyway" not in bar
            assert not screen._load_error.forceable and screen.check_action("force_load", ()) is False

    asyncio.run(scenario())
