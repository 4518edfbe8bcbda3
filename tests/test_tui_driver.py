"""The arena's terminal driver on a real pseudo-terminal: a lone Escape and escape sequences still parse as before.

(How much sooner Escape arrives is measured by benchmarks/tui.py, never asserted here.)
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.tui.driver import IDLE_WAIT_S, select_timeout

REPO = Path(__file__).resolve().parent.parent


def test_select_timeout_follows_the_parsers_deadline() -> None:
    assert select_timeout(None, 5.0) == IDLE_WAIT_S
    assert select_timeout(5.025, 5.0) == pytest.approx(0.025)
    assert select_timeout(4.0, 5.0) == 0.0  # overdue: look at once
    assert select_timeout(60.0, 5.0) == IDLE_WAIT_S


def keys_through_pty(driver: str, tmp_path: Path, sends: list[bytes]) -> list[str]:
    log = tmp_path / f"{driver}.log"
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(REPO), TEXTUAL_DISABLE_KITTY_KEY="1")
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.keylog_app", str(log), driver], stdin=slave, stdout=slave,
                            stderr=slave, cwd=REPO, env=env, start_new_session=True)
    os.close(slave)

    def drain(until: float) -> None:
        while time.monotonic() < until:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    def logged() -> list[str]:
        return log.read_text(encoding="utf-8").split() [::2] if log.exists() else []

    try:
        deadline = time.monotonic() + 60
        while "mounted" not in logged():
            assert time.monotonic() < deadline and proc.poll() is None, "the app did not start"
            drain(time.monotonic() + 0.1)
        for data in sends:
            count = len(logged())
            os.write(master, data)
            deadline = time.monotonic() + 20
            while len(logged()) == count and proc.poll() is None and time.monotonic() < deadline:
                drain(time.monotonic() + 0.05)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(master)
    return logged()[1:]


@pytest.mark.parametrize("driver", ["arena", "textual"])
def test_escape_and_sequences_parse_the_same(driver: str, tmp_path: Path) -> None:
    # A lone ESC, an arrow key (ESC [ A in one write), alt+x (ESC x), then q to quit.
    got = keys_through_pty(driver, tmp_path, [b"\x1b", b"\x1b[A", b"\x1bx", b"q"])
    assert got == ["escape", "up", "alt+x", "q"]
