"""Writers for `arena export`: CSV, JSONL (exact), and FastChat's battle format. All stream: one vote in memory at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from arena.store.columns import BOOL_COLUMNS, JSON_COLUMNS, VOTE_COLUMNS

FORMATS = ("jsonl", "csv", "fastchat")

# Our outcomes in FastChat's vocabulary (fastchat/serve/monitor/clean_battle_data.py: convert_type).
FASTCHAT_WINNER = {"A": "model_a", "B": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}


def _dumps(value: Any) -> str:
    # ASCII-only JSON: every str (control characters, escape sequences, lone surrogates) parses back exactly.
    return json.dumps(value, ensure_ascii=True)


def write_jsonl(votes: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One vote per line, every column; json.loads(line) gives back exactly what iter_votes yielded."""
    n = 0
    for vote in votes:
        out.write(_dumps(vote) + "\n")
        n += 1
    return n


def write_csv(votes: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One row per vote, every column; structured columns hold compact JSON, flags are 0/1. `out` needs newline=""."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(VOTE_COLUMNS)
    n = 0
    for vote in votes:
        row: list[Any] = []
        for column in VOTE_COLUMNS:
            value = vote.get(column)
            if column in JSON_COLUMNS and value is not None:
                value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            elif column in BOOL_COLUMNS:
                value = int(bool(value))
            row.append(value)
        writer.writerow(row)
        n += 1
    return n


def fastchat_battle(vote: dict[str, Any]) -> dict[str, Any]:
    """A vote as one battle of FastChat's clean_battle_*.json (what elo_analysis.py reads with pd.read_json).

    FastChat keys first; ours (category, matchup_id, identity_leak, ...) after, which FastChat's analysis ignores.
    Conversations leave out the system prompt, as FastChat's do (its states start at `offset`, after the system message).
    """
    conv_a = [m for m in vote["conversation_a"] if m.get("role") != "system"]
    conv_b = [m for m in vote["conversation_b"] if m.get("role") != "system"]
    return {
        "question_id": vote["uuid"],
        "model_a": vote["model_a"],
        "model_b": vote["model_b"],
        "winner": FASTCHAT_WINNER[vote["outcome"]],
        "judge": vote["voter"] or "arena_user",
        "conversation_a": conv_a,
        "conversation_b": conv_b,
        "turn": sum(1 for m in conv_a if m.get("role") == "user"),
        "anony": True,  # every arena battle is blind
        "language": "unknown",
        "tstamp": datetime.fromisoformat(vote["tstamp"]).timestamp(),
        "category": vote["category"],
        "matchup_id": vote["matchup_id"],
        "big_model": vote["big_model"],
        "small_model": vote["small_model"],
        "identity_leak": vote["identity_leak"],
        "leak_terms": vote["leak_terms"],
        "display_policy": vote["display_policy"],
    }


def write_fastchat(votes: Iterable[dict[str, Any]], out: TextIO) -> int:
    """A JSON list of FastChat battles, written element by element (never the whole list in memory)."""
    n = 0
    out.write("[")
    for vote in votes:
        out.write(("\n" if n == 0 else ",\n") + _dumps(fastchat_battle(vote)))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "fastchat": write_fastchat}
