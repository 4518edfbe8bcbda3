"""Display policies: when answer text becomes visible in panes A and B.

Blinding rule: under `paced` (the default), the time at which text appears in a pane must not tell which model is faster.
How: one reveal counter `c` is shared by both panes; each pane shows the first min(c, len(its text)) characters. The counter
advances at a rate that is the same for both panes (0.9 x the slower side's observed arrival rate, so neither pane's buffer
runs dry), never past what every still-running side has already produced, and starts only once both sides have text.
Every input to `c` is a symmetric function of the two streams, so swapping which pane holds the fast model leaves the
timeline of both panes unchanged. The pace keeps going after generation ends (jumping to the end when the last model
finishes would reveal when that was); the person may skip ahead (`reveal_all`) once both answers are finished.

A stop (`freeze`) ends the reveal where it is, and the runner then cuts both stored answers to what was shown: otherwise the
pace would go on revealing the faster model's longer text after the slower pane had ended (a speed leak).

`whole` shows nothing until both answers are finished. `live` shows text as it arrives: NOT speed-blind, and marked so.

Time is injected (`now` arguments), which keeps this module pure and testable with simulated streams.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from arena.config.types import DisplayPolicy

MIN_RATE_CPS = 20.0  # never crawl slower than this (chars/s) even if one side is extremely slow
RATE_SAFETY = 0.9  # reveal a little slower than the slower side produces, so pauses are rare


@dataclass
class _Side:
    text: str = ""
    first_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def rate(self, now: float) -> float | None:
        """Observed arrival rate in chars/s from the first text to now (or to the end). None: not measurable yet.
        A side that finished (almost) instantly is infinitely fast: it never limits the pace."""
        if self.first_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else now
        elapsed = end - self.first_at
        if self.finished_at is not None and (elapsed <= 0.05 or not self.text):
            return float("inf")
        if elapsed <= 0.05 or not self.text:
            return None
        return len(self.text) / elapsed


class Pacer:
    """Thread-safe: engine threads call `feed`/`finish`; the UI thread calls `visible`."""

    def __init__(self, policy: DisplayPolicy) -> None:
        self.policy = DisplayPolicy(policy)
        self._sides = (_Side(), _Side())
        self._counter = 0.0
        self._last_tick: float | None = None
        self._skip = False
        self._frozen: tuple[int, int] | None = None  # set by a stop: what each pane showed then, for good
        self._lock = threading.Lock()

    def feed(self, side: int, text: str, now: float) -> None:
        if not text:
            return
        with self._lock:
            s = self._sides[side]
            if s.first_at is None:
                s.first_at = now
            s.text += text

    def finish(self, side: int, now: float) -> None:
        with self._lock:
            s = self._sides[side]
            s.finished_at = now
            if s.first_at is None:
                s.first_at = now

    def reveal_all(self) -> bool:
        """Skip the pacing once both answers are finished (the person chose when). Returns whether it applied."""
        with self._lock:
            if all(s.finished for s in self._sides):
                self._skip = True
            return self._skip

    def freeze(self, now: float) -> tuple[int, int]:
        """Stop the reveal where it is at `now` (the person pressed stop). Returns what each pane shows from then on.

        Nothing more of either answer becomes visible, whatever the engines still deliver before they stop: the caller
        cuts the stored answers to these lengths (`cut_to`), so what is kept is exactly what the person saw."""
        with self._lock:
            if self._frozen is None:
                self._frozen = self._visible(now)
            return self._frozen

    @property
    def frozen(self) -> tuple[int, int] | None:
        return self._frozen

    def cut_to(self, shown: tuple[int, int]) -> None:
        """Drop any text past `shown` (after a stop, once the engines have stopped)."""
        with self._lock:
            for side, limit in zip(self._sides, shown):
                side.text = side.text[:limit]

    @property
    def all_finished(self) -> bool:
        return all(s.finished for s in self._sides)

    def texts(self) -> tuple[str, str]:
        with self._lock:
            return self._sides[0].text, self._sides[1].text

    def visible(self, now: float) -> tuple[int, int]:
        """How many characters of each side's text to show at time `now`."""
        with self._lock:
            return self._visible(now)

    def _visible(self, now: float) -> tuple[int, int]:
        a, b = self._sides
        if self._frozen is not None:  # checked first: even "show all" never shows past a stop
            return min(self._frozen[0], len(a.text)), min(self._frozen[1], len(b.text))
        if self.policy is DisplayPolicy.LIVE or self._skip:
            return len(a.text), len(b.text)
        if self.policy is DisplayPolicy.WHOLE:
            return (len(a.text), len(b.text)) if a.finished and b.finished else (0, 0)
        return self._paced(now)

    def fully_shown(self, now: float) -> bool:
        a, b = self._sides
        return self.all_finished and self.visible(now) == (len(a.text), len(b.text))

    def _paced(self, now: float) -> tuple[int, int]:
        a, b = self._sides
        if a.first_at is None or b.first_at is None:
            self._last_tick = None
            return self._show()
        if self._last_tick is None:
            self._last_tick = now
            return self._show()
        rates = [s.rate(now) for s in (a, b)]
        if any(r is None for r in rates):  # a side's speed is not measurable yet: wait (symmetric in the sides)
            self._last_tick = now
            return self._show()
        slowest = min(r for r in rates if r is not None)
        rate = max(MIN_RATE_CPS, RATE_SAFETY * slowest)
        dt = max(0.0, now - self._last_tick)
        self._last_tick = now
        running = [s for s in (a, b) if not s.finished]
        limit = min((len(s.text) for s in running), default=max(len(a.text), len(b.text)))
        self._counter = min(self._counter + rate * dt, float(limit))
        return self._show()

    def _show(self) -> tuple[int, int]:
        c = int(self._counter)
        a, b = self._sides
        return min(c, len(a.text)), min(c, len(b.text))
