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
