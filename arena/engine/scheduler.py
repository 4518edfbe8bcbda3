"""Runs the two contenders of a round, both at once or one after the other, and stops both on request.

Threads: one worker per side; each engine is only ever driven by one thread at a time. `on_event(side, event)` is
called from those worker threads (a UI must hand events over to its own thread).

CPU split: llama.cpp threads busy-spin, so two models with all cores each oversubscribe the CPU. Concurrently, two
local models get cores // 2 threads each (1 and 1 on a 2-core machine); one after the other, each gets every core
in turn. A remote engine uses no local CPU, so a local model beside it gets every core.

"auto": on this kind of CPU both schedules finish a round in about the same wall time (memory bandwidth bound; see
DESIGN.md), and concurrent is better for the person waiting: both panes start early, whereas sequentially the second
answer cannot start before the first is complete, so the speed-blind paced display shows nothing until then. So auto
means concurrent, unless a measurement for this machine (written by `benchmarks/engine.py` or `calibrate()`) found
sequential more than 5% faster. Concurrent is also the robust choice: llama.cpp's threads wait for each other at
every graph barrier, so a model using all cores collapses when anything else wants the CPU (measured on the 2-core
dev box under load from other processes: a round took 95.8 s sequentially vs 14.8 s concurrently, 1 thread each).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from arena import paths
from arena.engine.types import (
    ChatParams,
    Engine,
    Event,
    Failed,
    Finished,
    Message,
    Timings,
)
from arena.errors import EngineError

log = logging.getLogger("arena.engine.scheduler")

Mode = Literal["concurrent", "sequential", "auto"]
StreamEnd = Finished | Failed
OnEvent = Callable[[int, Event], None]

CALIBRATION_FILE = "engine_calibration.json"
SEQUENTIAL_MARGIN = 0.05  # sequential must be this much faster to be chosen over concurrent


def cpu_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Calibration:
    cores: int
    concurrent_s: float
    sequential_s: float
    measured_at: str
    models: tuple[str, ...] = ()

    @property
    def best(self) -> Literal["concurrent", "sequential"]:
        if self.sequential_s < self.concurrent_s * (1 - SEQUENTIAL_MARGIN):
            return "sequential"
        return "concurrent"


def calibration_path() -> Path:
    return paths.data_dir() / CALIBRATION_FILE


def load_calibration(path: Path | None = None) -> Calibration | None:
    path = path or calibration_path()
    try:
        doc = json.loads(path.read_text())
        return Calibration(
            cores=int(doc["cores"]),
            concurrent_s=float(doc["concurrent_s"]),
            sequential_s=float(doc["sequential_s"]),
            measured_at=str(doc.get("measured_at", "")),
            models=tuple(doc.get("models", ())),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:  # a broken cache file is not worth failing over
        log.warning("ignoring unreadable scheduler calibration %s: %s", path, e)
        return None


def save_calibration(concurrent_s: float, sequential_s: float, models: Sequence[str] = (),
                     path: Path | None = None) -> Calibration:
    path = path or calibration_path()
    cal = Calibration(cpu_cores(), concurrent_s, sequential_s, datetime.now(UTC).isoformat(), tuple(models))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(cal), indent=2))
    tmp.replace(path)
    return cal


def _is_local(engine: Engine) -> bool:
    return hasattr(engine, "set_threads")


class Scheduler:
    """Runs pairs of chats. One pair at a time per Scheduler; `cancel()` may be called from any thread."""

    def __init__(self, cores: int | None = None, calibration_file: Path | None = None) -> None:
        self.cores = cores or cpu_cores()
        self._calibration_file = calibration_file
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._running: list[Engine] = []
        self.last_mode: Literal["concurrent", "sequential"] | None = None

    def choose(self, mode: Mode, engines: Sequence[Engine]) -> Literal["concurrent", "sequential"]:
        if mode == "concurrent" or mode == "sequential":
            return mode
        if sum(_is_local(e) for e in engines) < 2:
            return "concurrent"  # at most one uses this CPU: nothing to share
        cal = load_calibration(self._calibration_file)
        if cal is not None and cal.cores == self.cores:
            return cal.best
        return "concurrent"

    def threads_for(self, mode: Literal["concurrent", "sequential"], engines: Sequence[Engine]) -> int:
        local = sum(_is_local(e) for e in engines)
        if mode == "concurrent" and local >= 2:
            return max(1, self.cores // local)
        return self.cores

    def cancel(self) -> None:
        self._cancel.set()
        with self._lock:
            running = list(self._running)
        for engine in running:
            engine.cancel()

    def run_pair(
        self,
        engines: tuple[Engine, Engine],
        messages_pair: tuple[list[Message], list[Message]],
        params_pair: tuple[ChatParams, ChatParams],
        mode: Mode = "auto",
        on_event: OnEvent | None = None,
        order: tuple[int, int] = (0, 1),
    ) -> tuple[StreamEnd, StreamEnd]:
        """Run both chats; returns each side's final event. Every event also goes to on_event(side, event).

        `order`: which side runs first when the chats run one after the other. The caller draws it per turn (a fixed
        order would tie the blank wait of a speed-blind display to one pane; see `arena.battle.round.draw_run_order`).
        """
        if sorted(order) != [0, 1]:
            raise ValueError(f"order must be a permutation of (0, 1), not {order!r}")
        self._cancel.clear()
        chosen = self.choose(mode, engines)
        self.last_mode = chosen
        n_threads = self.threads_for(chosen, engines)
        for engine in engines:
            if _is_local(engine):
                engine.set_threads(n_threads)  # type: ignore[attr-defined]
        emit = on_event or (lambda _side, _event: None)
        results: list[StreamEnd | None] = [None, None]
        errors: list[BaseException] = []

        def drive(side: int) -> None:
            try:
                results[side] = self._drive(side, engines[side], messages_pair[side], params_pair[side], emit)
            except BaseException as e:  # noqa: BLE001 - an on_event bug: stop the other side and re-raise in the caller
                errors.append(e)
                self.cancel()

        log.debug("round: %s, %d thread(s) per local model", chosen, n_threads)
        if chosen == "concurrent":
            workers = [threading.Thread(target=drive, args=(side,), name=f"arena-side-{side}") for side in (0, 1)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        else:
            for side in order:
                w = threading.Thread(target=drive, args=(side,), name=f"arena-side-{side}")
                w.start()
                w.join()
        if errors:
            raise errors[0]
        assert results[0] is not None and results[1] is not None
        return results[0], results[1]

    def _drive(self, side: int, engine: Engine, messages: list[Message], params: ChatParams,
               emit: OnEvent) -> StreamEnd:
        start = time.perf_counter()
        if self._cancel.is_set():
            final: StreamEnd = Finished("cancelled", Timings(wall_s=0.0), params.seed)
            emit(side, final)
            return final
        with self._lock:
            self._running.append(engine)
        try:
            stream = engine.chat(messages, params)
            # chat() resets the engine's cancel flag: re-check ours so a cancel() racing with the start is not lost.
            if self._cancel.is_set():
                engine.cancel()
            final_event: StreamEnd | None = None
            iterator = iter(stream)
            try:
                while True:
                    try:
                        event = next(iterator)
                    except StopIteration:
                        break
                    except Exception as e:  # an engine bug must not take the round down silently
                        log.exception("engine %s crashed", engine.model_id)
                        final_event = Failed(EngineError(f"The engine for {engine.model_id} crashed: {e}"))
                        emit(side, final_event)
                        break
                    if isinstance(event, (Finished, Failed)):
                        final_event = event
                    emit(side, event)  # an exception here is the caller's bug: it propagates (see run_pair)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            if final_event is None:
                final_event = Failed(EngineError(f"The engine for {engine.model_id} ended without a result"))
                emit(side, final_event)
            return final_event
        finally:
            with self._lock:
                self._running.remove(engine)
            log.debug("side %d (%s) done in %.2f s", side, engine.model_id, time.perf_counter() - start)


def run_pair(
    engines: tuple[Engine, Engine],
    messages_pair: tuple[list[Message], list[Message]],
    params_pair: tuple[ChatParams, ChatParams],
    mode: Mode = "auto",
    on_event: OnEvent | None = None,
) -> tuple[StreamEnd, StreamEnd]:
    """One-shot convenience; use a `Scheduler` to be able to cancel."""
    return Scheduler().run_pair(engines, messages_pair, params_pair, mode, on_event)


def calibrate(
    engines: tuple[Engine, Engine],
    messages: list[Message],
    params: ChatParams,
    repeats: int = 1,
    path: Path | None = None,
) -> Calibration:
    """Time a round both ways on the loaded engines and store the result for "auto"."""
    scheduler = Scheduler()
    best: dict[str, float] = {}
    for _ in range(repeats):
        for mode in ("sequential", "concurrent"):
            for engine in engines:
                reset = getattr(engine, "reset", None)
                if reset is not None:
                    reset()  # no prompt-cache advantage for whichever mode runs second
            t0 = time.perf_counter()
            scheduler.run_pair(engines, (messages, messages), (params, params), mode)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - t0
            best[mode] = min(best.get(mode, elapsed), elapsed)
    return save_calibration(best["concurrent"], best["sequential"], [e.model_id for e in engines], path)
