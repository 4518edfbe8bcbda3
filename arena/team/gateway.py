"""The team's gateway: one loopback HTTP proxy in front of the model servers, shared by every voter's session.

Routes:
- `POST /m/<model id>/v1/chat/completions`: waits its turn (`arena.team.lease`), then streams from the model's server.
- `GET /m/<model id>/v1/models`: passed through (a session's health check when it "loads" a model).
- `GET /team/status`: the models served, how many servers are up / restarting / down, the queue, queue waits per
  request. Counts only: it never says which model is busy, restarting or down, nor names a session or voter (a voter
  may read it).

Sessions say who they are with `X-Arena-Session` (random per session process) and `X-Arena-Voter` (the voter's name,
percent-encoded; only used to take turns fairly, never shown).

While a streaming request waits, it gets SSE comment lines `: queue N` (rounds before its own) at once and then every
`keepalive_s`, so the client's read timeout does not fire and the session can show its place; `: queue 0` when it is
let through. A client that goes away while waiting is dropped from the queue; one that goes away while streaming has
its upstream stream closed (llama_cpp.server then stops generating).

Failures are symmetric within a round: when a side's model server fails (crashed, restarting, down, broken stream), the
round's other request in flight is ended with the same error, and any further request of that round gets it too, so
both panes of the session fail alike and the error text never names the model. (A side that had already finished
cannot be taken back; the round is then not a vote anyway, see the README's "A round where a side failed".)

Standard library only (ThreadingHTTPServer, http.client): a thread per request is what a handful of voters need, and
a blocked read in one thread can be woken from another by shutting its socket down.
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from arena.team.lease import Cancelled, LeaseQueue, Ticket

log = logging.getLogger("arena.team.gateway")

SESSION_HEADER = "X-Arena-Session"
VOTER_HEADER = "X-Arena-Voter"
MAX_BODY = 32 * 1024 * 1024  # a conversation of 256 KiB prompts, JSON-escaped, fits many times
WAITS_KEPT = 10_000

# What a session sees when a model server fails: the same words for every model and both sides (shown after the vote
# with the rest of the detail; before it, the round shows "the server answered with an error").
SERVER_STOPPED = ("A model server of the team stopped while answering; it is restarted automatically. Run the turn "
                  "again (ctrl+r) in a few seconds")
SERVER_RESTARTING = "A model server of the team is restarting. Run the turn again (ctrl+r) in a few seconds"
SERVER_DOWN = ("A model server of the team is down (it kept crashing and is no longer restarted). Tell whoever runs "
               "`arena serve --team`: its terminal and log say what happened, and restarting it brings the server back")
SERVER_SILENT = "A model server of the team stopped sending mid-answer. Run the turn again (ctrl+r)"


@dataclass(frozen=True)
class Route:
    """Where a model's requests go: an OpenAI-compatible base URL (…/v1) and the server's name for the model."""

    base_url: str
    model: str
    api_key: str | None = None  # a remote source's key, read by the team process from its environment
    timeout_s: float = 120.0  # upstream read timeout (llama_cpp.server sends an SSE ping every 15 s while it works)


class Unavailable(Exception):
    """The model's server cannot take requests now; `str(exc)` is model-free, fit to show a voter."""


Resolve = Callable[[str], Route]  # model id -> route; raises Unavailable (restarting/down), KeyError (no such model)


@dataclass
class _Relay:
    """One request streaming from a model server: another thread can end it with a failure (see `_fail_round`)."""

    sock: socket.socket | None = None
    failure: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def abort(self, message: str) -> None:
        with self.lock:
            if self.failure is None:
                self.failure = message
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the relay's blocked read
            except OSError:
                pass


class Gateway:
    """Start with `start()`, stop with `close()`; `url` is http://127.0.0.1:PORT (sessions add /m/<id>/v1)."""

    def __init__(
        self,
        resolve: Resolve,
        model_ids: list[str],
        *,
        status: Callable[[], Mapping[str, Any]] = dict,
        host: str = "127.0.0.1",
        port: int = 0,
        grace_s: float = 0.5,
        keepalive_s: float = 5.0,
        tick_s: float = 0.2,
    ) -> None:
        self.resolve = resolve
        self.model_ids = list(model_ids)
        self._server_status = status
        self.keepalive_s = keepalive_s
        self.tick_s = tick_s
        self.lease = LeaseQueue(grace_s=grace_s)
        self._lock = threading.Lock()
        self._relays: dict[int, list[_Relay]] = {}  # lease number -> requests streaming under it
        self._failures: OrderedDict[int, str] = OrderedDict()  # lease number -> the failure its round ended with
        self._waits: deque[float] = deque(maxlen=WAITS_KEPT)  # queue wait per chat request, seconds
        self._requests = 0
        self._queued = 0
        self._sessions: set[str] = set()
        self._httpd = _Server((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="arena-team-gateway", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def close(self) -> None:
        self.lease.close()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            relays = [r for rs in self._relays.values() for r in rs]
        for relay in relays:
            relay.abort("The team server is shutting down")

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- accounting ----------------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            waits = list(self._waits)
            requests, queued, sessions = self._requests, self._queued, len(self._sessions)
        return {
            "served": list(self.model_ids),  # what the sessions may play (the loading screen names them anyway)
            "models": dict(self._server_status()),
            "queue": self.lease.snapshot(),
            "sessions_seen": sessions,
            "requests": {
                "count": requests,
                "queued": queued,
                "queue_wait_s": _summary(waits),
                "recent_waits_s": [round(w, 4) for w in waits[-1000:]],
            },
        }

    def _note_session(self, session: str | None) -> None:
        if session:
            with self._lock:
                self._sessions.add(session)

    def _note_wait(self, ticket: Ticket) -> None:
        with self._lock:
            self._requests += 1
            self._queued += ticket.queued
            self._waits.append(ticket.waited_s)

    # -- symmetric failure within a round ----------------------------------------------------------------------------
    def _round_failure(self, lease: int) -> str | None:
        with self._lock:
            return self._failures.get(lease)

    def _fail_round(self, lease: int, message: str) -> str:
        """Record the round's failure (the first one wins) and end its other requests with it; returns the message."""
        with self._lock:
            message = self._failures.setdefault(lease, message)
            while len(self._failures) > 1024:
                self._failures.popitem(last=False)
            relays = list(self._relays.get(lease, ()))
        for relay in relays:
            relay.abort(message)
        return message

    def _register(self, lease: int, relay: _Relay) -> None:
        with self._lock:
            self._relays.setdefault(lease, []).append(relay)

    def _unregister(self, lease: int, relay: _Relay) -> None:
        with self._lock:
            relays = self._relays.get(lease, [])
            if relay in relays:
                relays.remove(relay)
            if not relays:
                self._relays.pop(lease, None)

    # -- HTTP ----------------------------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(_Handler):
            gw = gateway

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of sessions (two sides and a health check each) must not hit the accept backlog

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer is normal (a stop, a closed tab): no traceback on the team's terminal.
        log.debug("request from %s ended with an error", client_address, exc_info=True)


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "max": values[0]}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 4), "p95": round(q[94], 4), "max": round(max(values), 4)}


def _model_path(path: str) -> tuple[str, str] | None:
    """'/m/<id>/v1/<rest>' -> (id, rest)."""
    parts = urlsplit(path).path.split("/")
    if len(parts) >= 5 and parts[1] == "m" and parts[3] == "v1" and parts[2]:
        return unquote(parts[2]), "/".join(parts[4:])
    return None


def _error_doc(message: str, status: int) -> bytes:
    return json.dumps({"error": {"message": message, "type": "team_gateway", "code": status}}).encode()


class _Handler(BaseHTTPRequestHandler):
    gw: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------------------------------------------
    def _send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self, content_type: str = "text/event-stream") -> None:
        """Headers for a body that ends when the connection closes (no length, no chunking)."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _client_gone(self) -> bool:
        """The client closed its end (a cancelled request): readable with nothing to read."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _who(self) -> tuple[str, str]:
        session = self.headers.get(SESSION_HEADER) or f"anonymous-{self.client_address[1]}"
        voter = unquote(self.headers.get(VOTER_HEADER) or "") or session
        return session, voter

    # -- routes --------------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path == "/team/status":
            self._send_json(200, json.dumps(self.gw.status()).encode())
            return
        target = _model_path(self.path)
        if target is None or target[1] != "models":
            self._send_json(404, _error_doc(f"no such path: {self.path[:200]}", 404))
            return
        self.gw._note_session(self.headers.get(SESSION_HEADER))
        route = self._route(target[0])
        if route is None:
            return
        self._pass_through("GET", route, "/models", None)

    def do_POST(self) -> None:  # noqa: N802
        target = _model_path(self.path)
        if target is None or target[1] != "chat/completions":
            self._send_json(404, _error_doc(f"no such path: {self.path[:200]}", 404))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send_json(413, _error_doc(f"request body over {MAX_BODY} bytes", 413))
            return
        try:
            doc = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            self._send_json(400, _error_doc("the body is not a JSON object", 400))
            return
        if target[0] not in self.gw.model_ids:
            self._send_json(404, _error_doc(f"this team server does not serve the model {target[0][:100]!r}", 404))
            return
        self._chat(target[0], doc)

    def _route(self, model_id: str) -> Route | None:
        """The model's route, or None after answering the error (unknown model, server not available)."""
        if model_id not in self.gw.model_ids:
            self._send_json(404, _error_doc(f"this team server does not serve the model {model_id[:100]!r}", 404))
            return None
        try:
            return self.gw.resolve(model_id)
        except Unavailable as exc:
            self._send_json(503, _error_doc(str(exc), 503))
            return None

    def _pass_through(self, method: str, route: Route, path: str, body: bytes | None) -> None:
        conn = _connect(route)
        try:
            conn.request(method, urlsplit(route.base_url).path.rstrip("/") + path, body=body, headers=_up_headers(route))
            resp = conn.getresponse()
            data = resp.read(MAX_BODY)
            self._send_json(resp.status, data)
        except (OSError, http.client.HTTPException):
            self._send_json(503, _error_doc(SERVER_RESTARTING, 503))
        finally:
            conn.close()

    # -- chat --------------------------------------------------------------------------------------------------------
    def _chat(self, model_id: str, doc: dict[str, Any]) -> None:
        gw = self.gw
        session, voter = self._who()
        gw._note_session(session)
        streaming = bool(doc.get("stream"))
        started = False  # response headers sent (a queued streaming request answers at once, with keep-alives)
        gone = False
        last: tuple[int, float] | None = None

        def on_wait(ahead: int) -> None:
            nonlocal started, gone, last
            if not streaming or gone:
                return
            now = time.monotonic()
            if last is not None and last[0] == ahead and now - last[1] < gw.keepalive_s:
                return
            try:
                if not started:
                    self._start_stream()
                    started = True
                self.wfile.write(f": queue {ahead}\n\n".encode())
                last = (ahead, now)
            except OSError:
                gone = True

        try:
            ticket = gw.lease.acquire(session, voter, on_wait=on_wait,
                                      should_stop=lambda: gone or self._client_gone(), tick_s=gw.tick_s)
        except Cancelled as exc:
            log.info("a waiting request was dropped: %s", exc)
            self.close_connection = True
            return
        gw._note_wait(ticket)
        relay = _Relay()
        gw._register(ticket.lease, relay)
        t0 = time.monotonic()
        try:
            if started:
                try:
                    self.wfile.write(b": queue 0\n\n")
                except OSError:
                    return
            failure = gw._round_failure(ticket.lease)
            if failure is None:
                try:
                    route = gw.resolve(model_id)
                except Unavailable as exc:
                    failure = gw._fail_round(ticket.lease, str(exc))
            if failure is not None:
                self._fail(failure, started)
                return
            doc["model"] = route.model
            self._relay(route, json.dumps(doc).encode(), relay, ticket, started)
        finally:
            gw._unregister(ticket.lease, relay)
            gw.lease.release(ticket)
            log.info("chat request: lease %d, waited %.3f s, ran %.3f s", ticket.lease, ticket.waited_s,
                     time.monotonic() - t0)

    def _fail(self, message: str, started: bool) -> None:
        try:
            if started:
                self.wfile.write(b"data: " + _error_doc(message, 503) + b"\n\n")
            else:
                self._send_json(503, _error_doc(message, 503))
        except OSError:
            pass
        self.close_connection = True

    def _relay(self, route: Route, body: bytes, relay: _Relay, ticket: Ticket, started: bool) -> None:
        gw = self.gw
        conn = _connect(route)
        resp: http.client.HTTPResponse | None = None
        try:
            try:
                conn.connect()
                with relay.lock:
                    relay.sock = conn.sock
                if relay.failure is not None:
                    raise OSError("aborted")
                conn.request("POST", urlsplit(route.base_url).path.rstrip("/") + "/chat/completions", body=body,
                             headers=_up_headers(route) | {"Content-Type": "application/json"})
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException):
                self._fail(relay.failure or gw._fail_round(ticket.lease, SERVER_STOPPED), started)
                return
            content_type = resp.getheader("Content-Type", "application/json")
            if resp.status != 200 or "text/event-stream" not in content_type:
                # An ordinary answer or an error of the request itself (e.g. a bad parameter): not a server failure,
                # passed on as it is (inside the stream when the queue already started one).
                data = resp.read(MAX_BODY)
                if not started:
                    self._send_json(resp.status, data)
                elif resp.status != 200:
                    self.wfile.write(b"data: " + _error_doc(f"HTTP {resp.status}: {data[:2000].decode('utf-8', 'replace')}",
                                                            resp.status) + b"\n\n")
                else:
                    self.wfile.write(b"data: " + b" ".join(data.split(b"\n")) + b"\n\ndata: [DONE]\n\n")
                return
            if not started:
                self._start_stream(content_type)
            self._stream(resp, relay, ticket)
        finally:
            if resp is not None:
                resp.close()
            with relay.lock:
                relay.sock = None
            conn.close()

    def _stream(self, resp: http.client.HTTPResponse, relay: _Relay, ticket: Ticket) -> None:
        """Copy the model server's event stream line by line; a stream that breaks off fails the round."""
        complete = False
        try:
            while True:
                try:
                    line = resp.readline()
                except TimeoutError:
                    self._fail(relay.failure or self.gw._fail_round(ticket.lease, SERVER_SILENT), True)
                    return
                except (OSError, http.client.HTTPException):
                    line = b""
                if not line:
                    break
                complete = complete or _ends_stream(line)
                self.wfile.write(line)
        except OSError:  # the client went away (a stop): closing the upstream connection stops the model
            log.info("a client stopped reading; closing its model stream")
            return
        if relay.failure is not None:
            self._fail(relay.failure, True)
        elif not complete:
            self._fail(self.gw._fail_round(ticket.lease, SERVER_STOPPED), True)


def _ends_stream(line: bytes) -> bool:
    """`data: [DONE]`, or a chunk with a finish reason (servers that send no [DONE])."""
    if not line.startswith(b"data:"):
        return False
    data = line[5:].strip()
    if data == b"[DONE]":
        return True
    if b"finish_reason" not in data:
        return False
    try:
        chunk = json.loads(data)
        return any(c.get("finish_reason") for c in chunk.get("choices") or [])
    except (ValueError, AttributeError, TypeError):
        return False


def _connect(route: Route) -> http.client.HTTPConnection:
    parts = urlsplit(route.base_url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80),
               timeout=route.timeout_s)


def _up_headers(route: Route) -> dict[str, str]:
    headers = {"Accept": "text/event-stream", "User-Agent": "quant-arena-team"}
    if route.api_key:
        headers["Authorization"] = f"Bearer {route.api_key}"
    return headers
