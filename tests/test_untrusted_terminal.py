"""Hostile servers and configs cannot drive the terminal: the bytes the real TUI (under a pseudo-terminal) and the
real CLI (`python -m arena ...`) write never contain a server's or a YAML value's escape sequences.

The server (tests/support/hostile.py) answers with error bodies holding a title change (OSC 0), a clipboard write
(OSC 52), a colour (CSI 31m), an OSC 8 hyperlink and a bidi override, each with a marker word. A test passes when the
marker is on the terminal as visible text (ESC drawn as U+241B) and no forbidden byte sequence is, and, before the
vote, when the failed pane shows only the symmetric text.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


from tests.support.hostile import PAYLOAD, VISIBLE_ESC, HostileServer, arena_env, forbidden_in, pty_arena

WAIT_S = 120  # generous: the machine is shared; every wait ends as soon as its condition holds



def remote_config(tmp_path: Path, server: HostileServer) -> Path:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults:\n  display_policy: whole\n  schedule: concurrent\n  sampling: {max_tokens: 8}\n"
        "models:\n"
        f"  - {{id: bad, name: Bad, source: {{remote: {{base_url: '{server.url('bad')}', model: m, timeout_s: 10}}}}}}\n"
        f"  - {{id: good, name: Good, source: {{remote: {{base_url: '{server.url('good')}', model: m, timeout_s: 10}}}}}}\n"
        "matchups:\n  - {id: hostile, big: bad, small: good}\n",
        encoding="utf-8",
    )
    return cfg


def tui_argv(cfg: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "arena", "--config", str(cfg), "--db", str(db), "tui", "--matchup", "hostile",
            "--seed", "5"]


def test_tui_hostile_error_at_load_reaches_the_terminal_only_as_visible_text(tmp_path: Path) -> None:
    with HostileServer(fail_load=True) as server:
        cfg = remote_config(tmp_path, server)
        with pty_arena(tui_argv(cfg, tmp_path / "votes.db"), arena_env(str(tmp_path / "home"))) as term:
            # The load error is drawn in the status line and in a notification: its words, never its escapes.
            term.wait_for(b"PWNED", WAIT_S, "the load error on screen")
            term.wait_for(b"EVILBIDI", WAIT_S, "the whole load error on screen")
            assert any(r.startswith("GET /bad/v1/models") for r in server.requests)
    out = term.output
    assert forbidden_in(out) == [], forbidden_in(out)
    assert VISIBLE_ESC in out


def test_tui_hostile_error_mid_round_is_blind_before_the_vote_and_visible_text_after(tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    with HostileServer() as server:
        cfg = remote_config(tmp_path, server)
        with pty_arena(tui_argv(cfg, db), arena_env(str(tmp_path / "home"))) as term:
            term.wait_for(b"Type a prompt below", WAIT_S, "the first round")
            term.send(b"Say hi\r")
            term.wait_for(b"failed: the server answered with an error", WAIT_S, "the failed side's public error")
            term.wait_for(b"[n] discard", WAIT_S, "the failed-round bar")
            before_vote = term.output
            # Before the round is over: no word of the server's body, no URL; only the symmetric text.
            assert b"PWNED" not in before_vote and b"127.0.0.1" not in before_vote and b"HTTP 500" not in before_vote
            term.send(b"n")  # a failed round is not a vote: discard it, and its details are shown
            term.wait_for(b"Round discarded", WAIT_S, "the discard")
            term.wait_for(b"PWNED", WAIT_S, "the error detail in the reveal")
            term.wait_for(b"EVILBIDI", WAIT_S, "the whole error detail in the reveal")
    out = term.output
    assert forbidden_in(out) == [], forbidden_in(out)
    assert VISIBLE_ESC in out
    assert sqlite3.connect(db).execute("SELECT count(*) FROM battles").fetchone()[0] == 0  # nothing stored


def run_cli(args: list[str], env: dict[str, str], cfg: Path, db: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "arena", "--config", str(cfg), "--db", str(db), *args],
                          env=env, capture_output=True, timeout=WAIT_S)


def test_cli_output_never_carries_hostile_escapes(tmp_path: Path) -> None:
    env = arena_env(str(tmp_path / "home"))
    with HostileServer() as server:
        hostile_dir = tmp_path / f"dir{PAYLOAD.replace('/', '_')}"  # a file name holding every escape
        hostile_dir.mkdir()
        (hostile_dir / "m.gguf").write_bytes(b"NOT A GGUF FILE")
        hostile_url = f"http://127.0.0.1:{server.port}/v1/{PAYLOAD.replace(' ', '_')}"
        cfg = tmp_path / "models.yaml"
        cfg.write_text(  # JSON strings are YAML double-quoted scalars: \u001b escapes and all
            "version: 1\n"
            "models:\n"
            f"  - {{id: evil-name, name: {json.dumps(PAYLOAD)}, source: {{remote: {{base_url: {json.dumps(hostile_url)}, model: m}}}}}}\n"
            f"  - {{id: evil-file, name: x, source: {{path: {json.dumps(str(hostile_dir / 'm.gguf'))}}}}}\n"
            "matchups:\n  - {id: evil, big: evil-name, small: evil-file}\n",
            encoding="utf-8",
        )
        bad_cfg = tmp_path / "bad.yaml"
        bad_url = "ftp://" + PAYLOAD.replace(" ", "_")
        bad_cfg.write_text(
            f"version: 1\nmodels:\n  - {{id: m, name: m, source: {{remote: {{base_url: {json.dumps(bad_url)}, model: m}}}}}}\n",
            encoding="utf-8",
        )
        missing_cfg = tmp_path / "missing.yaml"
        missing_cfg.write_text(
            f"version: 1\nmodels:\n  - {{id: m, name: m, source: {{path: {json.dumps(str(hostile_dir / 'no.gguf'))}}}}}\n",
            encoding="utf-8",
        )
        db = tmp_path / "votes.db"
        runs = {
            "models --paths": run_cli(["models", "--paths"], env, cfg, db),
            "pull evil-name": run_cli(["pull", "evil-name"], env, cfg, db),
            "pull evil-file": run_cli(["pull", "evil-file"], env, cfg, db),
            "check missing.yaml": run_cli(["check", str(missing_cfg)], env, cfg, db),
            "check bad.yaml": run_cli(["check", str(bad_cfg)], env, cfg, db),
        }
    for name, proc in runs.items():
        both = proc.stdout + proc.stderr
        assert b"Traceback" not in both, (name, both[-2000:])
        assert forbidden_in(both) == [], (name, forbidden_in(both), both[-2000:])
        assert b"PWNED" in both and VISIBLE_ESC in both, (name, both[-2000:])  # shown, as visible text
    assert runs["pull evil-file"].returncode == 1 and runs["check bad.yaml"].returncode == 2
    assert runs["check missing.yaml"].returncode == 2


def test_cli_stats_with_hostile_categories_from_the_database(tmp_path: Path) -> None:
    from arena.records import BattleRecord, SideRecord, Vote
    from arena.store import VoteStore

    db = tmp_path / "votes.db"

    def side(model: str) -> SideRecord:
        return SideRecord(model_id=model, messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                          sampling={}, seeds=[1], timings=[{}], finish_reasons=["stop"])

    with VoteStore(db) as store:
        for outcome in (Vote.A, Vote.B, Vote.A):
            store.record_vote(BattleRecord(matchup_id="m", big_model="big", small_model="small", side_a=side("big"),
                                      side_b=side("small"), outcome=outcome, display_policy="paced", category=PAYLOAD), {})
    cfg = tmp_path / "models.yaml"
    cfg.write_text("version: 1\nmodels: []\n", encoding="utf-8")
    proc = run_cli(["stats"], arena_env(str(tmp_path / "home")), cfg, db)
    both = proc.stdout + proc.stderr
    assert proc.returncode == 0, both[-2000:]
    assert forbidden_in(both) == [] and b"PWNED" in both and VISIBLE_ESC in both, both[-2000:]
    # `arena export` is data: exact into a pipe, drawn through the sanitizer when stdout is a terminal.
    piped = run_cli(["export", "--format", "csv"], arena_env(str(tmp_path / "home")), cfg, db)
    assert piped.returncode == 0 and PAYLOAD.encode() in piped.stdout
    argv = [sys.executable, "-m", "arena", "--config", str(cfg), "--db", str(db), "export", "--format", "csv"]
    with pty_arena(argv, arena_env(str(tmp_path / "home"))) as term:
        term.wait_for(b"exported 3 votes", WAIT_S, "the export on the terminal")
    assert forbidden_in(term.output) == [] and b"PWNED" in term.output and VISIBLE_ESC in term.output


def test_load_error_notification_is_plain_sanitized_text(tmp_path: Path) -> None:
    """The toast shown when a matchup cannot load quotes the server: no escapes, and "[...]" is not Textual markup."""
    import asyncio

    from textual.widgets._toast import Toast

    from arena.config.loader import load_config
    from arena.tui.app import ArenaApp
    from arena.tui.screens.arena import ArenaScreen
    from tests.support.pilot import wait_for

    async def scenario(cfg: Path) -> None:
        app = ArenaApp(load_config(cfg), tmp_path / "votes.db", matchup_id="hostile", seed=1)
        async with app.run_test(size=(160, 45), notifications=True) as pilot:
            screen = app.screen
            assert isinstance(screen, ArenaScreen)
            await wait_for(pilot, lambda: list(app.screen.query(Toast)), 120, "the load-error notification")
            shown = " ".join(str(t.render()) for t in app.screen.query(Toast))
            assert "PWNED" in shown and "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
            assert "[@click=app.bell]MARKUP[/]" in shown  # literal: markup in a server's words is text

    with HostileServer(fail_load=True, extra="[@click=app.bell]MARKUP[/]") as server:
        asyncio.run(scenario(remote_config(tmp_path, server)))
