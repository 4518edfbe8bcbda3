"""Ladder rounds without a UI: informative pair choice (pure, checked against scipy and brute force), which model of a
pair is "big", and the Lineup that keeps, loads and unloads real llama.cpp engines as pairs change."""

from __future__ import annotations

import random
from itertools import combinations
from pathlib import Path

import pytest

from arena.battle.ladder import pair_roles, params_from_label
from arena.battle.lineup import Lineup
from arena.config.loader import load_config
from arena.config.types import Config
from arena.errors import MemoryRefused, ModelError
from arena.models.backend import ModelBackend
from arena.models.preflight import preflight
from arena.models.resolve import describe
from arena.records import ModelFacts
from arena.stats.counts import AggRow
from tests.support.synthetic_gguf import write_synthetic_gguf

MODELS = ["m1", "m2", "m3", "m4"]


PAIRS = list(combinations(MODELS, 2))


def test_big_is_more_parameters_then_the_harsher_quant_then_ladder_order(demo_config: Config) -> None:
    specs = demo_config.models
    f = {
        "gemma3-270m": ModelFacts("gemma3-270m", "g", "t", n_params=268_000_000, bits_per_weight=4.9),
        "smollm2-135m": ModelFacts("smollm2-135m", "s", "t", n_params=134_500_000, bits_per_weight=5.7),
    }
    assert pair_roles("smollm2-135m", "gemma3-270m", specs, f) == ("gemma3-270m", "smollm2-135m")
    assert pair_roles("smollm2-135m", "gemma3-270m", specs, {}) == ("gemma3-270m", "smollm2-135m")  # from params labels
    same = {"x": ModelFacts("x", "x", "t", n_params=100, bits_per_weight=8.5), "y": ModelFacts("y", "y", "t", n_params=100, bits_per_weight=2.9)}
    assert pair_roles("x", "y", {}, same) == ("y", "x")  # same size: the harsh quant plays "big, harsh quant"
    assert pair_roles("x", "y", {}, {}, order=["y", "x"]) == ("y", "x")
    assert [params_from_label(s) for s in ("14B", "1.5b", "270M", "8x7B", None)] == [14e9, 1.5e9, 270e6, None, None]


# -- the lineup with real engines -----------------------------------------------------------------------------------------

LADDER_YAML = """\
version: 1
models:
  - {{id: gemma, name: Gemma, params: 270M, chat_format: gemma, n_ctx: 512, source: {{path: "{gemma}"}}}}
  - {{id: smollm, name: SmolLM, params: 135M, n_ctx: 512, source: {{path: "{smollm}"}}}}
  - {{id: synth, name: Synthetic, chat_format: chatml, n_ctx: 256, source: {{path: "{synth}"}}}}
  - {{id: absent, name: Absent, source: {{derived: {{from: smollm, type: Q8_0}}}}}}
ladders:
  - {{id: lad, models: [gemma, smollm, synth]}}
  - {{id: with-absent, models: [gemma, absent, synth]}}
  - {{id: mostly-absent, models: [absent, gemma, absent2]}}
"""


@pytest.fixture(scope="module")
def ladder_config(tmp_path_factory: pytest.TempPathFactory, gemma_path: Path, smollm_path: Path) -> Config:
    folder = tmp_path_factory.mktemp("ladder")
    synth = write_synthetic_gguf(folder / "synth.gguf", n_layer=1)
    text = LADDER_YAML.format(gemma=gemma_path, smollm=smollm_path, synth=synth)
    text = text.replace("ladders:\n", "  - {id: absent2, name: Absent 2, source: {derived: {from: gemma, type: Q8_0}}}\nladders:\n", 1)
    (folder / "models.yaml").write_text(text, encoding="utf-8")
    return load_config(folder / "models.yaml")


def needed(config: Config, *ids: str) -> int:
    return preflight([(config.model(i), describe(config.model(i), config).facts) for i in ids], available=2**50).needed


def test_only_pairs_that_fit_play_and_a_shared_model_stays_loaded(ladder_config: Config) -> None:
    c = ladder_config
    # Memory for the pairs with the synthetic model, not for Gemma + SmolLM together.
    budget = max(needed(c, "gemma", "synth"), needed(c, "smollm", "synth"))
    assert budget < needed(c, "gemma", "smollm")
    lineup = Lineup.for_ladder(c, "lad", ModelBackend(c, threads=1, available_bytes=budget), rng=random.Random(3))
    lineup.open()
    assert sorted(lineup.candidates) == [("gemma", "synth"), ("smollm", "synth")] and not lineup.keep_all
    assert "1 of 3 pairs do not fit" in (lineup.note or "")
    try:
        pairs = []
        kept = None
        for _ in range(4):
            pair = lineup.draw([AggRow(a, b, "A", "c", 1) for a, b in pairs])
            before = dict(lineup.contenders.engines)  # type: ignore[union-attr]
            contenders = lineup.prepare(pair)
            assert set(contenders.engines) == {pair.big, pair.small}  # exactly the pair is resident
            assert all(e.loaded for e in contenders.engines.values())
            assert contenders.matchup == pair and pair.id == "lad"
            if "synth" in before:
                assert contenders.engines["synth"] is before["synth"]  # needed again: not reloaded
                kept = True
            for model_id, engine in before.items():
                if model_id not in (pair.big, pair.small):
                    assert not engine.loaded  # unloaded before the next pair loaded
            pairs.append((pair.big, pair.small))
        assert kept and {frozenset(p) for p in pairs} == {frozenset(p) for p in lineup.candidates}
        assert all(p[1] == "synth" for p in pairs)  # the synthetic model has the fewest parameters: always "small"
    finally:
        lineup.unload()
    assert lineup.loaded() == []


def test_everything_stays_loaded_when_the_whole_ladder_fits(ladder_config: Config) -> None:
    lineup = Lineup.for_ladder(ladder_config, "lad", ModelBackend(ladder_config, threads=1, available_bytes=2**40), rng=random.Random(1))
    lineup.open()
    assert lineup.keep_all and len(lineup.candidates) == 3 and lineup.note is None
    try:
        first = lineup.prepare(lineup.draw())
        engines = dict(first.engines)
        for _ in range(3):
            lineup.prepare(lineup.draw([]))
        assert all(lineup.contenders.engines[m] is e and e.loaded for m, e in engines.items())  # type: ignore[union-attr]
    finally:
        lineup.unload()


def test_no_pair_fits_is_a_refusal_that_can_be_forced(ladder_config: Config) -> None:
    tight = ModelBackend(ladder_config, threads=1, available_bytes=1)
    with pytest.raises(MemoryRefused) as info:
        Lineup.for_ladder(ladder_config, "lad", tight).open()
    assert "No pair of ladder 'lad' fits" in info.value.message and info.value.forceable
    forced = Lineup.for_ladder(ladder_config, "lad", tight, force=True)
    forced.open()
    assert len(forced.candidates) == 3 and "--force" in (forced.note or "")


def test_absent_models_are_left_out_or_named_with_arena_pull(ladder_config: Config) -> None:
    backend = ModelBackend(ladder_config, threads=1, available_bytes=2**40)
    lineup = Lineup.for_ladder(ladder_config, "with-absent", backend)
    lineup.open()
    assert lineup.absent == ["absent"] and lineup.candidates == [("gemma", "synth")]
    assert "arena pull with-absent" in (lineup.note or "")
    with pytest.raises(ModelError) as info:
        Lineup.for_ladder(ladder_config, "mostly-absent", backend).open()
    assert "1 of its 3 models" in info.value.message and "arena pull mostly-absent" in (info.value.fix or "")


def test_one_model_at_two_quants_is_revealed_as_harsher_and_lighter(ladder_config: Config) -> None:
    from arena.config.types import Matchup

    same = {"x": ModelFacts("x", "x", "t", n_params=268_098_176, bits_per_weight=7.36),
            "y": ModelFacts("y", "y", "t", n_params=268_098_176, bits_per_weight=8.50)}
    assert pair_roles("y", "x", {}, same) == ("x", "y")
    lineup = Lineup.for_ladder(ladder_config, "lad", ModelBackend(ladder_config, available_bytes=2**40))
    lineup.open()
    pair = Matchup("lad", "gemma", "smollm")
    assert (lineup.role_of(pair, "gemma"), lineup.role_of(pair, "smollm")) == ("big", "small")
    lineup.contenders.facts.update(gemma=same["x"], smollm=same["y"])  # type: ignore[union-attr]
    assert (lineup.role_of(pair, "gemma"), lineup.role_of(pair, "smollm")) == ("harsh", "light")
