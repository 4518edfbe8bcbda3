"""Helpers for the team-arena tests: an upstream whose answers wait for the test, and clients that act as sessions.

`HeldUpstream` is a real loopback HTTP server speaking the OpenAI streaming format. Each answer sends its first chunk
at once and the rest only when the test releases it (or breaks it off, as a crashed server would), so the order in
which the gateway lets requests through is observed by counting arrivals, never by timing.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import termios
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from arena.engine.remote import RemoteEngine
from arena.engine.types import ChatParams, Event, Failed, Finished
from arena.team.backend import model_base_url
from arena.team.gateway import SESSION_HEADER, VOTER_HEADER
from tests.support.pty_app import REPO, PtyApp
from tests.support.pty_app import stop as pty_stop
from tests.support.server import sse_chunk, start_stream

HANG_GUARD_S = 120.0  # only bounds a test that is failing anyway


def wait_until(predicate: Callable[[], object], what: str, timeout: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class HeldUpstream:
    def __init__(self) -> None:
        self.arrivals: list[str] = []  # the last user message of each chat request, in the order they arrived
        self._gates: dict[str, threading.Event] = defaultdict(threading.Event)
        self._broken: set[str] = set()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps({"object": "list", "data": [{"id": "held", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                label = doc["messages"][-1]["content"]
                with outer._lock:
                    outer.arrivals.append(label)
                    gate = outer._gates[label]
                start_stream(self)
                self.wfile.write(sse_chunk(f"answer to {label}"))
                self.wfile.flush()
                gate.wait(HANG_GUARD_S)
                if label in outer._broken:
                    return  # the connection closes mid-answer, as when the server process dies
                try:
                    self.wfile.write(sse_chunk(" done", "stop") + b"data: [DONE]\n\n")
                except OSError:
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def release(self, label: str) -> None:
        self._gates[label].set()

    def break_off(self, label: str) -> None:
        self._broken.add(label)
        self.release(label)

    def arrived(self, label: str) -> bool:
        with self._lock:
            return label in self.arrivals

    def __enter__(self) -> HeldUpstream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for gate in list(self._gates.values()):
            gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Side:
    """One request of a session, run on a thread through the real RemoteEngine; its events are kept."""

    engine: RemoteEngine
    label: str
    events: list[Event] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def final(self) -> Event | None:
        return self.events[-1] if self.events and isinstance(self.events[-1], (Finished, Failed)) else None

    def join(self) -> Event:
        assert self.thread is not None
        self.thread.join(HANG_GUARD_S)
        assert not self.thread.is_alive(), f"{self.label} never ended"
        assert self.final is not None, self.events
        return self.final


def send(gateway_url: str, model_id: str, session: str, voter: str, label: str, *, timeout_s: float = 60.0) -> Side:
    """Start one chat request through the gateway as the session would (its label is the prompt)."""
    engine = RemoteEngine(model_id, model_base_url(gateway_url, model_id), model_id, timeout_s=timeout_s,
                          extra_headers={SESSION_HEADER: session, VOTER_HEADER: voter})
    side = Side(engine, label)

    def run() -> None:
        for event in engine.chat([{"role": "user", "content": label}], ChatParams(seed=1, max_tokens=8)):
            side.events.append(event)

    side.thread = threading.Thread(target=run, name=f"side-{label}", daemon=True)
    side.thread.start()
    return side


def start_command(argv: list[str], tmp_path: Path, *, cols: int = 120, rows: int = 40) -> PtyApp:
    """Run a real command (e.g. `arena tui --team-gateway URL`) on a pseudo-terminal; read its screen with PtyApp."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True)
    os.close(slave)
    app = PtyApp(proc=proc, master=master, report=tmp_path / "unused-report.json")
    threading.Thread(target=app._read, daemon=True).start()
    return app


def stop_command(app: PtyApp) -> None:
    pty_stop(app)
