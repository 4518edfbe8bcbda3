"""The CLI's only way to write text for a person: through the one sanitizer (`arena.untrusted.visible`).

Messages quote model ids and names, file names, YAML values, a server's words and library exception texts; printing
them raw would let a hostile config or server drive the terminal (title changes, OSC 52 clipboard writes, colours,
hyperlinks). Data meant for programs (`arena stats --json`, `arena export`) is written exactly and is not routed here.
"""

from __future__ import annotations

import logging
import sys

from arena.untrusted import visible


def out(text: str = "") -> None:
    """One or more lines on stdout."""
    sys.stdout.write(visible(text) + "\n")


def err(text: str) -> None:
    """One or more lines on stderr."""
    sys.stderr.write(visible(text) + "\n")


class VisibleFormatter(logging.Formatter):
    """Log records on a terminal: llama.cpp's warnings quote GGUF metadata and file names."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (Textual swaps it while the TUI runs), like logging's last resort."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def install_log_handler() -> None:
    """Warnings of the `arena` loggers on stderr as before (Python's last-resort handler), but sanitized."""
    logger = logging.getLogger("arena")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(VisibleFormatter("%(message)s"))
        logger.addHandler(handler)
