"""Drive one turn of a round on two engines: schedule, stream into the pacer, record results in the round.

Runs in a background thread; the caller (TUI or CLI) polls `pacer.visible(now)` to draw and gets `on_done` when both
sides have finished. The round is mutated only from the runner thread while the turn runs; readers wait for on_done.
"""

from __future__ import annotations

import threading
import time
from typing import Literal
from collections.abc import Callable

from arena.battle.pacing import Pacer
from arena.battle.round import Round
from arena.config.types import DisplayPolicy, Schedule
from arena.engine.scheduler import Scheduler
from arena.engine.types import Engine, Event, Failed, Finished, Queued, TextDelta


class TurnRunner:
    def __init__(
        self,
        engines: tuple[Engine, Engine],
        round_: Round,
        pacer: Pacer,
        *,
        schedule: Schedule = Schedule.AUTO,
        on_done: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engines = engines
        self.round = round_
        self.pacer = pacer
        self.on_done = on_done
        self._clock = clock
        self._scheduler = Scheduler()
        # "auto" resolved once, here: the UI shows it (a sequential turn under the paced display starts blank) and the
        # run uses the same answer rather than reading the calibration again.
        self.schedule: Literal["concurrent", "sequential"] = self._scheduler.choose(
            schedule.value, engines  # type: ignore[arg-type]
        )
        self._thread: threading.Thread | None = None
        # Orders a stop against the end of the run: a stop that arrives after the run ended must not freeze the display.
        self._end_lock = threading.Lock()
        self._ended = False
        self.stopped = False
        self.started_at: float | None = None
        self.finished_at: float | None = None
        # Rounds a shared server serves before this turn, per side (None: not queued). A team gateway gives both sides
        # of a round the same number; `queue_ahead` shows the larger, so the display stays the same for both panes.
        self._queued: list[int | None] = [None, None]

    def start(self, messages: tuple[list, list]) -> None:
        params = (self.round.params_for(0), self.round.params_for(1))
        self.started_at = self._clock()
        self._thread = threading.Thread(
            target=self._run, args=(messages, params), name="arena-turn", daemon=True
        )
        self._thread.start()

    def _on_event(self, side: int, event: Event) -> None:
        now = self._clock()
        if isinstance(event, TextDelta):
            self.round.add_text(side, event.text)
            self.pacer.feed(side, event.text, now)
        elif isinstance(event, (Finished, Failed)):
            self._queued[side] = None
            self.round.finish(side, event)
            self.pacer.finish(side, now)
        elif isinstance(event, Queued):
            self._queued[side] = event.ahead or None

    @property
    def queue_ahead(self) -> int | None:
        """Rounds served before this turn at a shared server (a team's gateway), or None when it is not waiting."""
        waiting = [n for n in self._queued if n]
        return max(waiting) if waiting else None

    def _run(self, messages: tuple[list, list], params: tuple) -> None:
        results = None
        try:
            results = self._scheduler.run_pair(
                self.engines, messages, params, self.schedule, self._on_event,  # type: ignore[arg-type]
                order=self.round.turns[-1].run_order,
            )
            # A side whose stream ended without a terminal event (should not happen) is closed as an error.
            for side, result in enumerate(results):
                st = self.round.turns[-1].sides[side]
                if not st.done:
                    self._on_event(side, result)
        except Exception as exc:  # a bug in a callback: close both sides as errors so the UI never hangs
            from arena.errors import EngineError

            for side in (0, 1):
                if not self.round.turns[-1].sides[side].done:
                    self._on_event(side, Failed(EngineError(f"The round failed: {exc!r}")))
        finally:
            with self._end_lock:
                self._ended = True
                shown = self.pacer.frozen
                if shown is not None:
                    # A stop under the paced display: both answers end at what had been shown (see `stop`).
                    self.round.cut_to_shown(shown)
                    self.pacer.cut_to(shown)
            self.finished_at = self._clock()
            if self.on_done is not None:
                self.on_done()

    def stop(self, now: float | None = None) -> bool:
        """The person's stop (ctrl+s). Returns False when the turn had already ended.

        Under the paced display, stopping the engines alone would leak speed: each answer would end at what its model
        had *produced*, and the pace would go on revealing the faster model's longer text while the slower pane froze.
        So the display freezes at what it shows now, and when the engines have stopped, both stored answers are cut to
        exactly that (marked stopped). Under `whole` and `live` a stop ends each answer where its model was."""
        with self._end_lock:
            if self._ended:
                return False
            self.stopped = True
            if self.pacer.policy is DisplayPolicy.PACED:
                self.pacer.freeze(self._clock() if now is None else now)
        self._scheduler.cancel()
        return True

    def cancel(self) -> None:
        """Stop the engines without touching the display (leaving the screen, quitting)."""
        self._scheduler.cancel()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
