"""A scripted engine for layout/snapshot tests ONLY (the real-model end-to-end tests use LocalEngine).

It streams a fixed answer in fixed-size pieces at a fixed rate, honours cancel, and reports plausible timings, so the
TUI can be snapshotted deterministically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from collections.abc import Sequence
from dataclasses import dataclass, field

from arena.config.types import ModelSpec
from arena.engine.types import ChatParams, Event, Finished, Message, ProgressCallback, TextDelta, Timings
from arena.records import ModelFacts


class FakeEngine:
    def __init__(self, model_id: str, answer: str, *, piece: int = 8, delay_s: float = 0.0) -> None:
        self.model_id = model_id
        self.answer = answer
        self.piece = piece
        self.delay_s = delay_s
        self._loaded = False
        self._cancel = threading.Event()

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def context_size(self) -> int:
        return 4096

    def load(self, progress: ProgressCallback | None = None) -> None:
        self._loaded = True
        if progress:
            progress(1.0, "loaded")

    def unload(self) -> None:
        self._loaded = False

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        self._cancel.clear()
        start = time.monotonic()
        n = 0
        for i in range(0, len(self.answer), self.piece):
            if self._cancel.is_set():
                yield Finished("cancelled", Timings(ttft_s=0.01, completion_tokens=n, wall_s=time.monotonic() - start), params.seed)
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            n += 1
            yield TextDelta(self.answer[i : i + self.piece])
        yield Finished(
            "stop",
            Timings(ttft_s=0.05, prompt_tokens=12, prompt_tps=400.0, completion_tokens=n, gen_tps=50.0, wall_s=0.5),
            params.seed,
        )

    def cancel(self) -> None:
        self._cancel.set()


@dataclass
class FakeBackend:
    """Replaces the whole model backend (arena.models.backend.Backend) for layout tests: scripted engines, facts from
    the spec, every model present, and a memory preflight that always passes (recorded, so tests see it ran)."""

    answers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    piece: int = 8
    preflights: list[list[str]] = field(default_factory=list)

    def engine_for(self, spec: ModelSpec) -> FakeEngine:
        return FakeEngine(spec.id, self.answers.get(spec.id, f"Answer from {spec.id}."), piece=self.piece, delay_s=self.delay_s)

    def facts_for(self, spec: ModelSpec) -> ModelFacts:
        return ModelFacts(id=spec.id, name=spec.name, source="test", quant_type=spec.quant)

    def is_present(self, spec: ModelSpec) -> bool:
        return True

    def preflight(self, specs: Sequence[ModelSpec], *, force: bool = False) -> str | None:
        self.preflights.append([s.id for s in specs])
        return None


def fake_backend(answers: dict[str, str], *, delay_s: float = 0.0, piece: int = 8) -> FakeBackend:
    return FakeBackend(dict(answers), delay_s=delay_s, piece=piece)
