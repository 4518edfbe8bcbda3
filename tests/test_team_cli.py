"""`arena serve --team`: what it refuses before loading anything (port, ids, files, memory, packages), what each browser
session runs, and the real command started and stopped with SIGTERM (web page up, gateway up, servers gone after)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from arena.cli.cmd_tui import session_argv
from arena.cli.main import build_parser, main
from arena.config.loader import load_config
from arena.errors import ArenaError, MemoryRefused
from arena.models.backend import cpu_threads
from arena.team import runtime
from arena.team.runtime import check_server_deps, plan_team
from tests.support.server import free_port
from tests.support.team import wait_until

REPO = Path(__file__).resolve().parent.parent


def test_each_session_runs_the_tui_against_the_gateway_with_the_serve_options() -> None:
    args = build_parser().parse_args(["--db", "v.db", "serve", "--team", "--matchup", "demo", "--voter", "ann",
                                      "--lock-stats", "--policy", "whole"])
    argv = session_argv(args, team_gateway="http://127.0.0.1:5555", matchup="demo", ladder=None)
    tail = argv[argv.index("tui"):]
    assert argv[argv.index("--db") + 1] == "v.db"
    assert tail[tail.index("--team-gateway") + 1] == "http://127.0.0.1:5555"
    assert tail[tail.index("--voter") + 1] == "ann" and tail[tail.index("--matchup") + 1] == "demo"
    assert "--lock-stats" in tail and tail[tail.index("--policy") + 1] == "whole"
    # The session side accepts the gateway option (hidden from --help).
    parsed = build_parser().parse_args(["tui", "--team-gateway", "http://127.0.0.1:5555"])
    assert parsed.team_gateway == "http://127.0.0.1:5555"


def test_a_taken_port_is_refused_before_anything_loads(demo_config_path: Path, capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code = main(["--config", str(demo_config_path), "serve", "--team", "--matchup", "demo", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2 and f"Port {port}" in err and "--port" in err


def test_a_model_not_on_disk_names_arena_pull(tmp_path: Path, smollm_path: Path, capsys) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - {id: gone, source: {repo: example-org/never-downloaded-GGUF, file: never-Q2_K.gguf}}\n"
        f'  - {{id: smol, source: {{path: "{smollm_path}"}}}}\n'
        "matchups:\n  - {id: m, big: gone, small: smol}\n", encoding="utf-8")
    code = main(["--config", str(cfg), "serve", "--team", "--matchup", "m", "--port", str(free_port())])
    err = capsys.readouterr().err
    assert code == 1 and "'gone'" in err and "arena pull m" in err and "Traceback" not in err


def test_memory_is_checked_once_for_the_models_the_team_starts(demo_config) -> None:
    with pytest.raises(MemoryRefused) as e:
        plan_team(demo_config, matchup="demo", available=10 * 2**20)
    assert "gemma3-270m" in e.value.message and "smollm2-135m" in e.value.message
    plan = plan_team(demo_config, matchup="demo", available=10 * 2**20, force=True)
    assert plan.memory_note and [s.model_id for s in plan.local] == ["gemma3-270m", "smollm2-135m"]
    # Two local models, one round at a time, both sides at once: each server gets half the cores.
    assert all(s.n_threads == max(1, cpu_threads() // 2) for s in plan.local)


def test_remote_models_are_proxied_not_started(tmp_path: Path, smollm_path: Path) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - {id: far, source: {remote: {base_url: 'http://10.0.0.9:8080/v1', model: big-one, api_key_env: ARENA_T_KEY}}}\n"
        f'  - {{id: smol, source: {{path: "{smollm_path}"}}}}\n'
        "matchups:\n  - {id: m, big: far, small: smol}\n", encoding="utf-8")
    config = load_config(cfg)
    with pytest.raises(ArenaError, match="ARENA_T_KEY"):
        plan_team(config, matchup="m", environ={})
    plan = plan_team(config, matchup="m", environ={"ARENA_T_KEY": "k"})
    assert [s.model_id for s in plan.local] == ["smol"]
    assert plan.remote["far"].base_url == "http://10.0.0.9:8080/v1" and plan.remote["far"].model == "big-one"
    assert plan.remote["far"].api_key == "k"


def test_missing_server_packages_give_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    check_server_deps()  # this environment has them
    monkeypatch.setitem(runtime.SERVER_DEPS, "arena_no_such_module_here", "no-such-package")
    with pytest.raises(ArenaError) as e:
        check_server_deps()
    text = e.value.render()
    assert "no-such-package" in text and "quant-arena[serve]" in text


@pytest.mark.slow
def test_serve_team_starts_everything_and_sigterm_stops_everything(demo_config_path: Path, tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena", "--config", str(demo_config_path), "--db", str(tmp_path / "v.db"),
         "serve", "--team", "--matchup", "demo", "--port", str(port), "--voter", "dan"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env, text=True, start_new_session=True)
    lines: list[str] = []

    def read() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_until(lambda: any("voters open" in x for x in lines) or proc.poll() is not None, "the team to start")
        assert proc.poll() is None, "".join(lines)
        gateway = re.search(r"gateway (http://127\.0\.0\.1:\d+)", "".join(lines)).group(1)  # type: ignore[union-attr]
        status = json.loads(urllib.request.urlopen(f"{gateway}/team/status", timeout=30).read())
        assert status["models"]["up"] == 2 and status["served"] == ["gemma3-270m", "smollm2-135m"]
        wait_until(lambda: _web_page(port), "the web page")
        servers = _descendants(proc.pid)
        assert len(servers) == 2, servers
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) == 0, "".join(lines)
        wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in servers), "the model servers to stop")
        assert any("stopped" in x for x in lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _web_page(port: int) -> bool:
    try:
        return b"<html" in urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().lower()
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found.append(child)
            found += _descendants(child)
    return found


def test_a_ladder_leaves_out_models_not_on_disk_and_sessions_follow_what_is_served(
        tmp_path: Path, smollm_path: Path, gemma_path: Path) -> None:
    from arena.team.backend import ServedBackend
    from arena.team.gateway import Gateway, Route

    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - {id: absent, source: {repo: example-org/never-downloaded-GGUF, file: never-Q2_K.gguf}}\n"
        f'  - {{id: smol, source: {{path: "{smollm_path}"}}}}\n'
        f'  - {{id: gemma, chat_format: gemma, source: {{path: "{gemma_path}"}}}}\n'
        "matchups: []\nladders:\n  - {id: lad, models: [absent, smol, gemma]}\n", encoding="utf-8")
    config = load_config(cfg)
    plan = plan_team(config, ladder="lad")
    assert plan.ladder and plan.skipped == ["absent"] and plan.model_ids == ["smol", "gemma"]
    # A session asks the gateway what it serves: a model the team did not start is not offered, even if its file is
    # on this machine.
    with Gateway(lambda _id: Route("http://127.0.0.1:9/v1", "x"), ["smol"]) as gw:
        backend = ServedBackend(config, gw.url, voter=lambda: "ann")
        assert backend.is_present(config.model("smol")) and not backend.is_present(config.model("gemma"))
        assert backend.preflight([config.model("smol"), config.model("gemma")]) is None
        assert backend.facts_for(config.model("smol")).bits_per_weight  # from the file, for the reveal
        headers = backend.headers()
        assert headers["X-Arena-Voter"] == "ann" and len(headers["X-Arena-Session"]) == 16
        # A name is a user's text: one line of ASCII on the wire (the gateway decodes it; it is never shown).
        odd = ServedBackend(config, gw.url, voter=lambda: "Zoë\r\nX-Evil: 1").headers()["X-Arena-Voter"]
        assert odd == "Zo%C3%AB%0D%0AX-Evil%3A%201"


def test_browsers_on_other_machines_get_a_reachable_address() -> None:
    from arena.cli.cmd_tui import public_url

    parse = build_parser().parse_args
    assert public_url(parse(["serve", "--team", "--port", "8123"])) == "http://127.0.0.1:8123"
    everywhere = public_url(parse(["serve", "--team", "--host", "0.0.0.0", "--port", "8123"]))
    assert "0.0.0.0" not in everywhere and everywhere.endswith(":8123")  # the page's websocket URL must be reachable
    given = parse(["serve", "--team", "--host", "0.0.0.0", "--public-url", "https://arena.example.org/"])
    assert public_url(given) == "https://arena.example.org"
