"""Numbered schema migrations, tracked in PRAGMA user_version.

Migration N upgrades a version N-1 database in place, in one transaction together with the user_version bump, so a crash
mid-upgrade leaves the old version intact. Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from arena.errors import StoreError
from arena.store import db as dbmod

if TYPE_CHECKING:  # imported when a migration runs: sqlite-utils imports pandas and numpy when they are installed
    import sqlite_utils  # (0.4 s here), which every start of the TUI paid for a database that is already up to date

# PRAGMA application_id marks the file as an arena vote DB ("QARN"), so `arena merge` and --db can refuse other files.
APPLICATION_ID = 0x5141524E

_V1_SCHEMA = """
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    file_name TEXT,
    fingerprint TEXT,
    quant_type TEXT,
    n_params INTEGER,
    bits_per_weight REAL,
    file_size INTEGER,
    architecture TEXT,
    context_length INTEGER,
    requantized INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE battles (
    uuid TEXT PRIMARY KEY,
    tstamp TEXT NOT NULL,                 -- UTC, ISO 8601 with milliseconds: string order is time order
    matchup_id TEXT NOT NULL,
    model_a TEXT NOT NULL REFERENCES models(id),   -- left pane
    model_b TEXT NOT NULL REFERENCES models(id),   -- right pane
    big_model TEXT NOT NULL REFERENCES models(id),
    small_model TEXT NOT NULL REFERENCES models(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('A', 'B', 'tie', 'both_bad')),
    winner_model TEXT,                    -- NULL for tie / both_bad
    display_policy TEXT NOT NULL,
    identity_leak INTEGER NOT NULL DEFAULT 0,
    leak_terms TEXT NOT NULL DEFAULT '[]',
    category TEXT NOT NULL DEFAULT 'uncategorized',
    suite_id TEXT,
    prompt_id TEXT,
    voter TEXT,
    app_version TEXT NOT NULL DEFAULT '',
    conversation_a TEXT NOT NULL,
    sampling_a TEXT NOT NULL,
    seeds_a TEXT NOT NULL,
    timings_a TEXT NOT NULL,
    finish_reasons_a TEXT NOT NULL,
    stopped_a INTEGER NOT NULL DEFAULT 0,
    conversation_b TEXT NOT NULL,
    sampling_b TEXT NOT NULL,
    seeds_b TEXT NOT NULL,
    timings_b TEXT NOT NULL,
    finish_reasons_b TEXT NOT NULL,
    stopped_b INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_battles_matchup ON battles (matchup_id, tstamp);
CREATE INDEX idx_battles_prompt ON battles (matchup_id, suite_id, prompt_id);
CREATE INDEX idx_battles_tstamp ON battles (tstamp);
"""


def _v1_initial_schema(db: sqlite_utils.Database) -> None:
    """The first shipped schema. Written as literal SQL so it never changes with the code."""
    for statement in filter(None, (s.strip() for s in _V1_SCHEMA.split(";"))):
        db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _v2_checks_and_covering_index(db: sqlite_utils.Database) -> None:
    """Objective checks per side (JSON shape, math answer), and a covering index for `aggregate()`.

    v1 answered `arena stats` by walking idx_battles_matchup and reading every row, conversations included: at a million
    votes that is gigabytes of I/O. The aggregate query touches only the columns below, so an index holding all of them
    lets SQLite answer it from the index alone.
    """
    battles = db["battles"]
    battles.add_column("checks_a", str)  # type: ignore[union-attr]
    battles.add_column("checks_b", str)  # type: ignore[union-attr]
    db.execute(
        "CREATE INDEX idx_battles_agg ON battles "
        "(matchup_id, identity_leak, model_a, model_b, outcome, category, tstamp, voter)"
    )


def _v3_checks_index(db: sqlite_utils.Database) -> None:
    """A covering index for the objective-check summary (arena.store.checks), over the rows that have checks only.

    Without it the summary reads whole rows (conversations included) of every vote of a matchup: ~0.8 s for 33k votes.
    Partial, so votes on free prompts (no checks) cost nothing.
    """
    db.execute(
        "CREATE INDEX idx_battles_checks ON battles "
        "(matchup_id, identity_leak, model_a, model_b, category, tstamp, voter, checks_a, checks_b) "
        "WHERE checks_a IS NOT NULL OR checks_b IS NOT NULL"
    )


_V4_SCORES = """
CREATE TABLE scores (
    fingerprint TEXT NOT NULL,            -- the model file's fingerprint (arena.models.facts.fingerprint)
    text_sha256 TEXT NOT NULL,
    settings TEXT NOT NULL,               -- ScoreSettings.key(): window, stride, batch, method version
    reference_fingerprint TEXT NOT NULL DEFAULT '',   -- '' when no KL reference
    model_id TEXT NOT NULL,
    reference_id TEXT,
    text_name TEXT NOT NULL DEFAULT '',
    tokens INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    nll_nats REAL NOT NULL,
    kld BLOB,                             -- float32 per scored token (little-endian), KL(reference || model) in nats
    same_top INTEGER,
    created TEXT NOT NULL,
    PRIMARY KEY (fingerprint, text_sha256, settings, reference_fingerprint)
);
CREATE INDEX idx_scores_model ON scores (model_id, created)
"""


def _v4_scores(db: sqlite_utils.Database) -> None:
    """Objective scores of texts (bits per byte, KL divergence; arena.store.scores), cached by model file, text and
    settings so re-running `arena score` is instant. A new table: votes are untouched."""
    for statement in filter(None, (s.strip() for s in _V4_SCORES.split(";"))):
        db.execute(statement)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_initial_schema,
    _v2_checks_and_covering_index,
    _v3_checks_index,
    _v4_scores,
]
LATEST = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_is_arena_db(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of an arena DB (0 for a new empty file); StoreError for any other SQLite file."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = user_version(conn)
    n_tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    if app_id != APPLICATION_ID and (app_id != 0 or version != 0 or n_tables):
        raise StoreError(
            f"{path} is an SQLite database, but not a Quant Arena vote database",
            "point --db (or ARENA_DB) at an arena votes.db, or at a new file name to start a new one",
        )
    if version > LATEST:
        raise StoreError(
            f"The vote database {path} has schema version {version}, written by a newer Quant Arena "
            f"(this one knows up to version {LATEST})",
            "upgrade Quant Arena (pip install -U quant-arena), or use another --db",
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path, upto: int = LATEST) -> int:
    """Bring the DB to version `upto` (default: latest); returns the version reached. Safe against concurrent openers."""
    version = check_is_arena_db(conn, path)
    if version >= upto:
        return version
    import sqlite_utils

    db = sqlite_utils.Database(conn, execute_plugins=False)
    for number in range(version + 1, upto + 1):
        with dbmod.write(conn, path, f"upgrade (migration {number})"):
            # Re-read inside the write lock: another process opening the same DB may have just applied it.
            if user_version(conn) >= number:
                continue
            MIGRATIONS[number - 1](db)
            conn.execute(f"PRAGMA user_version = {number}")
    return user_version(conn)
