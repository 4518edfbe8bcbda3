"""Bring a matchup to life and keep the evidence: resolve both models, check memory, load engines, save votes.

Shared by the TUI and the CLI. Blocking calls; the TUI runs them in worker threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from arena.records import BattleRecord, ModelFacts, Vote
from arena.battle.round import Round
from arena.config.types import Config, Matchup, ModelSpec, RemoteSource
from arena.engine.types import Engine
from arena.errors import ArenaError, ModelError
from arena.prompts.checks import run_check
from arena.prompts.types import Prompt
from arena.store import VoteStore

LoadProgress = Callable[[str, float, str], None]  # (model id, fraction, message)
EngineFactory = Callable[[ModelSpec, Config, int], Engine]  # (spec, config, threads) -> unloaded engine


def cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_engine_factory(spec: ModelSpec, config: Config, threads: int) -> Engine:
    """The real engines: in-process llama.cpp for files, OpenAI-compatible HTTP for remote sources."""
    if isinstance(spec.source, RemoteSource):
        from arena.engine.remote import RemoteEngine

        src = spec.source
        api_key = os.environ.get(src.api_key_env) if src.api_key_env else None
        if src.api_key_env and not api_key:
            raise ModelError(
                f"Model '{spec.id}' reads its API key from the environment variable {src.api_key_env}, which is not set",
                f"export {src.api_key_env}=... before starting arena, or remove api_key_env from models.yaml if the server needs no key",
            )
        return RemoteEngine(
            spec.id, src.base_url, src.model, api_key=api_key, api_key_env=src.api_key_env, timeout_s=src.timeout_s
        )  # api_key_env: a 401 names the variable to fix (never the key)

    from arena.engine.local import LocalEngine
    from arena.models.resolve import resolve

    resolved = resolve(spec, config)
    if resolved.path is None or not resolved.path.exists():
        raise ModelError(
            f"Model '{spec.id}' ({spec.name}) is not on disk yet",
            f"run `arena pull {spec.id}` (it downloads or builds the file), then pick the matchup again",
        )
    n_threads = spec.n_threads or threads
    return LocalEngine(
        spec.id,
        resolved.path,
        chat_format=spec.chat_format,
        n_ctx=spec.n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_gpu_layers=spec.n_gpu_layers,
    )


def model_facts(spec: ModelSpec, config: Config) -> ModelFacts:
    """What the store keeps about a model; never fails (facts are informative, the vote matters more)."""
    from arena.models.resolve import resolve

    try:
        return resolve(spec, config).model_facts()
    except ArenaError:
        return ModelFacts(id=spec.id, name=spec.name, source=type(spec.source).__name__, quant_type=spec.quant)


@dataclass
class Contenders:
    """The two loaded engines of a matchup and what we know about their models."""

    matchup: Matchup
    engines: dict[str, Engine]
    facts: dict[str, ModelFacts] = field(default_factory=dict)

    def pair(self, round_: Round) -> tuple[Engine, Engine]:
        return self.engines[round_.models[0]], self.engines[round_.models[1]]

    def unload(self) -> None:
        for engine in self.engines.values():
            try:
                engine.unload()
            except Exception:  # unloading must never mask the error that made us unload
                pass


def preflight_matchup(config: Config, matchup: Matchup, *, force: bool = False) -> str | None:
    """Refuse (MemoryRefused, forceable) when both models will not fit in available memory; returns a note to show, if any."""
    from arena.models.preflight import preflight
    from arena.models.resolve import describe

    pairs = []
    for model_id in (matchup.big, matchup.small):
        spec = config.model(model_id)
        pairs.append((spec, None if isinstance(spec.source, RemoteSource) else describe(spec, config).facts))
    result = preflight(pairs)
    result.raise_if_refused(force=force)
    return result.message if not result.ok else None


def load_contenders(
    config: Config,
    matchup_id: str,
    *,
    force: bool = False,
    progress: LoadProgress | None = None,
    engine_factory: EngineFactory = default_engine_factory,
) -> Contenders:
    matchup = config.matchups[matchup_id]
    specs = [config.model(matchup.big), config.model(matchup.small)]
    if engine_factory is default_engine_factory:
        preflight_matchup(config, matchup, force=force)
    threads = cpu_threads()
    engines: dict[str, Engine] = {}
    contenders = Contenders(matchup=matchup, engines=engines)
    try:
        for spec in specs:
            engine = engine_factory(spec, config, threads)

            def report(fraction: float, message: str, _id: str = spec.id) -> None:
                if progress is not None:
                    progress(_id, fraction, message)

            report(0.0, "loading")
            engine.load(report)
            report(1.0, "ready")
            engines[spec.id] = engine
            contenders.facts[spec.id] = model_facts(spec, config) if engine_factory is default_engine_factory else ModelFacts(
                id=spec.id, name=spec.name, source="test", quant_type=spec.quant
            )
    except BaseException:
        contenders.unload()
        raise
    return contenders


def objective_checks(round_: Round, prompt: Prompt | None) -> tuple[dict | None, dict | None]:
    """Run the suite prompt's objective check (if any) on each side's final answer. Stored beside the human vote."""
    if prompt is None or prompt.check is None:
        return None, None
    out: list[dict | None] = []
    for side in (0, 1):
        answers = round_.answers(side)
        result = run_check(prompt.check, answers[-1] if answers else "")
        out.append({"type": prompt.check.type, "passed": result.passed, "detail": result.detail})
    return out[0], out[1]


def save_vote(
    store: VoteStore,
    round_: Round,
    outcome: Vote,
    facts: dict[str, ModelFacts],
    *,
    prompt: Prompt | None = None,
    voter: str | None = None,
) -> BattleRecord:
    """Record the vote; returns only after the store committed it. Only then is the round closed."""
    checks = objective_checks(round_, prompt)
    record = round_.vote(outcome, voter=voter, checks=checks)
    store.record_vote(record, facts)
    round_.mark_saved(record)
    return record
