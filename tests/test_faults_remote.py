"""A misbehaving remote server on one side of a real round: the other side's answer still arrives, the round closes
with a clear error on the bad side, and it cannot be voted (a failure is not a loss): retry it or discard it.

Engine-level transport faults (stall, disconnect, garbage, non-JSON, HTTP errors, cancel) are in
test_engine_remote.py; these tests add what a person sees: the battle, the TUI, the stored vote.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from arena.battle.pacing import Pacer
from arena.records import Vote
from arena.battle.round import Round
from arena.battle.runner import TurnRunner
from arena.battle.session import load_contenders, save_vote
from arena.config.loader import load_config
from arena.config.types import Config, DisplayPolicy, Schedule
from arena.store import VoteStore
from tests.support.pilot import wait_for
from tests.support.server import ScriptedServer, sse_chunk, start_stream

TIMEOUT_S = 1.0
_release = threading.Event()  # set at teardown so stalled handler threads end


def stall_mid_answer(h: BaseHTTPRequestHandler) -> None:
    start_stream(h)
    h.wfile.write(sse_chunk("Hel"))
    h.wfile.flush()
    _release.wait(300)


def stall_before_headers(h: BaseHTTPRequestHandler) -> None:
    _release.wait(300)


def disconnect_mid_answer(h: BaseHTTPRequestHandler) -> None:
    start_stream(h)
    h.wfile.write(sse_chunk("Hello") + sse_chunk(" wor"))


def garbage(h: BaseHTTPRequestHandler) -> None:
    start_stream(h, "text/plain")
    h.wfile.write(b"\x00\xff\xfe garbage \x1b[2J\n" * 50)


FAULTS: dict[str, tuple[Callable[[BaseHTTPRequestHandler], None], str]] = {
    "stall-mid-answer": (stall_mid_answer, f"stopped sending for {TIMEOUT_S:g} s mid-answer"),
    "stall-before-headers": (stall_before_headers, f"did not answer within {TIMEOUT_S:g} s"),
    "disconnect": (disconnect_mid_answer, "closed the connection before the answer was finished"),
    "garbage": (garbage, "did not answer with an event stream"),
}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    _release.clear()
    with ScriptedServer() as s:
        yield s
        _release.set()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, smollm_path: Path):  # type: ignore[no-untyped-def]
    """One scripted server and one loaded matchup (remote `far` vs real SmolLM2 `near`) shared by the fault cases."""
    _release.clear()
    with ScriptedServer() as s:
        config = config_with_remote(tmp_path_factory.mktemp("mixed"), s.base_url, smollm_path)
        contenders = load_contenders(config, "mixed")  # GET /models answers: the faults are in the chat stream
        try:
            yield s, config, contenders
        finally:
            _release.set()
            contenders.unload()


def config_with_remote(tmp_path: Path, base_url: str, smollm_path: Path, *, max_tokens: int = 12) -> Config:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults:\n  display_policy: paced\n  schedule: concurrent\n"
        f"  sampling: {{temperature: 0.7, max_tokens: {max_tokens}}}\n"
        "models:\n"
        f"  - {{id: far, name: Far Away, source: {{remote: {{base_url: '{base_url}', model: m, timeout_s: {TIMEOUT_S}}}}}}}\n"
        f"  - {{id: near, name: Near, n_ctx: 512, n_threads: 1, source: {{path: '{smollm_path}'}}}}\n"
        "matchups:\n  - {id: mixed, big: far, small: near}\n",
        encoding="utf-8",
    )
    return load_config(cfg)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_faulty_remote_side_fails_clearly_and_the_round_cannot_be_voted(fault: str, mixed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, config, contenders = mixed
    behaviour, words = FAULTS[fault]
    server.behaviour = behaviour
    matchup = config.matchups["mixed"]
    round_ = Round.new(matchup, {m: config.sampling_for(m) for m in ("far", "near")}, DisplayPolicy.PACED,
                       rng=random.Random(3))
    messages = round_.start_turn("Say hello.")
    runner = TurnRunner(contenders.pair(round_), round_, Pacer(DisplayPolicy.PACED), schedule=Schedule.CONCURRENT)
    t0 = time.monotonic()
    runner.start(messages)
    runner.join(120)
    assert not runner.running
    sides = {round_.models[i]: round_.turns[-1].sides[i] for i in (0, 1)}
    far, near = sides["far"], sides["near"]
    assert far.reason == "error" and far.error is not None and words in far.error, far.error
    assert "\n" not in far.error and "Traceback" not in far.error
    assert near.error is None and near.reason in ("stop", "length") and near.text.strip()
    # A stalled side gives up after its 1 s timeout: without it the round would wait for the 300 s stall (join(120)).
    assert time.monotonic() - t0 < 120
    # A server outage must not become "near wins": no outcome can be recorded for this round.
    assert round_.failed_sides == (round_.models.index("far"),) and not round_.can_vote
    with VoteStore(tmp_path / "votes.db") as store:
        for outcome in Vote:
            with pytest.raises(RuntimeError, match="voting is not open"):
                save_vote(store, round_, outcome, contenders.facts)
        assert store.count() == 0


@pytest.mark.slow
def test_tui_round_with_a_stalling_remote_shows_the_other_answer_and_offers_retry_or_discard(
    server: ScriptedServer, smollm_path: Path, tmp_path: Path
) -> None:
    from textual.widgets import Static

    from arena.tui.app import ArenaApp
    from arena.tui.screens.arena import ArenaScreen
    from arena.tui.widgets.answer_pane import AnswerPane
    from arena.tui.widgets.stream_view import StreamView

    server.behaviour = stall_mid_answer
    config = config_with_remote(tmp_path, server.base_url, smollm_path)
    db = tmp_path / "votes.db"

    async def scenario() -> None:
        app = ArenaApp(config, db, matchup_id="mixed", seed=11)
        async with app.run_test(size=(150, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.round is not None, 60, "the models to load")
            await pilot.click("#prompt")
            await pilot.press(*"Say hello.", "enter")
            bar_text = lambda: str(screen.query_one("#vote-bar", Static).render())  # noqa: E731
            await wait_for(pilot, lambda: "[n] discard" in bar_text(), 90, "the turn to end with a failed side")
            panes = (screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane))
            far = screen.round.models.index("far")
            near_pane, far_pane = panes[1 - far], panes[far]
            assert near_pane.query_one(StreamView).text == screen.round.turns[-1].sides[1 - far].text != ""
            shown_errors = " ".join(str(s.render()) for s in far_pane.query(Static) if "pane-error" in s.classes)
            # Before the vote only the symmetric text: the detail would mark this pane as the remote one.
            assert shown_errors == f"Side {'AB'[far]} failed: the server stopped answering"
            assert not any("pane-error" in s.classes for s in near_pane.query(Static))
            # No vote is offered: the bar says why, and what to do instead.
            assert not screen.voting_open and screen.round.failed_sides == (far,)
            bar = str(screen.query_one("#vote-bar", Static).render())
            assert f"side {'AB'[far]} failed" in bar and "[ctrl+r] retry" in bar and "[n] discard" in bar
            assert "[1] A better" not in bar and "far" not in bar.lower()
            assert far_pane.query_one(StreamView).text == "Hel"  # what arrived before the stall is shown as it was
            await pilot.press("1" if far == 1 else "2", "3", "4")  # the near (working) side would "win": refused
            await pilot.pause(0.2)
            assert screen.round.voted is None
            rounds = screen.round_no
            await pilot.press("n")  # discard: one press, nothing to lose; no vote can follow, so the details show now
            await wait_for(pilot, lambda: any("reveal" in s.classes for s in far_pane.query(Static)), 120, "the reveal")
            revealed = " ".join(str(s.render()) for s in far_pane.query(Static) if "reveal" in s.classes)
            assert "stopped sending for 1 s mid-answer" in revealed  # the detail comes once the round is over
            assert "discarded" in str(screen.query_one("#vote-bar", Static).render())
            await pilot.press("n")
            await wait_for(pilot, lambda: screen.round_no == rounds + 1, 120, "a new round")

    asyncio.run(scenario())
    assert sqlite3.connect(db).execute("SELECT count(*) FROM battles").fetchone()[0] == 0
