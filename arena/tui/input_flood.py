"""Keep the app responsive when text floods in one key event per character (an unbracketed paste).

Textual's driver reads the terminal on its own thread and hands every event to the UI loop as a separate coroutine
(`asyncio.run_coroutine_threadsafe`), one Task each. A 200 KB unbracketed paste is 200,000 Tasks and 200,000 Key events;
each key then re-builds the prompt box's whole value and posts a `Changed` message carrying it: quadratic CPU and memory
(measured in the audit: 3.1 GB, minutes, and `ctrl+q` stuck behind the queue).

Here the driver's `send_message` puts events on one thread-safe queue and wakes the UI loop once per batch. On the UI
thread the batch is posted in order, except that a run of at least COALESCE_MIN printable keys (more than a person
types while the UI is busy for a moment) becomes one `Paste` event: the prompt box takes it in one step (cleaned and
capped, see `PromptInput`), and anywhere else it is ignored instead of firing dozens of single-key actions. Shorter
runs stay individual keys, so typing and key bindings behave as before.
"""

from __future__ import annotations

import threading
from collections import deque

from textual import events
from textual.driver import Driver
from textual.message import Message

COALESCE_MIN = 32  # printable keys arriving together before the UI could take them: a paste, not typing


def batch(messages: list[Message]) -> list[Message]:
    """The messages to post for one batch: runs of >= COALESCE_MIN printable keys become one Paste."""
    out: list[Message] = []
    run: list[events.Key] = []

    def flush() -> None:
        if len(run) >= COALESCE_MIN:
            out.append(events.Paste("".join(k.character or "" for k in run)))
        else:
            out.extend(run)
        run.clear()

    for message in messages:
        if isinstance(message, events.Key) and message.is_printable and message.character:
            run.append(message)
        else:
            flush()
            out.append(message)
    flush()
    return out


def coalescing(driver_class: type[Driver]) -> type[Driver]:
    """`driver_class` with batched, coalescing delivery of input events."""

    class CoalescingDriver(driver_class):  # type: ignore[valid-type, misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._pending: deque[Message] = deque()
            self._pending_lock = threading.Lock()

        def send_message(self, message: Message) -> None:
            with self._pending_lock:
                wake = not self._pending
                self._pending.append(message)
            if wake:
                self._loop.call_soon_threadsafe(self._deliver)

        def _deliver(self) -> None:  # on the UI loop
            with self._pending_lock:
                messages = list(self._pending)
                self._pending.clear()
            for message in batch(messages):
                message.set_sender(self._app)
                self._app.post_message(message)

    CoalescingDriver.__name__ = CoalescingDriver.__qualname__ = f"Coalescing{driver_class.__name__}"
    return CoalescingDriver
