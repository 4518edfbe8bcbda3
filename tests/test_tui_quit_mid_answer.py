"""Quitting while both real models are still generating ends cleanly (it used to crash with SIGSEGV: the models were
unloaded while a thread still generated with them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from arena.config.loader import load_config
    from arena.tui.app import ArenaApp

    async def main() -> None:
        app = ArenaApp(load_config(Path(sys.argv[1])), sys.argv[2], matchup_id="demo", seed=1)
        async with app.run_test() as pilot:
            s = app.screen
            while s.round is None:
                await pilot.pause(0.05)
            await pilot.click("#prompt")
            await pilot.press(*"Write a long story about the sea.", "enter")
            while not (s.round.turns and s.round.turns[-1].sides[0].text and s.round.turns[-1].sides[1].text):
                await pilot.pause(0.05)
            print("generating; quitting", flush=True)
        # leaving run_test() shuts the app down mid-answer

    asyncio.run(main())
    print("clean exit", flush=True)
    """
)


@pytest.mark.slow
def test_quit_while_generating_exits_cleanly(tmp_path: Path, gemma_path: Path, smollm_path: Path) -> None:
    from tests.conftest import write_demo_config

    config = write_demo_config(tmp_path / "models.yaml", gemma_path, smollm_path, max_tokens=400)
    for attempt in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(config), str(tmp_path / "v.db")],
            capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        )
        assert proc.returncode == 0, (attempt, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "generating; quitting" in proc.stdout and "clean exit" in proc.stdout
