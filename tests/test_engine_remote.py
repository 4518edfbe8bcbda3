"""RemoteEngine against a real llama_cpp.server on loopback, and against scripted misbehaving servers."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from pathlib import Path

from arena.config.types import Config, ModelSpec, RemoteSource
from arena.engine.remote import RemoteEngine, SSEParser
from arena.engine.types import ChatParams, Engine, Event, Failed, Finished, TextDelta
from arena.errors import EngineError, ModelError
from arena.models.backend import ModelBackend
from tests.support.server import (
    ScriptedServer,
    closed_port,
    llama_server,
    smollm_file,
    sse_chunk,
    start_stream,
)

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SECRET = "sk-test-DO-NOT-LOG-4242"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "llama_server.log"
    with llama_server(smollm_file(), n_ctx=1024, n_threads=1, log_path=log) as url:
        yield url


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def run(engine: RemoteEngine, messages: list[dict[str, str]], params: ChatParams) -> tuple[str, Finished | Failed, list[Event]]:
    events = list(engine.chat(messages, params))
    final = events[-1]
    assert isinstance(final, (Finished, Failed))
    assert all(not isinstance(e, (Finished, Failed)) for e in events[:-1])
    return "".join(e.text for e in events if isinstance(e, TextDelta)), final, events


# -- the real server ----------------------------------------------------------------------------------------------


def test_streams_from_a_real_server(server_url: str) -> None:
    engine = RemoteEngine("remote-smol", server_url, "smol")
    assert isinstance(engine, Engine)
    engine.load()
    assert engine.loaded
    text, final, events = run(engine, QUESTION, ChatParams(seed=7, max_tokens=24))
    assert isinstance(final, Finished) and final.reason in ("stop", "length"), final
    assert text and sum(isinstance(e, TextDelta) for e in events) > 3
    t = final.timings
    assert t.ttft_s is not None and 0 < t.ttft_s <= t.wall_s
    assert t.completion_tokens > 0 and (t.gen_tps is None or t.gen_tps > 0)
    # (No "same seed, same text" check here: the server's prompt cache changes how the prompt is batched, which
    # changes the logits slightly; that the seed is sent is checked against the scripted server below.)


def test_cancel_closes_the_stream_and_the_next_chat_works(server_url: str) -> None:
    engine = RemoteEngine("remote-smol", server_url, "smol")
    engine.load()
    events: list[Event] = []
    stop_at: list[float] = []
    for event in engine.chat([{"role": "user", "content": "Write a very long story about a dragon."}],
                             ChatParams(seed=2, max_tokens=400)):
        events.append(event)
        if isinstance(event, TextDelta) and not stop_at:
            stop_at.append(time.perf_counter())
            threading.Thread(target=engine.cancel).start()
    final = events[-1]
    assert isinstance(final, Finished) and final.reason == "cancelled"
    assert time.perf_counter() - stop_at[0] < 1.0
    assert final.timings.completion_tokens < 400
    text, after, _ = run(engine, QUESTION, ChatParams(seed=3, max_tokens=8))
    assert isinstance(after, Finished) and text


def test_unknown_endpoint_is_an_http_error_with_a_fix(server_url: str) -> None:
    engine = RemoteEngine("r", server_url.replace("/v1", "/nope"), "smol")
    with pytest.raises(EngineError, match="HTTP 404") as exc:
        engine.load()
    assert "base_url" in str(exc.value)
    _, final, _ = run(engine, QUESTION, ChatParams(max_tokens=4))
    assert isinstance(final, Failed) and "HTTP 404" in final.error.message


def test_bad_request_carries_the_servers_message(server_url: str) -> None:
    engine = RemoteEngine("r", server_url, "smol")
    _, final, _ = run(engine, [{"role": "wizard", "content": "hi"}], ChatParams(max_tokens=4))
    assert isinstance(final, Failed)
    assert "HTTP " in final.error.message and "role" in final.error.message
    assert len(final.error.message) < 600


def test_engine_side_truncation_keeps_a_long_conversation_within_the_server_context(server_url: str) -> None:
    filler = "Tell me about the rivers and mountains of the region in detail. " * 8
    messages = []
    for i in range(8):
        messages += [{"role": "user", "content": f"{i}: {filler}"}, {"role": "assistant", "content": filler}]
    messages.append({"role": "user", "content": "What is the capital of France?"})
    untruncated = RemoteEngine("r", server_url, "smol")
    _, failed, _ = run(untruncated, messages, ChatParams(seed=1, max_tokens=16))
    assert isinstance(failed, Failed)  # llama_cpp.server drops the connection on overflow: said clearly
    assert "too long" in str(failed.error) or "context" in str(failed.error)
    engine = RemoteEngine("r", server_url, "smol", n_ctx=400)  # a smaller window than the server's: a quick prompt
    _, final, _ = run(engine, messages, ChatParams(seed=1, max_tokens=16))
    assert isinstance(final, Finished), final
    assert final.truncated_turns > 0


# -- transport failures -------------------------------------------------------------------------------------------


def test_connection_refused() -> None:
    engine = RemoteEngine("r", f"http://127.0.0.1:{closed_port()}/v1", "m", timeout_s=5)
    with pytest.raises(EngineError, match="connection refused"):
        engine.load()
    _, final, _ = run(engine, QUESTION, ChatParams())
    assert isinstance(final, Failed) and "connection refused" in final.error.message
    assert "start the server" in str(final.error)


def test_bad_url_is_rejected_up_front() -> None:
    with pytest.raises(EngineError, match="Bad server URL"):
        RemoteEngine("r", "ftp://example/v1", "m")


def test_garbage_instead_of_events(scripted: ScriptedServer) -> None:
    def garbage(h: BaseHTTPRequestHandler) -> None:
        start_stream(h, "text/html")
        h.wfile.write(b"<html>hello, I am not an API</html>\n")

    scripted.behaviour = garbage
    _, final, _ = run(RemoteEngine("r", scripted.base_url, "m"), QUESTION, ChatParams())
    assert isinstance(final, Failed) and "did not answer with an event stream" in final.error.message
    assert "<html>" in final.error.message


def test_non_json_data_line(scripted: ScriptedServer) -> None:
    def bad_json(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(sse_chunk("Hello") + b"data: {this is not json\n\n")

    scripted.behaviour = bad_json
    text, final, _ = run(RemoteEngine("r", scripted.base_url, "m"), QUESTION, ChatParams())
    assert text == "Hello"
    assert isinstance(final, Failed) and "not JSON" in final.error.message


def test_stall_is_a_timeout(scripted: ScriptedServer) -> None:
    release = threading.Event()

    def stall(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(sse_chunk("Hel"))
        h.wfile.flush()
        release.wait(120)

    scripted.behaviour = stall
    t0 = time.perf_counter()
    text, final, _ = run(RemoteEngine("r", scripted.base_url, "m", timeout_s=0.5), QUESTION, ChatParams())
    release.set()
    assert text == "Hel"
    assert isinstance(final, Failed) and "stopped sending for 0.5 s" in final.error.message
    assert time.perf_counter() - t0 < 60  # the 0.5 s stall timeout fired, not the server's 120 s stall


def test_cancel_wakes_a_stalled_read(scripted: ScriptedServer) -> None:
    release = threading.Event()

    def stall(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(sse_chunk("Hel"))
        h.wfile.flush()
        release.wait(300)

    scripted.behaviour = stall
    engine = RemoteEngine("r", scripted.base_url, "m", timeout_s=300)
    stream = engine.chat(QUESTION, ChatParams())
    assert isinstance(next(stream), TextDelta)
    timer = threading.Timer(0.2, engine.cancel)
    timer.start()
    t0 = time.perf_counter()
    rest = list(stream)
    release.set()
    assert isinstance(rest[-1], Finished) and rest[-1].reason == "cancelled"
    assert time.perf_counter() - t0 < 120  # not the 300 s read timeout


def test_disconnect_mid_answer(scripted: ScriptedServer) -> None:
    def drop(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(sse_chunk("Hello") + sse_chunk(" wor"))

    scripted.behaviour = drop
    text, final, _ = run(RemoteEngine("r", scripted.base_url, "m"), QUESTION, ChatParams())
    assert text == "Hello wor"
    assert isinstance(final, Failed) and "before the answer was finished" in final.error.message


def test_context_overflow_400_is_surfaced(scripted: ScriptedServer) -> None:
    def overflow(h: BaseHTTPRequestHandler) -> None:
        body = json.dumps({"error": {"message": "This model's maximum context length is 1024 tokens. However, you "
                                                "requested 3000 tokens.", "type": "invalid_request_error",
                                     "code": "context_length_exceeded"}}).encode()
        h.send_response(400)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    scripted.behaviour = overflow
    _, final, _ = run(RemoteEngine("r", scripted.base_url, "m"), QUESTION, ChatParams())
    assert isinstance(final, Failed)
    assert "HTTP 400: This model's maximum context length is 1024 tokens" in final.error.message
    assert "start a new round" in str(final.error)


def test_well_formed_stream_with_usage(scripted: ScriptedServer) -> None:
    def good(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(b": keep-alive\n\n" + sse_chunk("Par") + sse_chunk("is.") + sse_chunk(None, "stop"))
        usage = {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}}
        h.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())

    scripted.behaviour = good
    text, final, _ = run(RemoteEngine("r", scripted.base_url, "m"), QUESTION, ChatParams(seed=77, top_k=9))
    assert text == "Paris." and isinstance(final, Finished) and final.reason == "stop" and final.seed == 77
    assert final.timings.prompt_tokens == 12 and final.timings.completion_tokens == 2
    body = scripted.bodies_seen[-1]
    assert body["stream"] is True and body["seed"] == 77 and body["top_k"] == 9
    assert body["stream_options"] == {"include_usage": True}


def _config_of(spec: ModelSpec) -> Config:
    return Config(path=Path("models.yaml"), models={spec.id: spec}, matchups={})


# -- the API key ---------------------------------------------------------------------------------------------------


def test_api_key_is_sent_but_never_logged(scripted: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    def unauthorized(h: BaseHTTPRequestHandler) -> None:
        body = b'{"error": {"message": "Invalid API key"}}'
        h.send_response(401)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    scripted.behaviour = unauthorized
    spec = ModelSpec("r", "Remote", RemoteSource(scripted.base_url, "m", api_key_env="ARENA_TEST_KEY"))
    with caplog.at_level(logging.DEBUG):
        engine = ModelBackend(_config_of(spec), environ={"ARENA_TEST_KEY": SECRET}).engine_for(spec)
        engine.load()  # GET /models succeeds (with the key)
        _, final, _ = run(engine, QUESTION, ChatParams())
    assert all(h.get("Authorization") == f"Bearer {SECRET}" for h in scripted.headers_seen)
    assert isinstance(final, Failed) and "HTTP 401" in final.error.message
    assert "ARENA_TEST_KEY" in str(final.error)
    assert SECRET not in str(final.error) and SECRET not in caplog.text
    assert SECRET not in repr(engine.__dict__.get("api_key_env"))


def test_missing_key_variable_is_a_clear_error() -> None:
    spec = ModelSpec("r", "Remote", RemoteSource("http://127.0.0.1:9/v1", "m", api_key_env="ARENA_TEST_KEY"))
    with pytest.raises(ModelError, match="ARENA_TEST_KEY"):
        ModelBackend(_config_of(spec), environ={}).engine_for(spec)


# -- the SSE parser -------------------------------------------------------------------------------------------------


def test_sse_parser_joins_multiline_data_and_skips_comments() -> None:
    parser = SSEParser()
    out = [parser.feed(line) for line in [b": ping\n", b"event: message\n", b"data: a\r\n", b"data:b\n", b"\n"]]
    assert out == [None, None, None, None, "a\nb"]
    assert parser.other_lines == 0
    assert parser.feed(b"garbage here\n") is None and parser.other_lines == 1


# -- a shared server that queues requests (a team's gateway) -------------------------------------------------------


def test_queue_comments_become_events_and_the_clock_starts_when_let_through(scripted: ScriptedServer) -> None:
    from arena.engine.types import Queued

    let_through = threading.Event()

    def queued(h: BaseHTTPRequestHandler) -> None:
        start_stream(h)
        h.wfile.write(b": queue 2\n\n: ping - keep-alive\n\n: queue 1\n\n")
        h.wfile.flush()
        assert let_through.wait(30)
        h.wfile.write(b": queue 0\n\n" + sse_chunk("Paris") + sse_chunk(None, "stop") + b"data: [DONE]\n\n")

    scripted.behaviour = queued
    engine = RemoteEngine("r", scripted.base_url, "m", extra_headers={"X-Arena-Session": "s1", "X-Arena-Voter": "ann"})
    events: list[Event] = []
    released_at = 0.0
    for event in engine.chat(QUESTION, ChatParams(seed=1)):
        events.append(event)
        if event == Queued(1):
            released_at = time.perf_counter()
            let_through.set()
    ended_at = time.perf_counter()
    assert [e.ahead for e in events if isinstance(e, Queued)] == [2, 1, 0]  # other comments are not queue places
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Paris"
    final = events[-1]
    assert isinstance(final, Finished) and final.reason == "stop"
    # The request's clock started at ": queue 0", which came after the release: the wait is not the model's time.
    assert final.timings.wall_s <= ended_at - released_at
    assert final.timings.ttft_s is not None and final.timings.ttft_s <= final.timings.wall_s
    seen = scripted.headers_seen[-1]
    assert seen["X-Arena-Session"] == "s1" and seen["X-Arena-Voter"] == "ann"


def test_extra_headers_go_with_the_health_check_too(scripted: ScriptedServer) -> None:
    RemoteEngine("r", scripted.base_url, "m", extra_headers={"X-Arena-Session": "s9"}).load()
    assert scripted.headers_seen[-1]["X-Arena-Session"] == "s9"
