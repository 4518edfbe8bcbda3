"""End to end on a ladder: the real app, three real GGUF models (the two demo models and Gemma requantized locally to
Q4_0), several blind rounds over different pairs with votes, models loaded and unloaded as pairs change, and the votes
in the real SQLite file under the ladder's id."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from arena.config.loader import load_config
from arena.config.types import Config
from arena.models.backend import ModelBackend
from arena.models.preflight import preflight
from arena.models.resolve import describe, resolve
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from tests.support.pilot import wait_for

LADDER_YAML = """\
version: 1
defaults:
  schedule: concurrent
  sampling: {{temperature: 0.7, max_tokens: 24}}
models:
  - {{id: gemma, name: Gemma 3 270M, params: 270M, quant: Q4_K_M, chat_format: gemma, n_ctx: 512, source: {{path: "{gemma}"}}}}
  - {{id: gemma-q4_0, name: Gemma 3 270M local Q4_0, params: 270M, chat_format: gemma, n_ctx: 512, source: {{derived: {{from: gemma, type: Q4_0}}}}}}
  - {{id: smollm, name: SmolLM2 135M Instruct, params: 135M, quant: Q4_1, n_ctx: 512, source: {{path: "{smollm}"}}}}
ladders:
  - {{id: tiny-ladder, models: [gemma, gemma-q4_0, smollm], description: e2e}}
"""
ROUNDS = 3


@pytest.fixture(scope="module")
def ladder_config(tmp_path_factory: pytest.TempPathFactory, gemma_path: Path, smollm_path: Path) -> Config:
    folder = tmp_path_factory.mktemp("ladder-e2e")
    (folder / "models.yaml").write_text(LADDER_YAML.format(gemma=gemma_path, smollm=smollm_path), encoding="utf-8")
    config = load_config(folder / "models.yaml")
    resolve(config.model("gemma-q4_0"), config, download=True)  # llama.cpp's quantizer, into the test's ARENA_HOME
    return config


def pair_budget(config: Config) -> int:
    """Memory for any two of the three models, not for all three: pairs change, so models must unload and load."""
    def need(*ids: str) -> int:
        return preflight([(config.model(i), describe(config.model(i), config).facts) for i in ids], available=2**50).needed

    budget = max(need("gemma", "gemma-q4_0"), need("gemma", "smollm"), need("gemma-q4_0", "smollm"))
    assert budget < need("gemma", "gemma-q4_0", "smollm")
    return budget


@pytest.mark.slow
def test_ladder_rounds_over_several_pairs_with_real_models(ladder_config: Config, tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    played: list[tuple[tuple[str, str], tuple[str, str]]] = []  # (sides A/B, (big, small)) per round
    loaded_per_round: list[set[str]] = []

    async def scenario() -> None:
        backend = ModelBackend(ladder_config, available_bytes=pair_budget(ladder_config))
        app = ArenaApp(ladder_config, db, ladder_id="tiny-ladder", seed=5, backend=backend)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen) and screen.ladder
            for n in range(1, ROUNDS + 1):
                await wait_for(pilot, lambda: screen.round_no == n and screen.round is not None, 180, f"round {n}")
                assert "ladder tiny-ladder" in screen.sub_title
                r = screen.round
                assert r is not None and r.matchup.id == "tiny-ladder"
                loaded_per_round.append(set(screen.contenders.engines))  # type: ignore[union-attr]
                # The round exists before start_round has re-enabled the prompt box: typed keys would hit bindings.
                prompt = screen.query_one("#prompt")
                await wait_for(pilot, lambda: not prompt.disabled and app.focused is prompt, 120, "the prompt box")
                await pilot.click("#prompt")
                await pilot.press(*"Name three primary colors.", "enter")
                await wait_for(pilot, lambda: screen.voting_open, 240, f"both answers of round {n}")
                answers = [t.text for t in r.turns[-1].sides]
                shown = " ".join(str(w.render()) for w in screen.query("*") if hasattr(w, "render") and w.display)
                for secret in ("Gemma", "SmolLM", "Q4_0", "Q4_K_M", "270M", "135M"):
                    if not any(secret.lower() in a.lower() for a in answers):  # a model may name itself; our chrome must not
                        assert secret not in shown, f"{secret!r} visible before the vote"
                await pilot.press("1" if n % 2 else "2")
                await wait_for(pilot, lambda: r.voted is not None, 120, "the vote to be saved")
                played.append((r.models, (r.matchup.big, r.matchup.small)))
                await wait_for(pilot, lambda: all(p.border_subtitle == "revealed" for p in screen._panes()), 120, "the reveal")
                titles = " ".join(str(p.border_title) for p in screen._panes())
                if set(r.models) == {"gemma", "gemma-q4_0"}:  # one model at two quants: not "big" and "small"
                    assert titles.count("same size") == 2 and "fewer bits/weight" in titles and "more bits/weight" in titles, titles
                else:  # labels follow the files' facts, not the pair's slots
                    assert "bigger model" in titles and "smaller model" in titles, titles
                await pilot.pause(0.1)
                if n < ROUNDS:
                    await pilot.press("n")

    asyncio.run(scenario())

    pairs = [frozenset(sides) for sides, _ in played]
    assert len(set(pairs)) >= 2, played  # several pairs; informative drawing covers every unvoted pair first
    assert len(set(pairs)) == ROUNDS
    for loaded, (sides, _) in zip(loaded_per_round, played):
        assert loaded == set(sides)  # exactly the round's pair is resident: the third model was unloaded
    rows = sqlite3.connect(db).execute(
        "SELECT matchup_id, model_a, model_b, big_model, small_model, outcome FROM battles ORDER BY tstamp"
    ).fetchall()
    assert len(rows) == ROUNDS
    for (matchup_id, a, b, big, small, outcome), (sides, roles), n in zip(rows, played, range(1, ROUNDS + 1)):
        assert matchup_id == "tiny-ladder" and (a, b) == sides and (big, small) == roles
        assert outcome == ("A" if n % 2 else "B")
        if "smollm" in sides:
            assert small == "smollm"  # fewer parameters: the "small" side of the pair
