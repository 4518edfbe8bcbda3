"""The team's model servers for real: `python -m llama_cpp.server` on the SmolLM2 demo file, supervised (start, health,
restart after kill -9, bounded restarts, shutdown, no orphans when the team process is killed), and real rounds
through the gateway with the RemoteEngine, both sides at once as the app sends them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.engine.remote import RemoteEngine
from arena.engine.scheduler import Scheduler
from arena.engine.types import ChatParams, Event, Failed, Finished, TextDelta
from arena.errors import Public
from arena.team.backend import model_base_url
from arena.team.gateway import SERVER_DOWN, SERVER_STOPPED, SESSION_HEADER, VOTER_HEADER
from arena.team.runtime import TeamPlan, TeamRuntime
from arena.team.servers import ServerSpec, ServerStartError, State, Supervisor
from tests.support.team import wait_until

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
QUESTION = [{"role": "user", "content": "Name three colors."}]


def specs(smollm: Path) -> list[ServerSpec]:
    # Two "models" on the one small file: what matters here is the processes, not which weights they hold.
    return [ServerSpec("smol-a", smollm, n_ctx=512, n_threads=1), ServerSpec("smol-b", smollm, n_ctx=512, n_threads=1)]


@pytest.fixture
def team(smollm_path: Path, tmp_path: Path) -> Iterator[TeamRuntime]:
    plan = TeamPlan("pair", False, specs(smollm_path))
    events: list[str] = []
    runtime = TeamRuntime(plan, tmp_path / "logs", on_event=events.append, supervisor_options={"poll_s": 0.05})
    runtime.events = events  # type: ignore[attr-defined]
    with runtime:
        yield runtime


def engines(url: str, session: str = "s1", voter: str = "ann") -> tuple[RemoteEngine, RemoteEngine]:
    headers = {SESSION_HEADER: session, VOTER_HEADER: voter}
    pair = tuple(RemoteEngine(m, model_base_url(url, m), m, timeout_s=60, extra_headers=headers) for m in ("smol-a", "smol-b"))
    for engine in pair:
        engine.load()
    return pair  # type: ignore[return-value]


def play(pair: tuple[RemoteEngine, RemoteEngine], max_tokens: int = 16,
         on_event=None) -> tuple[Finished | Failed, Finished | Failed]:
    params = ChatParams(seed=3, max_tokens=max_tokens)
    return Scheduler().run_pair(pair, (QUESTION, QUESTION), (params, params), "concurrent", on_event)


def status(url: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{url}/team/status", timeout=30).read())


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")  # a zombie has exited
    except FileNotFoundError:
        return True


def test_a_real_round_through_the_gateway(team: TeamRuntime) -> None:
    url = team.gateway.url
    texts: dict[int, str] = {0: "", 1: ""}

    def collect(side: int, event: Event) -> None:
        if isinstance(event, TextDelta):
            texts[side] += event.text

    results = play(engines(url), on_event=collect)
    assert all(isinstance(r, Finished) for r in results), results
    assert texts[0].strip() and texts[1].strip()
    doc = status(url)
    assert doc["models"]["up"] == 2 and doc["requests"]["count"] == 2 and doc["sessions_seen"] == 1


def test_a_server_killed_with_9_is_restarted_and_reported_blind(team: TeamRuntime) -> None:
    sup = team.supervisor
    old = sup.pid("smol-a")
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: sup.state("smol-a") is not State.UP or sup.pid("smol-a") != old, "the crash to be seen")
    wait_until(lambda: sup.state("smol-a") is State.UP, "the restart")
    assert sup.pid("smol-a") != old
    results = play(engines(team.gateway.url))
    assert all(isinstance(r, Finished) for r in results), results
    doc = status(team.gateway.url)
    assert doc["models"]["restarts"] == 1 and doc["models"]["up"] == 2
    said = json.dumps(doc["models"]["events"]) + " ".join(team.events)  # type: ignore[attr-defined]
    assert "restarting" in said and "back up" in said
    assert "smol" not in said  # which model crashed is never said


def test_a_crash_mid_answer_fails_both_sides_alike(team: TeamRuntime) -> None:
    pair = engines(team.gateway.url)
    killed: list[bool] = []
    finished_before_kill: set[int] = set()

    def on_event(side: int, event: Event) -> None:
        if isinstance(event, Finished) and not killed:
            finished_before_kill.add(side)
        if isinstance(event, TextDelta) and side == 0 and not killed:
            killed.append(True)
            os.kill(team.supervisor.pid("smol-a"), signal.SIGKILL)  # type: ignore[arg-type]

    fa, fb = play(pair, max_tokens=400, on_event=on_event)
    assert isinstance(fa, Failed) and fa.error.message.endswith(SERVER_STOPPED), fa
    if 1 not in finished_before_kill:  # the other side was still answering: it fails the same way
        assert isinstance(fb, Failed) and fb.error.message.endswith(SERVER_STOPPED), fb
        assert fa.error.public == fb.error.public == Public.SERVER_ERROR
    wait_until(lambda: team.supervisor.state("smol-a") is State.UP, "the restart")


def test_restarts_are_bounded_then_the_server_is_down(smollm_path: Path, tmp_path: Path) -> None:
    plan = TeamPlan("pair", False, specs(smollm_path)[:1])
    with TeamRuntime(plan, tmp_path / "logs", supervisor_options={"max_restarts": 1, "poll_s": 0.05}) as team:
        sup = team.supervisor
        first = sup.pid("smol-a")
        os.kill(first, signal.SIGKILL)  # type: ignore[arg-type]
        wait_until(lambda: sup.state("smol-a") is State.UP and sup.pid("smol-a") != first, "the one restart")
        os.kill(sup.pid("smol-a"), signal.SIGKILL)  # type: ignore[arg-type]
        wait_until(lambda: sup.state("smol-a") is State.DOWN, "the server to be reported down")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{team.gateway.url}/m/smol-a/v1/models", timeout=30)
        assert e.value.code == 503 and SERVER_DOWN in e.value.read().decode()
        doc = status(team.gateway.url)
        assert doc["models"]["down"] == 1 and "smol" not in json.dumps(doc["models"])


def test_stop_ends_every_server(smollm_path: Path, tmp_path: Path) -> None:
    sup = Supervisor(specs(smollm_path), tmp_path / "logs").start()
    pids = sup.pids()
    assert len(pids) == 2
    sup.stop()
    assert all(gone(pid) for pid in pids)
    assert all(sup.state(m) is State.STOPPED for m in ("smol-a", "smol-b"))


def test_servers_die_when_the_team_process_is_killed(smollm_path: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, threading
        from pathlib import Path
        from arena.team.servers import ServerSpec, Supervisor
        sup = Supervisor([ServerSpec("smol-a", Path({str(smollm_path)!r}), n_ctx=512)], Path({str(tmp_path / 'logs')!r}))
        sup.start()
        print(*sup.pids(), flush=True)
        threading.Event().wait()
    """)
    team = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env=os.environ | {"PYTHONPATH": str(REPO)})
    try:
        line = team.stdout.readline()  # type: ignore[union-attr]
        pids = [int(p) for p in line.split()]
        assert pids, "the team process printed no server pids"
        assert not any(gone(p) for p in pids)
        team.kill()  # SIGKILL: no atexit, no signal handler runs in the team process
        team.wait()
        wait_until(lambda: all(gone(p) for p in pids), "the servers to die with the team process")
    finally:
        if team.poll() is None:
            team.kill()


def test_a_server_that_cannot_start_shows_the_end_of_its_log(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"this is not a GGUF file\n" * 10)
    with pytest.raises(ServerStartError) as e:
        Supervisor([ServerSpec("broken", bad, n_ctx=512)], tmp_path / "logs").start()
    text = e.value.render()
    assert "'broken'" in text and "exited with code" in text and str(tmp_path / "logs" / "broken.log") in text
    assert "arena: starting on port" in text or "Traceback" in text or "error" in text.lower()
