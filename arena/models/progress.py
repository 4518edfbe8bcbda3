"""Progress for jobs that have no progress callback (llama.cpp's quantizer, package assembly).

The job runs in a worker thread (ctypes and file I/O release the GIL); the calling thread polls a measure of how
far it got (the output file's size against the expected size, or the quantizer's "[ i/ n]" tensor log lines) and
calls `progress(fraction, message)`. The fraction stays below 0.99 until the job returns: estimates can be low.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ProgressCallback = Callable[[float, str], None]  # (fraction 0..1, what is happening): same as arena.engine.types
T = TypeVar("T")

POLL_S = 0.25


def run_with_progress(
    job: Callable[[], T],
    poll: Callable[[], tuple[float | None, str]],
    progress: ProgressCallback | None,
    label: str,
) -> T:
    """Run `job()` in a thread; every POLL_S call `poll()` -> (fraction or None, detail) and report it.
    Re-raises the job's exception in the calling thread."""
    if progress is None:
        return job()
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(job())
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            error.append(exc)

    worker = threading.Thread(target=target, name=f"arena-{label}", daemon=True)
    start = time.monotonic()
    progress(0.0, label)
    worker.start()
    while True:
        worker.join(POLL_S)
        if not worker.is_alive():
            break
        fraction, detail = poll()
        elapsed = time.monotonic() - start
        progress(min(0.99, fraction or 0.0), f"{label}: {detail}, {elapsed:.0f} s" if detail else f"{label}: {elapsed:.0f} s")
    if error:
        raise error[0]
    progress(1.0, f"{label}: done in {time.monotonic() - start:.1f} s")
    return result[0]


def file_growth(watch: Path, expected_size: int | None) -> Callable[[], tuple[float | None, str]]:
    """A poll function: the size of `watch` against `expected_size`."""

    def poll() -> tuple[float | None, str]:
        try:
            size = watch.stat().st_size
        except OSError:
            size = 0
        if expected_size:
            return size / expected_size, f"{size / 1e6:.0f}/{expected_size / 1e6:.0f} MB"
        return None, f"{size / 1e6:.0f} MB"

    return poll


def run_watching_file(
    job: Callable[[], T],
    watch: Path,
    expected_size: int | None,
    progress: ProgressCallback | None,
    label: str,
) -> T:
    """Run `job()` in a thread, reporting `watch`'s growth against `expected_size`."""
    return run_with_progress(job, file_growth(watch, expected_size), progress, label)


def stderr_progress(prefix: str = "") -> ProgressCallback:
    """A one-line progress display for the CLI (carriage return, no dependency)."""
    import sys

    from arena.untrusted import one_line  # the message may name a file or quote a server

    def show(fraction: float, message: str) -> None:
        bar_len = 24
        filled = int(bar_len * max(0.0, min(1.0, fraction)))
        sys.stderr.write(f"\r{prefix}[{'#' * filled}{'.' * (bar_len - filled)}] {fraction * 100:5.1f}% {one_line(message)}\033[K")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
