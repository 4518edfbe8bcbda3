"""The round scheduler with two real local models (SmolLM2 and Gemma-3-270M) and a real remote engine object."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.engine.local import LocalEngine
from arena.engine.remote import RemoteEngine
from arena.engine.scheduler import (
    Calibration,
    Scheduler,
    load_calibration,
    save_calibration,
)
from arena.engine.types import ChatParams, Event, Failed, Finished, TextDelta
from tests.support.server import smollm_file

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]


@pytest.fixture(scope="module")
def pair(gemma_path: Path) -> Iterator[tuple[LocalEngine, LocalEngine]]:
    small = LocalEngine("smollm2", smollm_file(), n_ctx=1024, n_threads=2)
    big = LocalEngine("gemma3", gemma_path, chat_format="gemma", n_ctx=1024, n_threads=2)
    small.load()
    big.load()
    yield small, big
    small.unload()
    big.unload()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[int, Event, float]] = []
        self.lock = threading.Lock()
        self.first_delta = [threading.Event(), threading.Event()]

    def __call__(self, side: int, event: Event) -> None:
        with self.lock:
            self.events.append((side, event, time.perf_counter()))
        if isinstance(event, TextDelta):
            self.first_delta[side].set()

    def side(self, side: int) -> list[Event]:
        return [e for s, e, _ in self.events if s == side]

    def text(self, side: int) -> str:
        return "".join(e.text for e in self.side(side) if isinstance(e, TextDelta))


def test_auto_prefers_concurrent_without_a_measurement(tmp_path: Path, gemma_path: Path) -> None:
    engines = (LocalEngine("a", smollm_file()), LocalEngine("b", gemma_path))
    scheduler = Scheduler(cores=2, calibration_file=tmp_path / "none.json")
    assert scheduler.choose("auto", engines) == "concurrent"
    assert scheduler.choose("sequential", engines) == "sequential"
    assert scheduler.threads_for("concurrent", engines) == 1
    assert scheduler.threads_for("sequential", engines) == 2


def test_auto_follows_the_stored_measurement(tmp_path: Path, gemma_path: Path) -> None:
    engines = (LocalEngine("a", smollm_file()), LocalEngine("b", gemma_path))
    file = tmp_path / "cal.json"
    cal = save_calibration(concurrent_s=10.0, sequential_s=8.0, models=["a", "b"], path=file)
    assert load_calibration(file) == cal and cal.best == "sequential"
    assert Scheduler(cores=cal.cores, calibration_file=file).choose("auto", engines) == "sequential"
    # A measurement from a machine with another core count does not apply.
    assert Scheduler(cores=cal.cores + 6, calibration_file=file).choose("auto", engines) == "concurrent"
    # Within the margin, concurrent wins (both panes start early).
    save_calibration(concurrent_s=10.0, sequential_s=9.7, path=file)
    assert Scheduler(cores=cal.cores, calibration_file=file).choose("auto", engines) == "concurrent"
    file.write_text("{not json")
    assert load_calibration(file) is None


def test_a_remote_contender_means_concurrent_and_all_cores_locally(tmp_path: Path) -> None:
    file = tmp_path / "cal.json"
    file.write_text(json.dumps({"cores": 4, "concurrent_s": 10, "sequential_s": 1}))
    local = LocalEngine("a", smollm_file())
    remote = RemoteEngine("r", "http://127.0.0.1:9/v1", "m")
    scheduler = Scheduler(cores=4, calibration_file=file)
    assert scheduler.choose("auto", (local, remote)) == "concurrent"
    assert scheduler.threads_for("concurrent", (local, remote)) == 4


def test_concurrent_round_streams_both_sides(pair: tuple[LocalEngine, LocalEngine]) -> None:
    rec = Recorder()
    scheduler = Scheduler(cores=2)
    params = ChatParams(seed=4, max_tokens=24)
    results = scheduler.run_pair(pair, (QUESTION, QUESTION), (params, params), "concurrent", rec)
    assert scheduler.last_mode == "concurrent"
    assert all(engine.threads == (1, 1) for engine in pair)
    for side in (0, 1):
        events = rec.side(side)
        assert events[-1] is results[side]
        assert isinstance(results[side], Finished) and results[side].reason in ("stop", "length")
        assert rec.text(side)
    # Both were streaming at the same time: each side's first delta came before the other side finished.
    finished_at = [max(t for s, e, t in rec.events if s == side) for side in (0, 1)]
    first_at = [min(t for s, e, t in rec.events if s == side and isinstance(e, TextDelta)) for side in (0, 1)]
    assert first_at[0] < finished_at[1] and first_at[1] < finished_at[0]


def test_sequential_round_runs_one_after_the_other_with_all_cores(pair: tuple[LocalEngine, LocalEngine]) -> None:
    rec = Recorder()
    scheduler = Scheduler(cores=2)
    params = ChatParams(seed=4, max_tokens=16)
    results = scheduler.run_pair(pair, (QUESTION, QUESTION), (params, params), "sequential", rec)
    assert all(isinstance(r, Finished) for r in results)
    assert all(engine.threads == (2, 2) for engine in pair)
    sides = [s for s, _, _ in rec.events]
    assert sides == sorted(sides), "every event of side 0 before any of side 1"


def test_cancel_stops_both_sides_promptly(pair: tuple[LocalEngine, LocalEngine]) -> None:
    for mode in ("concurrent", "sequential"):
        rec = Recorder()
        scheduler = Scheduler(cores=2)
        params = ChatParams(seed=9, max_tokens=400)
        out: list[tuple[Finished | Failed, Finished | Failed]] = []
        worker = threading.Thread(target=lambda s=scheduler, p=params, m=mode, r=rec, o=out: o.append(
            s.run_pair(pair, (STORY, STORY), (p, p), m, r)))  # type: ignore[misc]
        worker.start()
        assert rec.first_delta[0].wait(30)
        with rec.lock:
            at_cancel = [sum(isinstance(e, TextDelta) for s, e, _ in rec.events if s == side) for side in (0, 1)]
        scheduler.cancel()
        worker.join(60)
        assert not worker.is_alive()
        # "Promptly" in tokens, not seconds (this machine's speed must not decide the test): once cancel() returns,
        # each side may finish the token it was decoding, and nothing more.
        after = [sum(isinstance(e, TextDelta) for s, e, _ in rec.events if s == side) - at_cancel[side] for side in (0, 1)]
        assert max(after) <= 2, (mode, after)
        results = out[0]
        assert all(isinstance(r, Finished) and r.reason == "cancelled" for r in results), (mode, results)
        if mode == "sequential":
            assert rec.text(1) == "", "the second side never started"
            assert rec.side(1) == [results[1]]
    # The engines work normally afterwards.
    params = ChatParams(seed=4, max_tokens=8)
    results = Scheduler(cores=2).run_pair(pair, (QUESTION, QUESTION), (params, params), "auto")
    assert all(isinstance(r, Finished) and r.reason != "cancelled" for r in results)


def test_an_on_event_error_stops_the_round_and_reaches_the_caller(pair: tuple[LocalEngine, LocalEngine]) -> None:
    def broken(side: int, event: Event) -> None:
        if side == 0 and isinstance(event, TextDelta):
            raise RuntimeError("display bug")

    params = ChatParams(seed=4, max_tokens=300)
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="display bug"):
        Scheduler(cores=2).run_pair(pair, (STORY, STORY), (params, params), "concurrent", broken)
    assert time.perf_counter() - t0 < 20


def test_calibration_round_trip_fields(tmp_path: Path) -> None:
    cal = Calibration(cores=2, concurrent_s=3.0, sequential_s=3.0, measured_at="now")
    assert cal.best == "concurrent"


def test_sequential_runs_in_the_order_the_turn_drew(pair: tuple[LocalEngine, LocalEngine]) -> None:
    """The turn draws which side runs first (random per turn, independent of the sides); the runner follows it."""
    import random

    from arena.battle.pacing import Pacer
    from arena.battle.round import Round
    from arena.battle.runner import TurnRunner
    from arena.config.types import DisplayPolicy, Matchup, Sampling, Schedule

    seen = set()
    for seed in range(8):
        round_ = Round(Matchup("m", pair[0].model_id, pair[1].model_id), (Sampling(max_tokens=6),) * 2,
                       (pair[0].model_id, pair[1].model_id), DisplayPolicy.PACED, rng=random.Random(seed))
        messages = round_.start_turn("What is the capital of France?")
        order = round_.turns[-1].run_order
        if order in seen:
            continue
        seen.add(order)
        fed: list[int] = []

        class RecordingPacer(Pacer):
            def feed(self, side: int, text: str, now: float) -> None:
                fed.append(side)
                super().feed(side, text, now)

            def finish(self, side: int, now: float) -> None:
                fed.append(side)
                super().finish(side, now)

        runner = TurnRunner(pair, round_, RecordingPacer(DisplayPolicy.PACED), schedule=Schedule.SEQUENTIAL)
        runner.start(messages)
        runner.join(60)
        assert not runner.running
        first_end = fed.index(order[1])
        assert set(fed[:first_end]) == {order[0]} and set(fed[first_end:]) == {order[1]}, (order, fed)
    assert seen == {(0, 1), (1, 0)}
