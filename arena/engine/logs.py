"""Route llama.cpp's output into Python `logging` so nothing is written to the terminal behind the TUI's back.

Two sources of noise exist:
- llama.cpp itself (model loader, context setup, warnings) writes through its log callback: `install()` replaces it,
  once per process, with one that emits to the "arena.llama" logger, line by line.
- llama-cpp-python's `Llama(verbose=True)` also `print()`s to `sys.stderr` while loading. We cannot use `verbose=False`:
  it silences loading by redirecting file descriptors 1 and 2 to /dev/null, which blanks a Textual screen being drawn
  at that moment. Instead `python_stderr_to_log()` swaps `sys.stderr` for a proxy that sends the *loading thread's*
  writes to the logger and passes every other thread's writes through untouched.

`capture_errors()` collects the warning/error lines llama.cpp logs from the current thread, so a failed load can say
why ("unknown model architecture", "failed to allocate buffer", ...) instead of llama-cpp-python's generic message.
`capture_all()` collects every line from any thread (the quantizer logs its per-tensor progress from worker threads).
This is the only place in the process that installs a llama.cpp log callback: a second one would replace this one.
"""

from __future__ import annotations

import ctypes
import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

logger = logging.getLogger("arena.llama")

# enum ggml_log_level in the bundled llama.cpp (ggml.h). llama-cpp-python's own mapping (_logger.py) is outdated.
_LEVELS = {0: logging.CRITICAL, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_CONT = 5  # "continue the previous line": keeps the previous level

_lock = threading.Lock()
_installed = False
_callback: Any = None  # the ctypes callback object; must stay referenced for the life of the process
_partial: dict[int, tuple[int, str]] = {}  # thread id -> (level, text not yet ended by a newline)
_captures: dict[int, list[str]] = {}  # thread id -> collected warning/error lines
_watchers: list[list[str]] = []  # sinks that collect every line, from any thread (capture_all)


def _emit(level: int, line: str) -> None:
    line = line.rstrip()
    if not line:
        return
    logger.log(level, "%s", line)
    for sink in _watchers:
        sink.append(line)  # list.append is atomic: readers in other threads see whole lines
    if level >= logging.WARNING:
        captured = _captures.get(threading.get_ident())
        if captured is not None:
            captured.append(line)


def _on_log(level: int, text: bytes | None, _user_data: Any) -> None:
    # Called from C, possibly from llama.cpp worker threads: never raise out of here.
    try:
        chunk = (text or b"").decode("utf-8", errors="replace")
        ident = threading.get_ident()
        with _lock:
            prev_level, pending = _partial.pop(ident, (logging.DEBUG, ""))
            py_level = prev_level if level == _CONT else _LEVELS.get(level, logging.INFO)
            pending += chunk
            *lines, rest = pending.split("\n")
            if rest:
                _partial[ident] = (py_level, rest)
        for line in lines:
            _emit(py_level, line)
    except Exception:  # noqa: BLE001, S110  # pragma: no cover - a logging failure must not crash inference
        pass


def install() -> None:
    """Install the llama.cpp log callback (idempotent; call before creating any `Llama`)."""
    global _installed, _callback
    with _lock:
        if _installed:
            return
        import llama_cpp  # imported here: importing arena.engine must stay cheap

        _callback = llama_cpp.llama_log_callback(_on_log)
        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        _installed = True


@contextmanager
def capture_errors() -> Iterator[list[str]]:
    """Collect llama.cpp warning/error lines logged from this thread while the block runs."""
    ident = threading.get_ident()
    lines: list[str] = []
    _captures[ident] = lines
    try:
        yield lines
    finally:
        _captures.pop(ident, None)


class _ThreadRoutedStderr(io.TextIOBase):
    """A stand-in for sys.stderr: writes from captured threads go to the logger, others to the real stream."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.threads: set[int] = set()
        self._buf: dict[int, str] = {}

    def write(self, s: str) -> int:
        ident = threading.get_ident()
        if ident not in self.threads:
            return self.inner.write(s)
        pending = self._buf.pop(ident, "") + s
        *lines, rest = pending.split("\n")
        if rest:
            self._buf[ident] = rest
        for line in lines:
            _emit(logging.DEBUG, line)
        return len(s)

    def flush_thread(self, ident: int) -> None:
        rest = self._buf.pop(ident, "")
        if rest:
            _emit(logging.DEBUG, rest)

    def flush(self) -> None:
        if threading.get_ident() not in self.threads:
            self.inner.flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, ...: behave like the real stream
        return getattr(self.inner, name)


_proxy: _ThreadRoutedStderr | None = None


@contextmanager
def python_stderr_to_log() -> Iterator[None]:
    """While the block runs, this thread's `print(..., file=sys.stderr)` goes to the "arena.llama" logger."""
    global _proxy
    ident = threading.get_ident()
    with _lock:
        if _proxy is None or sys.stderr is not _proxy:
            _proxy = _ThreadRoutedStderr(sys.stderr)
            sys.stderr = _proxy
        proxy = _proxy
        proxy.threads.add(ident)
    try:
        yield
    finally:
        with _lock:
            proxy.threads.discard(ident)
            proxy.flush_thread(ident)
            # Restore only if nobody replaced sys.stderr meanwhile (e.g. an app capturing output); otherwise the proxy
            # stays in their chain and, with no captured threads, just passes everything through.
            if not proxy.threads and sys.stderr is proxy:
                sys.stderr = proxy.inner
                _proxy = None


@contextmanager
def capture_all() -> Iterator[list[str]]:
    """Collect every llama.cpp log line (any level, any thread) while the block runs. Installs the callback."""
    install()
    sink: list[str] = []
    with _lock:
        _watchers.append(sink)
    try:
        yield sink
    finally:
        with _lock:
            _watchers.remove(sink)
