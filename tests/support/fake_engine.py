"""A scripted engine for layout/snapshot tests ONLY (the real-model end-to-end tests use LocalEngine).

It streams a fixed answer in fixed-size pieces at a fixed rate, honours cancel, and reports plausible timings, so the
TUI can be snapshotted deterministically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from arena.config.types import Config, ModelSpec
from arena.engine.types import ChatParams, Event, Finished, Message, ProgressCallback, TextDelta, Timings


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


def fake_factory(answers: dict[str, str], *, delay_s: float = 0.0):
    def factory(spec: ModelSpec, config: Config, threads: int) -> FakeEngine:
        return FakeEngine(spec.id, answers.get(spec.id, f"Answer from {spec.id}."), delay_s=delay_s)

    return factory
