"""Route llama.cpp's log output into Python logging (logger "arena.llama") instead of the terminal.

Why: llama-cpp-python's default callback prints every llama.cpp message to sys.stderr, the stream the Textual UI
draws on, and the quantizer logs one line per tensor. llama.cpp has one process-wide log callback; installing ours
is idempotent, and the ctypes callback object is kept in a module global because llama.cpp holds only a raw
pointer: if Python collected it, the next log line would jump into freed memory.

`capture_llama_logs()` additionally collects the lines logged while it is active, so an error can quote llama.cpp's
own reason (e.g. "failed to quantize: unknown model architecture").
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger("arena.llama")
# Without a handler anywhere, Python's last-resort handler prints WARNING+ to stderr (the TUI's screen). The app
# decides where logs go (a log file, a debug pane); until it does, llama.cpp's chatter goes nowhere.
logger.addHandler(logging.NullHandler())

# ggml.h's enum ggml_log_level: NONE=0 DEBUG=1 INFO=2 WARN=3 ERROR=4 CONT=5 (continues the previous message).
# (llama-cpp-python's own _logger.py still documents the older order INFO=1 WARN=2 ERROR=3 DEBUG=4; measured with
# this build: the quantizer's per-tensor lines arrive with level 2, i.e. INFO.)
_LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}

_lock = threading.Lock()
_callback: Any = None  # the ctypes function object; must stay referenced for the life of the process
_pending: list[str] = []  # text of the current (not yet newline-terminated) message
_pending_level = logging.INFO
_captures: list[list[str]] = []


def _emit(line: str, level: int) -> None:
    if not line.strip():
        return
    logger.log(level, "%s", line.rstrip())
    for sink in _captures:
        sink.append(line.rstrip())


def _on_log(level: int, text: bytes | None, _user_data: Any) -> None:
    global _pending_level
    try:
        chunk = (text or b"").decode("utf-8", errors="replace")
        with _lock:
            if level != 5:
                _pending_level = _LEVELS.get(level, logging.INFO)
            _pending.append(chunk)
            joined = "".join(_pending)
            if "\n" in joined:
                *lines, rest = joined.split("\n")
                _pending[:] = [rest] if rest else []
                for line in lines:
                    _emit(line, _pending_level)
    except Exception:  # noqa: BLE001 - an exception must never propagate into C code
        pass


def route_llama_logs() -> None:
    """Install the callback (once). Imports llama_cpp, so call it only where llama.cpp is about to be used."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    _callback = llama_cpp.llama_log_callback(_on_log)
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


@contextlib.contextmanager
def capture_llama_logs() -> Iterator[list[str]]:
    """Collect llama.cpp log lines emitted while the block runs (from any thread)."""
    route_llama_logs()
    sink: list[str] = []
    with _lock:
        _captures.append(sink)
    try:
        yield sink
    finally:
        with _lock:
            _captures.remove(sink)
