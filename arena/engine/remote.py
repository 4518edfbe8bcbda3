"""An OpenAI-compatible server (llama-server, llama_cpp.server, vLLM, Ollama) streamed over server-sent events.

Standard library only (http.client): `cancel()` can then shut the socket down from another thread, which wakes a read
blocked in the worker at once. Timings are wall-clock around the stream; token counts come from the final `usage`
chunk when the server sends one (we ask with stream_options.include_usage), otherwise they are the number of content
deltas (servers send about one token per delta; an approximation, marked as such in the log).

The API key goes into the Authorization header only: it is never logged nor put into an error message.

A shared server may make a request wait its turn (a team's gateway, `arena.team.gateway`): it then sends SSE comment
lines `: queue N` (N rounds are served before this one; `: queue 0` = it runs now). They become `Queued` events, and a
request's clock (time to first token, wall time) starts when it is let through, so the queue does not count as the
model's speed.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arena.engine.context import DoesNotFit, estimate_tokens, fit_messages, reply_room
from arena.engine.types import (
    ChatParams,
    Event,
    Failed,
    Finished,
    Message,
    ProgressCallback,
    Queued,
    TextDelta,
    Timings,
)
from arena.errors import EngineError, Public

log = logging.getLogger("arena.engine.remote")

MAX_ERROR_BODY = 64 * 1024
QUEUE_COMMENT = re.compile(r"queue (\d{1,9})")  # ": queue N" from a gateway that makes requests wait their turn


@dataclass(frozen=True)
class SSEComment:
    text: str  # the comment line without its leading ":" and one space


class SSEParser:
    """Incremental server-sent-events parser (the subset OpenAI-style servers use): yields each event's data."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self.comments: list[str] = []  # comment lines not taken yet (see `_sse_items`)
        self.other_lines = 0  # lines that are not SSE fields at all: a sign of a non-SSE response
        self.first_other: str | None = None

    def feed(self, raw: bytes) -> str | None:
        """Feed one line (with or without its newline); return the event data when a blank line completes it."""
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            return self.flush()
        if line.startswith(":"):  # comment / keep-alive
            if len(self.comments) < 64:  # kept only until `_sse_items` takes them; a flood of comments is dropped
                self.comments.append(line[1:].removeprefix(" "))
            return None
        field, sep, value = line.partition(":")
        if not sep:
            self._note_other(line)
            return None
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field not in ("event", "id", "retry"):
            self._note_other(line)
        return None

    def flush(self) -> str | None:
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data

    def _note_other(self, line: str) -> None:
        self.other_lines += 1
        if self.first_other is None:
            self.first_other = line[:120]


def _sse_items(resp: http.client.HTTPResponse, parser: SSEParser) -> Iterator[str | SSEComment]:
    """Decoding: the data of each server-sent event and each comment line, until the stream ends (transport errors
    propagate)."""
    while True:
        raw = resp.readline()
        data = parser.feed(raw) if raw else parser.flush()
        while parser.comments:
            yield SSEComment(parser.comments.pop(0))
        if data is not None:
            yield data
        elif not raw:
            return


@dataclass
class _Accumulator:
    """Accumulation: what a stream's chunks have told so far (text timing, usage, server timings, finish reason)."""

    start: float  # perf_counter() when the request started
    ttft: float | None = None
    t_last: float | None = None
    deltas: int = 0
    usage: dict[str, Any] | None = None
    server_timings: dict[str, Any] | None = None  # llama-server's own measurements
    reason: str | None = None
    done: bool = False  # the server sent [DONE]

    @property
    def complete(self) -> bool:
        return self.done or self.reason is not None

    def absorb(self, chunk: dict[str, Any]) -> Iterator[str]:
        """Note one chunk's usage, timings and finish reason; yield its text deltas (timed as they are yielded)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            self.server_timings = chunk["timings"]
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                now = time.perf_counter()
                if self.ttft is None:
                    self.ttft = now - self.start
                self.t_last = now
                self.deltas += 1
                yield text
            if choice.get("finish_reason"):
                self.reason = choice["finish_reason"]


@dataclass
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # base path without a trailing slash, e.g. "/v1"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


def _parse_base_url(base_url: str) -> _Target:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(
            f"Bad server URL {base_url!r}: expected http(s)://host[:port]/v1", "fix base_url in models.yaml"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return _Target(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


def _error_message(body: bytes, limit: int = 300) -> str:
    """The server's own words from an error body, on one line and at most `limit` characters."""
    text = " ".join(_raw_error_message(body).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _raw_error_message(body: bytes) -> str:
    """OpenAI, llama.cpp, FastAPI and plain-text error shapes."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:500] or "(empty response)"
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if "detail" in doc:
            return json.dumps(doc["detail"])[:500]
        if doc.get("message"):
            return str(doc["message"])
    return text[:500]


class RemoteEngine:
    """A model behind an OpenAI-compatible /v1/chat/completions endpoint. Not thread-safe except `cancel()`."""

    def __init__(
        self,
        model_id: str,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,  # only used to name the variable in error messages
        timeout_s: float = 60.0,
        n_ctx: int | None = None,  # known server context: old turns are dropped by a character estimate
        sampling_extensions: bool = True,  # send top_k/min_p/repeat_penalty (llama.cpp, Ollama, vLLM accept them)
        extra_headers: Mapping[str, str] | None = None,  # sent with every request (a team session's identity)
    ) -> None:
        self.model_id = model_id
        self.base_url = base_url
        self.model = model
        self._api_key = api_key
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.n_ctx = n_ctx
        self.sampling_extensions = sampling_extensions
        self._extra_headers = dict(extra_headers or {})
        self._target = _parse_base_url(base_url)
        self._loaded = False
        self._cancel_requested = False
        self._conn_lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        # The socket itself: http.client drops conn.sock once a "Connection: close" response takes it over.
        self._sock: socket.socket | None = None

    # -- Engine protocol -------------------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def context_size(self) -> int:
        """The server's context when configured; 0 = unknown (the server reports overflow as an HTTP 400)."""
        return self.n_ctx or 0

    def load(self, progress: ProgressCallback | None = None) -> None:
        """A health check: GET {base_url}/models must answer."""
        report = progress or (lambda _f, _s: None)
        report(0.0, f"contacting {self._target.netloc}")
        self._cancel_requested = False
        status, body = self._simple_request("GET", "/models")
        if status >= 400:
            raise self._http_error(status, body)
        try:
            names = [m.get("id") for m in json.loads(body).get("data", [])]
        except (ValueError, AttributeError):
            raise EngineError(
                f"{self.base_url}/models did not answer with an OpenAI-style model list",
                "check that base_url points at an OpenAI-compatible server (usually ending in /v1)",
            ) from None
        if names and self.model not in names:
            # Not fatal: llama-server and llama_cpp.server serve their one model under any name.
            log.warning("model %r is not in the server's list %s; trying anyway", self.model, names[:10])
        self._loaded = True
        report(1.0, "server is up")

    def unload(self) -> None:
        self._loaded = False
        self._close_conn()

    def cancel(self) -> None:
        self._cancel_requested = True
        with self._conn_lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in the worker thread
            except OSError:
                pass

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        """Set up synchronously (a `cancel()` after this call is never lost), then stream lazily."""
        self._cancel_requested = False
        return self._stream(list(messages), params, time.perf_counter())

    # -- internals -------------------------------------------------------------------------------------------------

    def _new_conn(self) -> http.client.HTTPConnection:
        t = self._target
        if t.scheme == "https":
            return http.client.HTTPSConnection(
                t.host, t.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(t.host, t.port, timeout=self.timeout_s)

    def _close_conn(self) -> None:
        with self._conn_lock:
            conn, self._conn, self._sock = self._conn, None, None
        if conn is not None:
            conn.close()

    def _headers(self, streaming: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if streaming else "application/json", "User-Agent": "quant-arena"}
        headers |= self._extra_headers
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _connect_error(self, exc: BaseException) -> EngineError:
        where = f"{self._target.netloc} ({self.base_url})"
        if isinstance(exc, ConnectionRefusedError):
            return EngineError(f"Cannot connect to {where}: connection refused", "start the server or fix base_url",
                               public=Public.REFUSED)
        if isinstance(exc, socket.gaierror):
            return EngineError(f"Cannot resolve the host {self._target.host!r} of {self.base_url}", "fix base_url",
                               public=Public.UNREACHABLE)
        if isinstance(exc, TimeoutError):
            return EngineError(
                f"The server at {where} did not answer within {self.timeout_s:g} s",
                "check that it is running and not overloaded, or raise timeout_s in models.yaml",
                public=Public.NO_ANSWER,
            )
        if isinstance(exc, ssl.SSLError):
            return EngineError(f"TLS error talking to {where}: {exc}", "check the URL's scheme (http vs https)",
                               public=Public.UNREACHABLE)
        return EngineError(f"Network error talking to {where}: {exc}", "check the server and base_url",
                           public=Public.UNREACHABLE)

    def _http_error(self, status: int, body: bytes) -> EngineError:
        detail = _error_message(body)
        what = f"The server at {self.base_url} answered HTTP {status}: {detail}"
        if status in (401, 403):
            var = f"the environment variable {self.api_key_env}" if self.api_key_env else "api_key_env in models.yaml"
            return EngineError(what, f"check the API key in {var}", public=Public.SERVER_ERROR)
        if status == 404:
            return EngineError(what, f"check base_url (usually ends in /v1) and the model name {self.model!r}",
                               public=Public.SERVER_ERROR)
        if status == 400 and ("context" in detail.lower() or "token" in detail.lower()):
            return EngineError(what, "the conversation is too long for the server's context: start a new round",
                               public=Public.CONTEXT_FULL)
        return EngineError(what, None, public=Public.SERVER_ERROR)

    def _simple_request(self, method: str, path: str) -> tuple[int, bytes]:
        conn = self._new_conn()
        try:
            conn.request(method, self._target.path + path, headers=self._headers(False))
            resp = conn.getresponse()
            return resp.status, resp.read(MAX_ERROR_BODY)
        except (OSError, http.client.HTTPException) as e:
            raise self._connect_error(e) from e
        finally:
            conn.close()

    def _body(self, messages: list[Message], params: ChatParams) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": params.seed,
        }
        if self.sampling_extensions:
            body.update(top_k=params.top_k, min_p=params.min_p, repeat_penalty=params.repeat_penalty)
        return json.dumps(body).encode("utf-8")

    def _fit(self, messages: list[Message], params: ChatParams) -> tuple[list[Message], int]:
        if not self.n_ctx:
            return messages, 0
        room = reply_room(self.n_ctx, params.max_tokens)
        try:
            fit = fit_messages(messages, estimate_tokens, self.n_ctx - room)
        except DoesNotFit as e:
            raise EngineError(
                f"The prompt is about {e.prompt_tokens} tokens, but the context of {self.model_id} is {self.n_ctx} "
                f"tokens and {room} must stay free for the answer",
                "shorten the message",
                public=Public.CONTEXT_FULL,
            ) from e
        return fit.messages, fit.dropped_turns

    def _stream(self, messages: list[Message], params: ChatParams, start: float) -> Iterator[Event]:
        def cancelled() -> Finished:
            return Finished("cancelled", Timings(wall_s=time.perf_counter() - start), params.seed, dropped)

        dropped = 0
        try:
            messages, dropped = self._fit(messages, params)
        except EngineError as e:
            yield Failed(e)
            return
        conn = self._new_conn()
        with self._conn_lock:
            self._conn = conn
        if self._cancel_requested:
            self._close_conn()
            yield cancelled()
            return
        headers = self._headers(True) | {"Content-Type": "application/json"}
        resp: http.client.HTTPResponse | None = None
        try:
            try:
                conn.connect()
                with self._conn_lock:
                    self._sock = conn.sock
                if self._cancel_requested:  # cancelled while connecting
                    yield cancelled()
                    return
                conn.request("POST", self._target.path + "/chat/completions", body=self._body(messages, params),
                             headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                if self._cancel_requested:
                    yield cancelled()
                else:
                    yield Failed(self._connect_error(e))
                return
            if self._cancel_requested:
                yield cancelled()
                return
            if resp.status >= 400:
                yield Failed(self._http_error(resp.status, resp.read(MAX_ERROR_BODY)))
                return
            yield from self._read_events(resp, params, start, dropped)
        finally:
            if resp is not None:
                resp.close()  # a "Connection: close" response owns the socket, not the connection
            self._close_conn()

    def _read_events(self, resp: http.client.HTTPResponse, params: ChatParams, start: float,
                     dropped: int) -> Iterator[Event]:
        """Decode (`_sse_items`), accumulate (`_Accumulator`), classify failures (`_*_failure`): one job each."""
        if "application/json" in resp.getheader("Content-Type", ""):
            yield from self._non_streaming(resp, params, start, dropped)
            return
        parser = SSEParser()
        acc = _Accumulator(start)
        try:
            for data in _sse_items(resp, parser):
                if isinstance(data, SSEComment):
                    queued = QUEUE_COMMENT.fullmatch(data.text.strip())
                    if queued and acc.deltas == 0:
                        ahead = int(queued.group(1))
                        if ahead == 0:
                            acc.start = time.perf_counter()  # let through: the model's clock starts now
                        yield Queued(ahead)
                    if self._cancel_requested:
                        break
                    continue
                if data.strip() == "[DONE]":
                    acc.done = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    yield Failed(self._not_json_failure(data))
                    return
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("error"):
                    yield Failed(self._error_chunk_failure(chunk))
                    return
                for text in acc.absorb(chunk):
                    yield TextDelta(text)
                if self._cancel_requested:
                    break
        except (OSError, http.client.HTTPException, ValueError) as e:
            if not self._cancel_requested:
                yield Failed(self._transport_failure(e))
                return
        if self._cancel_requested:
            yield Finished("cancelled", self._acc_timings(acc), params.seed, dropped)
        elif not acc.complete:
            yield Failed(self._early_end_failure(acc, parser))
        else:
            yield Finished(acc.reason or "stop", self._acc_timings(acc), params.seed, dropped)

    # -- failure classification (mid-stream) ------------------------------------------------------------------------

    def _not_json_failure(self, data: str) -> EngineError:
        return EngineError(
            f"The server at {self.base_url} sent data that is not JSON: {data[:120]!r}",
            "check that base_url points at an OpenAI-compatible server",
            public=Public.NOT_AN_ANSWER,
        )

    def _error_chunk_failure(self, chunk: dict[str, Any]) -> EngineError:
        return EngineError(
            f"The server at {self.base_url} reported an error mid-answer: {_error_message(json.dumps(chunk).encode())}",
            public=Public.SERVER_ERROR,
        )

    def _transport_failure(self, exc: BaseException) -> EngineError:
        if isinstance(exc, TimeoutError):
            return EngineError(
                f"The server at {self.base_url} stopped sending for {self.timeout_s:g} s mid-answer",
                "check the server, or raise timeout_s in models.yaml",
                public=Public.NO_ANSWER,
            )
        return EngineError(f"The connection to {self.base_url} broke mid-answer: {exc}", public=Public.CONNECTION_BROKE)

    def _early_end_failure(self, acc: _Accumulator, parser: SSEParser) -> EngineError:
        """The stream ended without [DONE] and without a finish reason."""
        if acc.deltas == 0 and parser.other_lines:
            return EngineError(
                f"The server at {self.base_url} did not answer with an event stream (it sent {parser.first_other!r})",
                "check that base_url points at an OpenAI-compatible server",
                public=Public.NOT_AN_ANSWER,
            )
        if acc.deltas == 0:
            return EngineError(
                f"The server at {self.base_url} closed the connection without answering",
                "check the server's log: the prompt may be too long for its context, or the server failed",
                public=Public.CONNECTION_BROKE,
            )
        return EngineError(
            f"The server at {self.base_url} closed the connection before the answer was finished",
            "check the server's log (it may have crashed or run out of memory)",
            public=Public.CONNECTION_BROKE,
        )

    def _acc_timings(self, acc: _Accumulator) -> Timings:
        return self._timings(acc.start, acc.ttft, acc.t_last, acc.deltas, acc.usage, acc.server_timings)

    def _non_streaming(self, resp: http.client.HTTPResponse, params: ChatParams, start: float,
                       dropped: int) -> Iterator[Event]:
        """A server that ignored stream=true and sent one JSON completion: still usable."""
        try:
            doc = json.loads(resp.read())
            choice = doc["choices"][0]
            text = choice["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError, OSError) as e:
            yield Failed(EngineError(f"The server at {self.base_url} sent an unexpected JSON answer ({e})",
                                     public=Public.NOT_AN_ANSWER))
            return
        now = time.perf_counter()
        if text:
            yield TextDelta(text)
        timings = self._timings(start, now - start if text else None, now, 1 if text else 0, doc.get("usage"), None)
        yield Finished(choice.get("finish_reason") or "stop", timings, params.seed, dropped)

    def _timings(self, start: float, ttft: float | None, t_last: float | None, deltas: int,
                 usage: dict[str, Any] | None, server: dict[str, Any] | None) -> Timings:
        wall = time.perf_counter() - start
        completion = deltas
        prompt_tokens = 0
        if usage:
            completion = int(usage.get("completion_tokens") or deltas)
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
        else:
            log.debug("%s: no usage from the server; completion_tokens counts content deltas", self.model_id)
        gen_tps = None
        if ttft is not None and t_last is not None and completion > 1 and t_last - start > ttft:
            gen_tps = (completion - 1) / (t_last - start - ttft)
        prompt_tps = None
        if server:
            prompt_tps = server.get("prompt_per_second") or None
            gen_tps = server.get("predicted_per_second") or gen_tps
        return Timings(ttft_s=ttft, prompt_tokens=prompt_tokens, prompt_tps=prompt_tps, completion_tokens=completion,
                       gen_tps=gen_tps, wall_s=wall)
