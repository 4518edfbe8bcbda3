"""The one seam between a session and the models it plays: build an engine, tell the facts, check memory.

Sessions (`arena.battle`) reach models only through a `Backend`. The real one (`ModelBackend`) runs llama.cpp in process
for files and speaks HTTP to OpenAI-compatible servers; tests that need a scripted engine replace the backend as a
whole, so they run the same session code as production (preflight and facts included), never a shortcut around it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from arena.config.types import Config, ModelSpec, RemoteSource
from arena.engine.types import Engine
from arena.errors import ArenaError, ModelError
from arena.records import ModelFacts


@runtime_checkable
class Backend(Protocol):
    def engine_for(self, spec: ModelSpec) -> Engine:
        """An unloaded engine for this model. Raises ModelError when it cannot exist (file absent, key unset)."""
        ...

    def facts_for(self, spec: ModelSpec) -> ModelFacts:
        """What the store keeps about the model. Never raises: facts inform, the vote matters more."""
        ...

    def is_present(self, spec: ModelSpec) -> bool:
        """Can engine_for build it now without a download or build (remote models: always)?"""
        ...

    def preflight(self, specs: Sequence[ModelSpec], *, force: bool = False) -> str | None:
        """Will these models fit in memory together? None: yes. Raises MemoryRefused when not (unless `force`, which
        returns the refusal as a note to show instead)."""
        ...


def cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class ModelBackend:
    """The real backend over a models.yaml catalog.

    `available_bytes`: the memory preflight checks against (None: read from the OS at each check). `environ`: where API
    keys are read (None: os.environ).
    """

    config: Config
    threads: int = field(default_factory=cpu_threads)
    available_bytes: int | None = None
    environ: Mapping[str, str] | None = None

    def engine_for(self, spec: ModelSpec) -> Engine:
        if isinstance(spec.source, RemoteSource):
            from arena.engine.remote import RemoteEngine

            src = spec.source
            env = os.environ if self.environ is None else self.environ
            api_key = env.get(src.api_key_env) if src.api_key_env else None
            if src.api_key_env and not api_key:
                raise ModelError(
                    f"Model '{spec.id}' reads its API key from the environment variable {src.api_key_env}, which is not set",
                    f"export {src.api_key_env}=... before starting arena, or remove api_key_env from models.yaml if the server needs no key",
                )
            # api_key_env: a 401 names the variable to fix (never the key)
            return RemoteEngine(spec.id, src.base_url, src.model, api_key=api_key, api_key_env=src.api_key_env, timeout_s=src.timeout_s)

        from arena.engine.local import LocalEngine
        from arena.models.resolve import resolve

        resolved = resolve(spec, self.config)
        if resolved.path is None or not resolved.path.exists():
            raise ModelError(
                f"Model '{spec.id}' ({spec.name}) is not on disk yet",
                f"run `arena pull {spec.id}` (it downloads or builds the file), then pick the matchup again",
            )
        n_threads = spec.n_threads or self.threads
        return LocalEngine(
            spec.id,
            resolved.path,
            chat_format=spec.chat_format,
            n_ctx=spec.n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=spec.n_gpu_layers,
        )

    def facts_for(self, spec: ModelSpec) -> ModelFacts:
        from arena.models.resolve import resolve

        try:
            return resolve(spec, self.config).model_facts()
        except ArenaError:
            return ModelFacts(id=spec.id, name=spec.name, source=type(spec.source).__name__, quant_type=spec.quant)

    def is_present(self, spec: ModelSpec) -> bool:
        from arena.models.resolve import is_present

        return is_present(spec, self.config)

    def preflight(self, specs: Sequence[ModelSpec], *, force: bool = False) -> str | None:
        from arena.models.preflight import preflight
        from arena.models.resolve import describe

        models = [(spec, None if isinstance(spec.source, RemoteSource) else describe(spec, self.config).facts) for spec in specs]
        result = preflight(models, available=self.available_bytes)
        result.raise_if_refused(force=force)
        return None if result.ok else result.message
