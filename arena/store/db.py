"""The SQLite connection: pragmas, explicit write transactions, and sqlite3 errors turned into StoreErrors.

Durability: WAL with synchronous=FULL. A vote is appended to the WAL and the WAL is fsynced before COMMIT returns, so a
vote the UI reported as saved survives kill -9 of the process *and* a power loss. (synchronous=NORMAL would already
survive kill -9, since a committed WAL frame sits in the OS page cache, which outlives the process; but a power loss could
roll back the last votes.) A fsync costs a few milliseconds and a person votes at most every few seconds, so FULL is free
where it matters. benchmarks/store.py measures the commit latency.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from arena.errors import StoreError

DEFAULT_TIMEOUT_S = 10.0  # how long a writer waits for another process's write transaction before giving up


def connect(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if missing) the DB at `path` with the arena pragmas. Raises StoreError."""
    if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):  # OFF would break the durability promise
        raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the folder {path.parent} for the vote database: {exc.strerror or exc}",
            "choose a writable location with --db FILE or the ARENA_DB environment variable",
        ) from exc
    try:
        # check_same_thread=False: the TUI records votes from a worker thread; VoteStore serializes access with a lock.
        # isolation_level=None: no implicit BEGINs; every write transaction is an explicit BEGIN IMMEDIATE (see write()).
        conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise translate(exc, path, "open") from exc
    try:
        # The first real read of the file: a non-database file fails here, not at connect().
        conn.execute("PRAGMA schema_version").fetchone()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"The vote database {path} could not be switched to WAL mode (got {mode!r})",
                "put the database on a local disk (WAL does not work on network file systems)",
            )
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, path, "open") from exc
    except StoreError:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def write(conn: sqlite3.Connection, path: Path, action: str) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed (and fsynced) when the block exits, rolled back on any error.

    BEGIN IMMEDIATE takes the write lock up front, so waiting for another writer goes through busy_timeout; a deferred
    BEGIN that later upgrades from read to write can fail at once with SQLITE_BUSY instead of waiting.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise translate(exc, path, action) from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, path, action) from exc
        raise


def translate(exc: sqlite3.Error | OSError, path: Path, action: str) -> StoreError:
    """A sqlite3 error as a StoreError that names the file, the cause and the fix."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = f"Could not {action} the vote database {path}"
    if "UNIQUE constraint failed: battles.uuid" in text:
        return StoreError(
            f"{where}: a vote with this uuid is already saved ({text})",
            "nothing to do: the vote was recorded earlier; a new round gets a new uuid",
        )
    if name.startswith("SQLITE_FULL") or "disk is full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return StoreError(
            f"{where}: the disk is full ({text}). Nothing was half-written: earlier votes are intact",
            "free some disk space (or move the database with --db / ARENA_DB) and vote again",
        )
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
        return StoreError(
            f"{where}: another process kept it locked for longer than the busy timeout ({text})",
            "close the other program writing to it (another arena, a sqlite3 shell in a transaction) and try again",
        )
    # "unable to open" on an existing file usually means the -wal/-shm files next to it cannot be created.
    cannot_open = name.startswith("SQLITE_CANTOPEN") or "unable to open" in text
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text or (cannot_open and _read_only(path)):
        return StoreError(
            f"{where}: the file or its folder is read-only ({text})",
            "make the file and its folder writable (the -wal and -shm files are created next to it), or use --db FILE",
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return StoreError(
            f"{where}: the file is not a valid SQLite database or is damaged ({text})",
            f"move {path} aside and start a new database, or try `sqlite3 {path} .recover | sqlite3 recovered.db`",
        )
    if cannot_open:
        return StoreError(
            f"{where}: the file cannot be opened ({text})",
            "check that the path exists, is a file (not a folder) and is writable, or use --db FILE",
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return StoreError(
            f"{where}: the disk reported an I/O error ({text}); the disk may be full, removed or failing",
            "check free space and the disk's health, then try again; earlier votes are in the committed part of the file",
        )
    return StoreError(f"{where}: {text}", "if it persists, report it with this message")


def _read_only(path: Path) -> bool:
    """The DB file or its folder cannot be written (permissions or a read-only mount; access() reports EROFS too)."""
    folder = path.parent if path.parent.exists() else None
    return (path.exists() and not os.access(path, os.W_OK)) or (folder is not None and not os.access(folder, os.W_OK))
