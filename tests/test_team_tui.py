"""A team session for real: the two demo models in their own llama_cpp.server processes behind the gateway, the app
in team mode (`team_gateway=`) playing a round, waiting its turn behind another session (same words on both panes),
and voting; the vote row carries the voter. And a real `arena tui --team-gateway` process: llama.cpp never loads in
it."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.engine.remote import RemoteEngine
from arena.engine.types import ChatParams, Finished
from arena.team.backend import ServedBackend, model_base_url
from arena.team.gateway import SESSION_HEADER, VOTER_HEADER
from arena.team.runtime import TeamRuntime, plan_team
from arena.tui.app import ArenaApp
from arena.tui.screens.arena import ArenaScreen
from arena.tui.widgets.answer_pane import AnswerPane
from tests.support.pilot import spy_notifications, wait_for
from tests.support.team import start_command, stop_command

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_team(demo_config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRuntime]:
    # A long grace: another session's lease, once it sent one of its two requests, lasts until its second one has run,
    # which lets the test hold the queue without timing anything.
    plan = plan_team(demo_config, matchup="demo")
    with TeamRuntime(plan, tmp_path_factory.mktemp("team-logs"), grace_s=3600) as team:
        yield team


def other_session_request(url: str, model_id: str) -> None:
    engine = RemoteEngine(model_id, model_base_url(url, model_id), model_id, timeout_s=120,
                          extra_headers={SESSION_HEADER: "other-session", VOTER_HEADER: "bob"})
    events = list(engine.chat([{"role": "user", "content": "Hi"}], ChatParams(seed=1, max_tokens=4)))
    assert isinstance(events[-1], Finished), events[-1]


def test_a_team_session_waits_its_turn_plays_a_round_and_votes(demo_config, demo_team: TeamRuntime,
                                                                tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    url = demo_team.gateway.url

    async def scenario() -> None:
        app = ArenaApp(demo_config, db, matchup_id="demo", seed=7, voter="alice", team_gateway=url)
        assert isinstance(app.backend, ServedBackend)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: screen.contenders is not None and screen.round is not None, 120, "the health checks")
            assert screen.round is not None
            pane_a, pane_b = screen.query_one("#pane-a", AnswerPane), screen.query_one("#pane-b", AnswerPane)

            # Another voter's round holds the lease (one of its two sides has run, the other is still to come).
            await asyncio.to_thread(other_session_request, url, "smollm2-135m")
            await pilot.click("#prompt")
            await pilot.press(*"Name three primary colors.")
            await pilot.press("enter")
            waiting = "waiting: 1 round ahead of yours"
            await wait_for(pilot, lambda: str(pane_a.border_subtitle) == waiting == str(pane_b.border_subtitle), 60,
                           "both panes to show the same place in the queue")
            assert screen.round.turns[-1].sides[0].text == screen.round.turns[-1].sides[1].text == ""

            await asyncio.to_thread(other_session_request, url, "gemma3-270m")  # its second side: its round is over
            await wait_for(pilot, lambda: screen.voting_open, 240, "both answers")
            answers = [screen.round.turns[-1].sides[s].text for s in (0, 1)]
            assert all(a.strip() for a in answers), answers
            await pilot.press("1")
            await wait_for(pilot, lambda: screen.round.voted is not None, 120, "the vote to be saved")
            await pilot.pause(0.2)
            # The reveal still has the quant facts: they come from the files on this machine, not from the servers.
            revealed = " ".join(str(s.render()) for pane in (pane_a, pane_b) for s in pane.query("Static"))
            assert "bits/weight" in revealed

    asyncio.run(scenario())
    rows = sqlite3.connect(db).execute("SELECT voter, model_a, model_b, outcome FROM battles").fetchall()
    assert len(rows) == 1 and rows[0][0] == "alice" and rows[0][3] == "A"
    assert {rows[0][1], rows[0][2]} == {"gemma3-270m", "smollm2-135m"}
    status = demo_team.gateway.status()
    assert status["requests"]["queued"] >= 2  # both sides of alice's round waited for bob's


def test_a_team_session_process_never_loads_llama_cpp(demo_config_path: Path, demo_team: TeamRuntime,
                                                      tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "arena", "--config", str(demo_config_path), "--db", str(tmp_path / "v.db"), "tui",
            "--matchup", "demo", "--voter", "carol", "--team-gateway", demo_team.gateway.url]
    app = start_command(argv, tmp_path)
    try:
        app.wait_for_output(b"Type a prompt below", 120)
        maps = Path(f"/proc/{app.proc.pid}/maps").read_text()
        assert "libllama" not in maps and "llama_cpp" not in maps and "libggml" not in maps
        rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{app.proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:"))
        print(f"team session RSS: {rss_kb / 1024:.0f} MiB")  # measured for the README; no bound asserted here
    finally:
        stop_command(app)


def test_team_health_notices_say_what_happened_and_never_which_model() -> None:
    from arena.team.backend import TeamHealth

    ok = TeamHealth(restarting=0, down=0, restarts=0)
    crashed = TeamHealth(restarting=1, down=0, restarts=1)
    back = TeamHealth(restarting=0, down=0, restarts=1)
    gone = TeamHealth(restarting=0, down=1, restarts=3)
    assert ok.notice(None) is None  # the first look sets the baseline
    assert back.notice(None) is None  # restarts before this session began are not news
    assert gone.notice(None) is not None and gone.notice(None)[1]  # type: ignore[index]  # a server already down is
    assert ok.notice(ok) is None
    crash_text, crash_is_error = crashed.notice(ok)  # type: ignore[misc]
    assert crash_is_error and "restarted" in crash_text
    back_text, back_is_error = back.notice(crashed)  # type: ignore[misc]
    assert not back_is_error and "running again" in back_text
    assert back.notice(back) is None
    down_text, _ = gone.notice(back)  # type: ignore[misc]
    assert "down" in down_text and "arena serve --team" in down_text
    # A crash and restart between two looks (restarting back to 0, restarts up) is still told.
    assert TeamHealth(restarting=0, down=0, restarts=2).notice(back) is not None
    for text in (crash_text, back_text, down_text):
        assert "gemma" not in text.lower() and "smol" not in text.lower()


def test_every_team_session_is_told_when_a_model_server_crashes(demo_config, tmp_path: Path) -> None:
    """A session that is not answering (here: on the picker) still learns that a model server of the team crashed and
    when it is back, from the real gateway's /team/status (its server counts scripted by the test)."""
    from arena.team.gateway import Gateway

    counts: dict[str, int] = {"total": 2, "up": 2, "restarting": 0, "down": 0, "restarts": 0}
    asked = threading.Event()

    def status() -> dict[str, int]:
        asked.set()
        return dict(counts)

    def no_route(model_id: str):  # type: ignore[no-untyped-def]
        raise KeyError(model_id)

    gateway = Gateway(no_route, ["gemma3-270m-q4_k_m", "smollm2-135m-q4_1"], status=status)
    gateway.start()
    try:
        async def scenario() -> None:
            app = ArenaApp(demo_config, tmp_path / "votes.db", voter="carol", team_gateway=gateway.url)
            app.team_health_every_s = 0.05
            severities: list[str] = []
            seen = spy_notifications(app, severities)
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_for(pilot, asked.is_set, 120, "the first look at the team's health")
                await wait_for(pilot, lambda: app._team_health is not None, 120, "the baseline")
                counts.update(up=1, restarting=1, restarts=1)
                await wait_for(pilot, lambda: any("crashed" in m for m in seen), 120, "the crash notice")
                counts.update(up=2, restarting=0)
                await wait_for(pilot, lambda: any("running again" in m for m in seen), 120, "the recovery notice")
            assert [sev for m, sev in zip(seen, severities) if "crashed" in m] == ["error"]  # told once, as an error

        asyncio.run(scenario())
    finally:
        gateway.close()
