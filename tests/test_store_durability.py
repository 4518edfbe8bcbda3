"""Durability and contention with real processes: SIGKILL mid-write, concurrent writers, a full disk, a held lock."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.errors import StoreError
from arena.store import VoteStore
from arena.store.synthetic import FACTS, make_record

REPO = Path(__file__).resolve().parent.parent
LOAD_SECONDS = float(os.environ.get("ARENA_LOAD_SECONDS", "8"))


def _writer(db: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m arena.store.synthetic DB`: records votes, printing each uuid after record_vote returned."""
    return subprocess.Popen(
        [sys.executable, "-m", "arena.store.synthetic", str(db), *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _complete_lines(data: bytes) -> list[str]:
    """uuids whose whole line was printed (a line cut by the kill does not count as acknowledged)."""
    return data.decode().split("\n")[:-1]


def _db_state(db: Path) -> tuple[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        uuids = [r[0] for r in conn.execute("SELECT uuid FROM battles")]
        return integrity, uuids
    finally:
        conn.close()


@pytest.mark.slow
def test_every_acknowledged_vote_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    rng = random.Random(20250531)
    acknowledged: list[str] = []
    rounds = 6
    for r in range(rounds):
        proc = _writer(db, "--voter", f"round{r}", "--seed", str(r))
        assert proc.stdout is not None
        first = proc.stdout.readline()  # it is writing now
        assert first, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(rng.uniform(0.02, 0.7))  # a random point in its write loop
        os.kill(proc.pid, signal.SIGKILL)
        # Read through the same buffered reader as readline() (communicate() would skip what it already buffered).
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        acknowledged += _complete_lines(first + rest)

    integrity, stored = _db_state(db)
    assert integrity == "ok"
    assert len(acknowledged) > rounds * 5  # the writers really wrote
    assert set(acknowledged) <= set(stored), "a vote acknowledged before SIGKILL is missing"
    # At most one vote per round committed but not yet printed when the kill landed; never duplicates.
    assert len(stored) == len(set(stored))
    assert 0 <= len(stored) - len(acknowledged) <= rounds
    with VoteStore(db) as store:  # and the store opens and keeps working after the kills
        store.record_vote(make_record(0, random.Random(0)), FACTS)
        assert store.count() == len(stored) + 1


@pytest.mark.slow
def test_four_concurrent_writer_processes(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "votes.db"  # not created yet: the four race to create and migrate it
    procs = [_writer(db, "--voter", f"w{i}", "--seed", str(i), "--seconds", str(LOAD_SECONDS)) for i in range(4)]
    printed: dict[str, list[str]] = {}
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=LOAD_SECONDS + 120)
        assert proc.returncode == 0, err.decode()
        assert err == b""
        printed[f"w{i}"] = _complete_lines(out)
    everything = [u for uuids in printed.values() for u in uuids]
    assert all(len(uuids) > 10 for uuids in printed.values()), {k: len(v) for k, v in printed.items()}
    integrity, stored = _db_state(db)
    assert integrity == "ok"
    assert len(everything) == len(set(everything))
    assert sorted(stored) == sorted(everything)  # every vote present exactly once, nothing else
    with VoteStore(db) as store:
        for voter, uuids in printed.items():
            assert store.conn.execute("SELECT count(*) FROM battles WHERE voter = ?", (voter,)).fetchone()[0] == len(uuids)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs mounted for this test (needs root); skipped where mounting is not permitted."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {res.stderr.strip() or res.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill_disk(path: Path) -> None:
    with open(path, "wb", buffering=0) as fh:
        for chunk in (65536, 4096, 512, 1):
            block = b"\0" * chunk
            with contextlib.suppress(OSError):
                while True:
                    fh.write(block)


def test_full_disk_raises_store_error_and_keeps_earlier_votes(tiny_fs: Path) -> None:
    db = tiny_fs / "votes.db"
    rng = random.Random(11)
    saved: list[str] = []
    store = VoteStore(db)
    for i in range(10):
        rec = make_record(i, rng)
        store.record_vote(rec, FACTS)
        saved.append(rec.uuid)
    _fill_disk(tiny_fs / "filler")
    with pytest.raises(StoreError) as info:
        for i in range(10, 200):  # ~100 KB votes: the WAL must grow within a few of them
            rec = make_record(i, rng, answer_chars=50_000)
            store.record_vote(rec, FACTS)
            saved.append(rec.uuid)  # only reached when the vote was committed
    text = info.value.render()
    assert "disk is full" in text and "earlier votes are intact" in text and "Fix: free some disk space" in text
    # Freeing space is enough: the same store (the running app) records again without a restart.
    os.unlink(tiny_fs / "filler")
    rec = make_record(999, rng)
    store.record_vote(rec, FACTS)
    saved.append(rec.uuid)
    store.close()
    integrity, stored = _db_state(db)
    assert integrity == "ok"
    assert sorted(stored) == sorted(saved)


def test_read_only_filesystem_is_a_clear_error(tiny_fs: Path) -> None:
    db = tiny_fs / "votes.db"
    with VoteStore(db) as store:
        store.record_vote(make_record(0, random.Random(0)), FACTS)
    res = subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot remount read-only: {res.stderr.strip()}")
    with pytest.raises(StoreError, match="read-only") as info:
        with VoteStore(db) as store:
            store.record_vote(make_record(1, random.Random(1)), FACTS)
    assert "Fix:" in info.value.render()
    with pytest.raises(OSError) as os_info:  # sanity: the file system really refuses writes
        (tiny_fs / "x").write_bytes(b"x")
    assert os_info.value.errno == errno.EROFS


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO models (id, name, source, first_seen, last_seen) VALUES ('held', 'h', 's', 'x', 'x')")
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_held_by_another_process_times_out_with_store_error(tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    store = VoteStore(db, timeout=0.5)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        rec = make_record(0, random.Random(0))
        start = time.monotonic()
        with pytest.raises(StoreError, match="locked") as info:
            store.record_vote(rec, FACTS)
        waited = time.monotonic() - start
        assert 0.4 <= waited < 5, waited  # it waited for the busy timeout, then gave up
        assert "close the other program" in info.value.render()
    finally:
        holder.kill()
        holder.communicate()
    store.record_vote(rec, FACTS)  # the lock is gone (the holder's transaction died with it): the retry succeeds
    assert store.count() == 1
    assert "held" not in store.models()
    store.close()
