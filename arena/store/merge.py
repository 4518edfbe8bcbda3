"""`arena merge`: copy votes from another arena DB (another machine, another person) into this one, idempotently."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from arena.errors import StoreError
from arena.store import migrations
from arena.store.columns import MODEL_COLUMNS, VOTE_COLUMNS

if TYPE_CHECKING:
    from arena.store.votes import VoteStore

_BATCH = 1000
_NOT_ARENA_FIX = "pass the votes.db of another Quant Arena installation (see `arena --help` for --db and ARENA_DB)"


@dataclass
class MergeResult:
    added: int = 0  # votes copied
    skipped: int = 0  # votes already here (same uuid)
    models_added: int = 0
    models_differing: list[str] = field(default_factory=list)  # same id, different file fingerprint: kept ours


def _open_other(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"Cannot merge {path}: there is no such file", "check the path of the other votes.db")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Cannot merge {path}: it is not a Quant Arena vote database ({exc})", _NOT_ARENA_FIX) from exc
    if app_id != migrations.APPLICATION_ID:
        conn.close()
        raise StoreError(f"Cannot merge {path}: it is an SQLite file but not a Quant Arena vote database", _NOT_ARENA_FIX)
    version = migrations.user_version(conn)
    if version > migrations.LATEST:
        conn.close()
        raise StoreError(
            f"Cannot merge {path}: it has schema version {version}, from a newer Quant Arena (this one knows {migrations.LATEST})",
            "upgrade Quant Arena, or merge the other way round (`arena --db OTHER merge THIS`)",
        )
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def merge_into(store: VoteStore, other_path: Path) -> MergeResult:
    """Copy the other DB's models and votes in one transaction: all of them or (on error) none."""
    if other_path.exists() and store.path.exists() and os.path.samefile(other_path, store.path):
        raise StoreError(f"Cannot merge {other_path} into itself", "pass the other database's path")
    other = _open_other(other_path)
    result = MergeResult()
    try:
        # An older other DB lacks later columns (e.g. checks_*): copy what it has, the rest stays NULL.
        vote_cols = [c for c in VOTE_COLUMNS if c in set(_columns(other, "battles"))]
        insert_vote = (
            f"INSERT OR IGNORE INTO battles ({', '.join(vote_cols)}) VALUES ({', '.join('?' * len(vote_cols))})"
        )
        # Keep our facts, fill in what we lack, widen first/last seen.
        merge_model = (
            f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) VALUES ({', '.join('?' * len(MODEL_COLUMNS))}) "
            "ON CONFLICT(id) DO UPDATE SET "
            "name = iif(source = 'unknown', excluded.name, name), source = iif(source = 'unknown', excluded.source, source), "
            + ", ".join(f"{c} = coalesce({c}, excluded.{c})" for c in MODEL_COLUMNS[3:-3])
            + ", first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)"
        )
        with store.transaction(f"merge {other_path} into") as conn:
            ours = dict(conn.execute("SELECT id, fingerprint FROM models").fetchall())
            for row in other.execute(f"SELECT {', '.join(MODEL_COLUMNS)} FROM models"):
                model_id, fingerprint = row[0], row[4]
                if model_id not in ours:
                    result.models_added += 1
                elif fingerprint and ours[model_id] and fingerprint != ours[model_id]:
                    result.models_differing.append(model_id)
                conn.execute(merge_model, row)
            cursor = other.execute(f"SELECT {', '.join(vote_cols)} FROM battles ORDER BY tstamp, uuid")
            while batch := cursor.fetchmany(_BATCH):
                before = conn.total_changes
                conn.executemany(insert_vote, batch)
                added = conn.total_changes - before
                result.added += added
                result.skipped += len(batch) - added
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Cannot merge {other_path}: reading it failed ({exc})", _NOT_ARENA_FIX) from exc
    finally:
        other.close()
    return result
