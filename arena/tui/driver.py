"""Textual's Linux terminal driver, with a lone Escape key delivered after ESCDELAY instead of after ~100-200 ms.

A terminal sends Escape as the single byte ESC, which is also how every escape sequence (arrows, F-keys, mouse) begins,
so the parser waits ESCDELAY for more bytes before it reports a lone Escape (Textual: 100 ms by default, `ESCDELAY` in
the environment, as for curses). But Textual's input thread only checks that deadline when `select()` returns, and it
waits up to 100 ms for input that, after a lone Escape, never comes: Escape took 100-200 ms before the app saw it (the
arena's "leave the prompt" and every dialog's "close"). This driver waits on the terminal only until the parser's
deadline, so Escape arrives ESCDELAY after the key press. `arena.tui` sets ESCDELAY to 25 ms unless the person set it.
Terminals that speak the kitty keyboard protocol send Escape unambiguously and never hit the wait.

The loop below is Textual's `LinuxDriver.run_input_thread` (textual 8.x) with that one change, the select timeout.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

IDLE_WAIT_S = 0.1  # Textual's own select timeout: how often the loop looks at exit_event when nothing happens


def select_timeout(deadline: float | None, now: float) -> float:
    """How long to wait for input: until the parser's pending deadline (a lone ESC), else Textual's usual 0.1 s."""
    if deadline is None:
        return IDLE_WAIT_S
    return min(IDLE_WAIT_S, max(0.0, deadline - now))


class PromptEscapeDriver(LinuxDriver):
    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop; the select timeout follows the parser's deadline)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process_selector_events(selector_events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for last, (_selector_key, mask) in loop_last(selector_events):
                if mask & EVENT_READ:
                    unicode_data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:  # stdin is a pipe that closed
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        def wait() -> float:
            return select_timeout(getattr(parser, "_timeout_time", None), get_time())

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(wait()))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(IDLE_WAIT_S), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):  # as Textual: a sequence cut off at exit
                pass
