"""The one backend seam (arena.models.backend): the real backend over the demo GGUFs, and sessions that always go
through it (preflight and facts included) whichever backend they are given."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.battle.session import load_contenders
from arena.config.types import Config, ModelSpec, RemoteSource
from arena.engine.local import LocalEngine
from arena.engine.remote import RemoteEngine
from arena.errors import MemoryRefused, ModelError
from arena.models.backend import Backend, ModelBackend
from arena.models.facts import read_facts
from tests.support.fake_engine import FakeBackend


def test_real_backend_builds_engines_and_reads_facts(demo_config: Config, gemma_path: Path) -> None:
    backend = ModelBackend(demo_config, threads=1)
    assert isinstance(backend, Backend)
    spec = demo_config.model("gemma3-270m")
    engine = backend.engine_for(spec)
    assert isinstance(engine, LocalEngine) and engine.path == gemma_path and not engine.loaded
    assert (engine.n_ctx, engine.chat_format) == (spec.n_ctx, "gemma")
    facts = backend.facts_for(spec)
    header = read_facts(gemma_path)
    assert (facts.n_params, facts.file_size, facts.quant_type) == (header.n_params, header.file_size, header.quant_type)
    assert backend.is_present(spec)


def test_preflight_refusal_is_typed_and_can_be_forced(demo_config: Config) -> None:
    specs = [demo_config.model("gemma3-270m"), demo_config.model("smollm2-135m")]
    assert ModelBackend(demo_config, available_bytes=64 * 2**30).preflight(specs) is None
    tight = ModelBackend(demo_config, available_bytes=300 * 2**20)
    with pytest.raises(MemoryRefused) as info:
        tight.preflight(specs)
    assert isinstance(info.value, ModelError) and info.value.forceable
    assert "Not enough memory" in info.value.message and "--force" in (info.value.fix or "")
    note = tight.preflight(specs, force=True)
    assert note is not None and "Not enough memory" in note


def test_remote_engine_key_comes_from_the_named_variable() -> None:
    spec = ModelSpec("r", "Remote", RemoteSource("http://127.0.0.1:9/v1", "m", api_key_env="ARENA_TEST_KEY"))
    config = Config(path=Path("models.yaml"), models={"r": spec}, matchups={})
    with pytest.raises(ModelError, match="ARENA_TEST_KEY"):
        ModelBackend(config, environ={}).engine_for(spec)
    engine = ModelBackend(config, environ={"ARENA_TEST_KEY": "k"}).engine_for(spec)
    assert isinstance(engine, RemoteEngine) and engine.api_key_env == "ARENA_TEST_KEY"
    assert ModelBackend(config).facts_for(spec).source == "remote:http://127.0.0.1:9/v1#m"


def test_a_missing_file_names_arena_pull(demo_config: Config, tmp_path: Path) -> None:
    import dataclasses

    from arena.config.types import DerivedSource

    spec = dataclasses.replace(demo_config.model("smollm2-135m"), id="never-built", source=DerivedSource("smollm2-135m", "Q8_0"))
    config = dataclasses.replace(demo_config, models={**demo_config.models, spec.id: spec})
    backend = ModelBackend(config)
    assert not backend.is_present(spec)
    with pytest.raises(ModelError, match="arena pull never-built"):
        backend.engine_for(spec)
    assert backend.facts_for(spec).id == "never-built"  # facts never fail


def test_session_preflights_and_takes_facts_from_any_backend(demo_config: Config) -> None:
    """No shortcut for test backends: the session asks the backend for preflight and facts, as in production."""
    backend = FakeBackend({"gemma3-270m": "g", "smollm2-135m": "s"})
    contenders = load_contenders(demo_config, "demo", backend=backend)
    try:
        assert backend.preflights == [["gemma3-270m", "smollm2-135m"]]
        assert set(contenders.facts) == {"gemma3-270m", "smollm2-135m"}
        assert contenders.facts["gemma3-270m"].source == "test"
        assert all(e.loaded for e in contenders.engines.values())
    finally:
        contenders.unload()


def test_session_refuses_a_matchup_that_does_not_fit(demo_config: Config) -> None:
    tight = ModelBackend(demo_config, available_bytes=300 * 2**20)
    with pytest.raises(MemoryRefused):
        load_contenders(demo_config, "demo", backend=tight)
