"""A hostile OpenAI-compatible (and Hugging-Face-shaped) server on loopback, and a pseudo-terminal to watch the bytes.

The server puts terminal escapes into every error it gives: a title change (OSC 0), a clipboard write (OSC 52), a colour
(CSI 31m), a hyperlink (OSC 8), a bidi override (U+202E). Each carries a marker word so a test can tell "shown as
visible text" (the word is on the screen, the escape is not) from "not shown at all".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])  # subprocesses import this checkout's `arena`

PAYLOAD = (
    "boom \x1b]0;PWNED\x07 clip \x1b]52;c;cHduZWQ=\x07 \x1b[31mREDMARK\x1b[0m "
    "\x1b]8;;https://evil.example/\x1b\\LINKMARK\x1b]8;;\x1b\\ \u202eEVILBIDI"
)
# Byte strings that must never reach a terminal: the escapes themselves, in UTF-8.
FORBIDDEN: tuple[bytes, ...] = (
    b"\x1b]0;PWNED",
    b"PWNED\x07",
    b"\x1b]52;",
    b"\x1b[31mREDMARK",
    b"\x1b]8;;https://evil",
    "\u202e".encode(),
)
VISIBLE_ESC = "\u241b".encode()  # how the sanitizer draws ESC


def forbidden_in(data: bytes) -> list[bytes]:
    return [f for f in FORBIDDEN if f in data]


class HostileServer:
    """Loopback HTTP server. Paths under /good/v1 behave; /bad/v1 fails with PAYLOAD at load (GET /models) when
    `fail_load`, and always on chat; any other path (e.g. the Hugging Face API) answers HTTP 400 with PAYLOAD.
    Handler threads are daemons and every request is answered at once: nothing can hang a test."""

    def __init__(self, *, fail_load: bool = False, extra: str = "") -> None:
        self.fail_load = fail_load
        payload = PAYLOAD + extra
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                outer.requests.append("HEAD " + self.path)
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                outer.requests.append("GET " + self.path)
                if self.path.endswith("/models") and (self.path.startswith("/good/") or not outer.fail_load):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "m"}]}).encode())
                elif self.path.endswith("/models"):
                    self._send(500, payload.encode(), "text/plain; charset=utf-8")  # a raw, non-JSON error body
                else:
                    self._send(400, json.dumps({"error": payload}).encode())

            def do_POST(self) -> None:
                outer.requests.append("POST " + self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/good/"):
                    chunk = {"choices": [{"index": 0, "delta": {"content": "Hello there."}, "finish_reason": None}]}
                    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()
                    self._send(200, body, "text/event-stream")
                else:
                    self._send(500, json.dumps({"error": {"message": payload, "type": "server_error"}}).encode())

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, which: str) -> str:
        return f"http://127.0.0.1:{self.port}/{which}/v1"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class PtyProcess:
    """A command on a pseudo-terminal (stdin, stdout and stderr: Textual draws on stderr); every byte it writes kept."""

    def __init__(self, argv: list[str], env: dict[str, str], *, rows: int = 45, cols: int = 160) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self._lock = threading.Lock()
        self._data = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self._data += chunk

    @property
    def output(self) -> bytes:
        with self._lock:
            return bytes(self._data)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait_for(self, needle: bytes, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.output[-3000:].decode("utf-8", "replace")
                raise AssertionError(f"no {what} ({needle!r}) after {timeout:g} s; exit={self.proc.poll()}; tail={tail!r}")
            time.sleep(0.05)

    def close(self, timeout: float = 30) -> None:
        """ctrl+q, then wait; kill the process group if it does not leave."""
        with contextlib.suppress(OSError):
            self.send(b"\x11")
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.master)


def arena_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENA_", "HF_"))}
    env.update(TERM="xterm-256color", COLUMNS="160", LINES="45", ARENA_HOME=home, HF_HOME=os.path.join(home, "hf"),
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=REPO)
    env.pop("TEXTUAL", None)
    return env


@contextlib.contextmanager
def pty_arena(argv: list[str], env: dict[str, str]) -> Iterator[PtyProcess]:
    p = PtyProcess(argv, env)
    try:
        yield p
    finally:
        p.close()
