"""Hostile model output (beyond test_tui_literal.py's markup and ANSI/OSC): control characters, Unicode line breaks,
bidi overrides, lone surrogates, a 100,000-character line, a 1 MB answer, random bytes from a real model.

What must hold: the text arrives through the real transports (SSE from a server, llama.cpp's detokenizer), every
delta is a Python str, the round's text is the exact concatenation of the deltas, the vote stores it exactly, and
`arena export` gives it back exactly (jsonl, csv, fastchat). The TUI stays responsive while a 1 MB answer streams.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from arena.battle.pacing import Pacer
from arena.records import Vote
from arena.battle.round import Round
from arena.battle.runner import TurnRunner
from arena.battle.session import load_contenders, save_vote
from arena.cli.main import main as arena_main
from arena.config.loader import load_config
from arena.config.types import Config, DisplayPolicy, Schedule
from arena.engine.local import LocalEngine
from arena.engine.types import ChatParams, TextDelta
from arena.store import VoteStore
from tests.support.server import ScriptedServer, start_stream
from tests.support.synthetic_gguf import write_synthetic_gguf

C0 = "".join(chr(i) for i in range(0x20))
C1 = "".join(chr(i) for i in range(0x80, 0xA0))
MEGABYTE = "".join(
    f"{i:06d} " + ("# heading\n" if i % 499 == 0 else "") + ("```\ncode\n" if i % 997 == 0 else "") + "word " * 9 + "\n"
    for i in range(17_500)
)[: 1 << 20]
HOSTILE: dict[str, str] = {
    "c0-c1-del": f"start{C0}\x7f{C1}end",
    "line-breaks": "a\r\nb\rc\u2028d\u2029e\x85f\x0bg\x0ch\n\n\n",
    "bidi-zero-width": "\u202eevil.exe\u202c \u200b\u200c\u200d\ufeff\u2066x\u2069",
    "combining-emoji": "e\u0301 Z\u0324\u0308\u0301 \U0001F469\u200d\U0001F469\u200d\U0001F467 \U0001D54F" * 3,
    "lone-surrogates": "high \ud800 low \udfff pair-halves \ud83d|\ude00",
    "nul": "before\x00after\x00",
    "sql-shell-format": "'); DROP TABLE battles; -- $(rm -rf ~) ${HOME} %s %n {0} `id`",
    "csv-formula": '=HYPERLINK("http://evil.example","x"),"q",\'s\'\n+1\t-2\t@SUM(A1)\r\n"',
    "json-like": 'data: {"choices": []}\n\ndata: [DONE]\n\n',
    "long-line": "".join(random.Random(1).choice("abcdefghij \t\x1b") for _ in range(100_000)),
    "astral-long": "\U0001D54F" * 30_000,
    "megabyte": MEGABYTE,
}


def _answer_handler(answers: Iterator[str], piece: int = 4093):  # type: ignore[no-untyped-def]
    """Serve the next answer as an SSE stream of `piece`-sized deltas; UTF-8 raw where it can be, else JSON-escaped."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        text = next(answers)
        start_stream(h)
        out = bytearray(b": hello\n\n")
        for i in range(0, len(text), piece):
            delta = {"choices": [{"index": 0, "delta": {"content": text[i : i + piece]}, "finish_reason": None}]}
            try:
                out += f"data: {json.dumps(delta, ensure_ascii=False)}\n\n".encode()
            except UnicodeEncodeError:  # a lone surrogate cannot be raw UTF-8: JSON-escape it, as servers do
                out += f"data: {json.dumps(delta)}\n\n".encode("ascii")
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        out += f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode()
        h.wfile.write(bytes(out))

    return serve


def _remote_config(tmp_path: Path, url_a: str, url_b: str) -> Config:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults: {display_policy: live, schedule: concurrent}\n"
        "models:\n"
        f"  - {{id: left, name: Left, source: {{remote: {{base_url: '{url_a}', model: m, timeout_s: 30}}}}}}\n"
        f"  - {{id: right, name: Right, source: {{remote: {{base_url: '{url_b}', model: m, timeout_s: 30}}}}}}\n"
        "matchups:\n  - {id: hostile, big: left, small: right}\n",
        encoding="utf-8",
    )
    return load_config(cfg)


def _play(config: Config, contenders, store: VoteStore, prompt: str, seed: int) -> tuple[Round, list[list[str]]]:  # type: ignore[no-untyped-def]
    """One round through the real runner; returns it and the deltas each side streamed."""
    matchup = config.matchups[contenders.matchup.id]
    sampling = {m: config.sampling_for(m) for m in (matchup.big, matchup.small)}
    round_ = Round.new(matchup, sampling, DisplayPolicy.LIVE, rng=random.Random(seed))
    messages = round_.start_turn(prompt)
    deltas: list[list[str]] = [[], []]

    class RecordingPacer(Pacer):
        def feed(self, side: int, text: str, now: float) -> None:  # the runner hands every delta to the pacer
            deltas[side].append(text)
            super().feed(side, text, now)

    runner = TurnRunner(contenders.pair(round_), round_, RecordingPacer(DisplayPolicy.LIVE), schedule=Schedule.CONCURRENT)
    runner.start(messages)
    runner.join(120)
    assert not runner.running
    save_vote(store, round_, Vote.TIE, contenders.facts)
    return round_, deltas


def _export(db: Path, fmt: str, out: Path) -> None:
    assert arena_main(["--db", str(db), "export", "--format", fmt, "--include-leaks", "-o", str(out)]) == 0


def _answers_by_uuid_jsonl(path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        v = json.loads(line)
        out[v["uuid"]] = (v["conversation_a"][-1]["content"], v["conversation_b"][-1]["content"])
    return out


def _answers_by_uuid_csv(path: Path) -> dict[str, tuple[str, str]]:
    csv.field_size_limit(1 << 30)
    out = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["uuid"]] = (json.loads(row["conversation_a"])[-1]["content"], json.loads(row["conversation_b"])[-1]["content"])
    return out


def _answers_by_uuid_fastchat(path: Path) -> dict[str, tuple[str, str]]:
    return {b["question_id"]: (b["conversation_a"][-1]["content"], b["conversation_b"][-1]["content"])
            for b in json.loads(path.read_text(encoding="utf-8"))}


@pytest.mark.slow
def test_hostile_text_over_a_real_sse_stream_is_stored_and_exported_exactly(tmp_path: Path) -> None:
    names = list(HOSTILE)
    pairs = [(names[i], names[(i + 5) % len(names)]) for i in range(len(names))]  # each string on each side once
    db = tmp_path / "votes.db"
    expected: dict[str, tuple[str, str]] = {}
    with ScriptedServer() as server_a, ScriptedServer() as server_b:
        server_a.behaviour = _answer_handler(iter([HOSTILE[a] for a, _ in pairs]))
        server_b.behaviour = _answer_handler(iter([HOSTILE[b] for _, b in pairs]))
        config = _remote_config(tmp_path, server_a.base_url, server_b.base_url)
        contenders = load_contenders(config, "hostile")
        with VoteStore(db) as store:
            for n, (a, b) in enumerate(pairs):
                round_, deltas = _play(config, contenders, store, f"round {n}", n)
                want = {"left": HOSTILE[a], "right": HOSTILE[b]}
                for side in (0, 1):
                    st = round_.turns[-1].sides[side]
                    assert st.error is None and st.reason == "stop", (a, b, st.error)
                    assert all(isinstance(d, str) and d for d in deltas[side])
                    assert "".join(deltas[side]) == st.text == want[round_.models[side]], (a, b, side)
                assert round_.voted is not None
                expected[round_.voted.uuid] = (round_.turns[-1].sides[0].text, round_.turns[-1].sides[1].text)
                stored = store.get_vote(round_.voted.uuid)
                assert stored is not None
                assert (stored["conversation_a"][-1]["content"], stored["conversation_b"][-1]["content"]) == expected[round_.voted.uuid]
        contenders.unload()

    # Byte-exact in the SQLite file itself, read by another client than ours.
    with sqlite3.connect(db) as conn:
        raw = {u: (json.loads(a)[-1]["content"], json.loads(b)[-1]["content"])
               for u, a, b in conn.execute("SELECT uuid, conversation_a, conversation_b FROM battles")}
    assert raw == expected
    for fmt, reader in (("jsonl", _answers_by_uuid_jsonl), ("csv", _answers_by_uuid_csv), ("fastchat", _answers_by_uuid_fastchat)):
        out = tmp_path / f"export.{fmt}"
        _export(db, fmt, out)
        assert reader(out) == expected, fmt


# -- a real model that emits random bytes (llama.cpp's byte-fallback tokens) ----------------------------------------


@pytest.fixture(scope="module")
def babbler(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random weights over a vocabulary that is two-thirds single-byte tokens: it emits control bytes and invalid UTF-8."""
    return write_synthetic_gguf(tmp_path_factory.mktemp("babbler") / "babbler.gguf",
                                chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}")


def test_random_bytes_from_a_real_model_become_valid_text_stored_exactly(babbler: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults:\n  display_policy: live\n  schedule: concurrent\n"
        "  sampling: {temperature: 1.5, top_p: 1.0, top_k: 0, min_p: 0.0, repeat_penalty: 1.0, max_tokens: 100}\n"
        "models:\n"
        f"  - {{id: one, name: One, n_ctx: 256, source: {{path: '{babbler}'}}}}\n"
        f"  - {{id: two, name: Two, n_ctx: 256, source: {{path: '{babbler}'}}}}\n"
        "matchups:\n  - {id: babble, big: one, small: two}\n",
        encoding="utf-8",
    )
    config = load_config(cfg)
    contenders = load_contenders(config, "babble")
    db = tmp_path / "votes.db"
    texts: dict[str, tuple[str, str]] = {}
    try:
        with VoteStore(db) as store:
            for n in range(3):
                round_, deltas = _play(config, contenders, store, "x", 100 + n)
                sides = round_.turns[-1].sides
                for side in (0, 1):
                    text = sides[side].text
                    assert sides[side].error is None
                    assert "".join(deltas[side]) == text
                    text.encode("utf-8")  # valid: no lone surrogates from a half multibyte sequence
                    assert sides[side].timings is not None and sides[side].timings.completion_tokens > 0
                assert round_.voted is not None
                texts[round_.voted.uuid] = (sides[0].text, sides[1].text)
    finally:
        contenders.unload()
    everything = "".join(a + b for a, b in texts.values())
    assert any(ord(c) < 0x20 and c not in "\n\t" for c in everything), "the model emitted no control characters"
    out = tmp_path / "export.jsonl"
    _export(db, "jsonl", out)
    assert _answers_by_uuid_jsonl(out) == texts


def test_multibyte_characters_split_over_tokens_arrive_whole(smollm_path: Path) -> None:
    """SmolLM2 spells emoji and CJK characters with several byte-level tokens: the streamed deltas must join to the
    same text as the non-streamed completion of the same tokens (nothing dropped at a split)."""
    engine = LocalEngine("smol", smollm_path, n_ctx=512, n_threads=1)
    engine.load()
    try:
        messages = [{"role": "user", "content": "Repeat exactly: 日本語のテキスト 😀🎉 ñandú Ωμέγα 한국어"}]
        params = ChatParams(temperature=0.0, max_tokens=16, seed=5)
        engine.reset()
        events = list(engine.chat(messages, params))
        streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
        engine.reset()
        llm = engine._llm
        whole = llm.create_chat_completion(
            messages, stream=False, seed=5, temperature=0.0, max_tokens=16, top_p=params.top_p, top_k=params.top_k,
            min_p=params.min_p, repeat_penalty=params.repeat_penalty,
        )["choices"][0]["message"]["content"]
    finally:
        engine.unload()
    assert any(ord(c) > 0x7F for c in streamed), streamed  # the test saw multibyte output
    assert streamed == whole


# -- the TUI: huge answers stay drawable and the app stays responsive -------------------------------------------------


@pytest.mark.slow
def test_tui_streams_a_megabyte_and_a_100k_line_while_keys_stay_responsive(demo_config: Config, tmp_path: Path) -> None:
    from arena.tui.app import ArenaApp
    from arena.tui.screens.arena import ArenaScreen
    from arena.tui.widgets.answer_pane import AnswerPane
    from arena.tui.widgets.stream_view import StreamView
    from tests.support.fake_engine import fake_backend

    answers = {"gemma3-270m": HOSTILE["megabyte"], "smollm2-135m": HOSTILE["long-line"] + HOSTILE["c0-c1-del"]}

    backend = fake_backend(answers, piece=2048, delay_s=0.01)  # ~5 s for the megabyte

    db = tmp_path / "votes.db"
    latencies: list[float] = []

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=1, policy=DisplayPolicy.LIVE, backend=backend)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            deadline = time.monotonic() + 120
            while screen.round is None:
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            await pilot.click("#prompt")
            await pilot.press(*"go")
            # Submit without pilot.press: it waits until every queue is idle, and on a loaded machine the stream can
            # start before that wait ends, so the press would return only after the whole answer was drawn and the
            # key loop below would never run (seen once in CI). Then wait until the submit handler has moved focus to
            # the answers: before that, an "l" would be typed into the prompt box instead of reaching the screen.
            app.simulate_key("enter")
            pane_a = screen.query_one("#pane-a", AnswerPane)
            deadline = time.monotonic() + 120
            while not (screen.round.turns and app.focused is pane_a):
                assert time.monotonic() < deadline, "the prompt was not submitted"
                await asyncio.sleep(0.005)
            deadline = time.monotonic() + 240
            while not screen.voting_open:  # until both answers are complete AND drawn
                assert time.monotonic() < deadline, "the answers never finished displaying"
                before = screen.link_scroll
                t0 = time.perf_counter()
                # A key handled by the screen while the panes stream and draw. Posted like a terminal's key, not with
                # pilot.press, which waits until every widget's queue is empty (i.e. until the panes finished drawing).
                app.simulate_key("l")
                while screen.link_scroll is before and not screen.voting_open:
                    assert time.perf_counter() - t0 < 120, "the key was not handled"
                    await asyncio.sleep(0.005)
                if screen.link_scroll is not before:
                    latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(0.1)
            by_model = {screen.round.models[i]: p for i, p in
                        enumerate((screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane)))}
            for model_id, pane in by_model.items():
                view = pane.query_one(StreamView)
                assert view.text == answers[model_id]  # every character reached the pane
            big = by_model["gemma3-270m"].query_one(StreamView)
            assert big.chunk_count > 100  # split into bounded chunks, not one 1 MB Markdown document
            await pilot.press("2")
            deadline = time.monotonic() + 120
            while screen.round.voted is None:
                assert time.monotonic() < deadline
                await pilot.pause(0.05)

    asyncio.run(scenario())
    # Responsiveness without a clock bound (this machine's load must not decide the test): a UI that blocked while
    # drawing the megabyte handled a key only once the drawing was over, so at most one press took effect mid-stream.
    # Latency itself is measured by benchmarks/tui.py, not asserted here.
    assert len(latencies) >= 3, latencies
    print(f"keypress latency while drawing 1 MB: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s, n={len(latencies)}")
    row = sqlite3.connect(db).execute("SELECT model_a, conversation_a, model_b, conversation_b FROM battles").fetchone()
    stored = {row[0]: json.loads(row[1])[-1]["content"], row[2]: json.loads(row[3])[-1]["content"]}
    assert stored == answers
