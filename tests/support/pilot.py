"""Helpers for driving the app with Textual's Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable


async def wait_for(pilot, predicate: Callable[[], object], timeout: float = 120.0, what: str = "the condition") -> None:
    """Let the app run until `predicate()` is true; fail with `what` after `timeout` seconds.

    The timeout only bounds a test that is failing anyway: it is generous because CI machines can be heavily loaded."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


def spy_notifications(app, severities: list[str] | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """Record what the app tells the person, as it is raised (toasts expire). With `severities`, each notification's
    severity is appended there too, in the same order."""
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(str(message))
        if severities is not None:
            severities.append(str(kwargs.get("severity", "information")))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return seen
