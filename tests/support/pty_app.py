"""Run the real TUI (real terminal driver, real input parser) in a child process on a pseudo-terminal.

For what only a terminal shows: input floods through the driver, signals, and the bytes written to the terminal.
The child uses the scripted engine (no models: these tests are about the terminal, not inference).
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY = b"Type a prompt below"



@dataclass
class PtyApp:
    proc: subprocess.Popen[bytes]
    master: int
    report: Path
    output: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)
    status: int | None = None
    maxrss_kb: int | None = None

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.output += data

    def seen(self, marker: bytes, start: int = 0) -> bool:
        with self.lock:
            return self.output.find(marker, start) >= 0

    def mark(self) -> int:
        with self.lock:
            return len(self.output)

    def wait_for_output(self, marker: bytes, timeout: float, start: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while not self.seen(marker, start):
            if time.monotonic() > deadline or self.exited():
                raise AssertionError(f"{marker!r} never appeared on the terminal")
            time.sleep(0.02)

    def write(self, data: bytes, timeout: float) -> None:
        """Type into the terminal (blocks while the app does not read, so it runs on a thread with a deadline)."""
        def feed() -> None:
            view = memoryview(data)
            while view:
                n = os.write(self.master, view[:4096])
                view = view[n:]

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        writer.join(timeout)
        assert not writer.is_alive(), f"the app stopped reading its input ({len(data)} bytes not taken in {timeout} s)"

    def exited(self) -> bool:
        if self.status is None:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.status, self.maxrss_kb = status, usage.ru_maxrss
        return self.status is not None

    def wait_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"the app did not exit within {timeout} s")
            time.sleep(0.02)
        assert self.status is not None
        return os.waitstatus_to_exitcode(self.status)

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)


def start(config: Path, tmp_path: Path, *, cols: int = 120, rows: int = 40) -> PtyApp:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.pty_child", str(config), str(tmp_path / "votes.db"), str(report)],
        stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True,
    )
    os.close(slave)
    app = PtyApp(proc=proc, master=master, report=report)
    threading.Thread(target=app._read, daemon=True).start()
    return app


def stop(app: PtyApp) -> None:
    if not app.exited():
        app.proc.send_signal(signal.SIGKILL)
        app.wait_exit(10)
    os.close(app.master)
