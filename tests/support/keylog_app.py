"""A minimal Textual app for pty tests of the terminal driver: logs each key it receives as "KEY MONOTONIC_TIME".

Run: python -m tests.support.keylog_app LOGFILE textual|arena   (arena: arena.tui.driver.PromptEscapeDriver)
Quits on "q". Imports arena.tui first, as the arena does, so ESCDELAY is set the same way.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import arena.tui  # noqa: F401  sets ESCDELAY/TEXTUAL_FPS before Textual is imported
from textual import events
from textual.app import App, ComposeResult
from textual.driver import Driver
from textual.widgets import Static


class KeyLog(App[None]):
    def __init__(self, log: Path, driver: str) -> None:
        self.key_log = log
        self.driver_choice = driver
        super().__init__()

    def get_driver_class(self) -> type[Driver]:
        if self.driver_choice == "arena":
            from arena.tui.driver import PromptEscapeDriver

            return PromptEscapeDriver
        return super().get_driver_class()

    def compose(self) -> ComposeResult:
        yield Static("ready")

    def on_mount(self) -> None:
        with self.key_log.open("a", encoding="utf-8") as f:
            f.write(f"mounted {time.monotonic()}\n")

    def on_key(self, event: events.Key) -> None:
        with self.key_log.open("a", encoding="utf-8") as f:
            f.write(f"{event.key} {time.monotonic()}\n")
        if event.key == "q":
            self.exit()


if __name__ == "__main__":
    KeyLog(Path(sys.argv[1]), sys.argv[2]).run()
