"""The score cache: one row per (model file fingerprint, text sha256, settings, KL reference's fingerprint).

A row is written in one committed transaction only once its (model, text) pass finished, so an interrupted
`arena score` leaves whole rows or nothing. Per-token KL values are a float32 little-endian BLOB.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from arena.records.score import ModelScore, TextScore
from arena.store.votes import VoteStore

SCORE_COLUMNS: tuple[str, ...] = (
    "fingerprint", "text_sha256", "settings", "reference_fingerprint", "model_id", "reference_id", "text_name",
    "tokens", "bytes", "nll_nats", "kld", "same_top", "created",
)  # fmt: skip
_UPSERT = (
    f"INSERT INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES ({', '.join('?' * len(SCORE_COLUMNS))}) "
    "ON CONFLICT(fingerprint, text_sha256, settings, reference_fingerprint) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SCORE_COLUMNS[4:])
)


def _blob(values: array | None) -> bytes | None:
    if values is None:
        return None
    data = array("f", values)
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        data.byteswap()
    return data.tobytes()


def _unblob(blob: bytes | None) -> array | None:
    if blob is None:
        return None
    data = array("f")
    data.frombytes(blob)
    if sys.byteorder != "little":  # pragma: no cover
        data.byteswap()
    return data


def _row(score: TextScore) -> tuple[Any, ...]:
    created = score.created or datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    values = {
        "fingerprint": score.fingerprint, "text_sha256": score.text_sha256, "settings": score.settings,
        "reference_fingerprint": score.reference_fingerprint or "", "model_id": score.model_id,
        "reference_id": score.reference_id, "text_name": score.text_name, "tokens": score.tokens, "bytes": score.bytes,
        "nll_nats": float(score.nll_nats), "kld": _blob(score.kld), "same_top": score.same_top, "created": created,
    }  # fmt: skip
    return tuple(values[c] for c in SCORE_COLUMNS)


def _decode(row: tuple[Any, ...]) -> TextScore:
    v = dict(zip(SCORE_COLUMNS, row))
    return TextScore(
        model_id=v["model_id"], fingerprint=v["fingerprint"], text_sha256=v["text_sha256"], text_name=v["text_name"],
        settings=v["settings"], tokens=int(v["tokens"]), bytes=int(v["bytes"]), nll_nats=float(v["nll_nats"]),
        reference_id=v["reference_id"], reference_fingerprint=v["reference_fingerprint"], kld=_unblob(v["kld"]),
        same_top=v["same_top"], created=v["created"],
    )  # fmt: skip


def put_scores(store: VoteStore, scores: Iterable[TextScore]) -> None:
    """Save rows in one transaction (durable when this returns)."""
    rows = [_row(s) for s in scores]
    if not rows:
        return
    with store.transaction("save scores to") as conn:
        conn.executemany(_UPSERT, rows)


def get_score(store: VoteStore, fingerprint: str, text_sha256: str, settings: str, reference_fingerprint: str = "") -> TextScore | None:
    rows = store._query(
        f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE fingerprint = ? AND text_sha256 = ? AND settings = ? "
        "AND reference_fingerprint = ?",
        (fingerprint, text_sha256, settings, reference_fingerprint or ""),
    )
    return _decode(rows[0]) if rows else None


def scores_for_models(store: VoteStore, model_ids: Iterable[str]) -> dict[str, list[TextScore]]:
    """Every stored row of these models, for the model file scored most recently (a replaced file's rows are old news)."""
    out: dict[str, list[TextScore]] = {}
    for model_id in dict.fromkeys(model_ids):
        latest = store._query("SELECT fingerprint FROM scores WHERE model_id = ? ORDER BY created DESC LIMIT 1", (model_id,))
        if not latest:
            continue
        rows = store._query(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE model_id = ? AND fingerprint = ? ORDER BY created",
            (model_id, latest[0][0]),
        )
        out[model_id] = [_decode(r) for r in rows]
    return out


def iter_score_rows(store: VoteStore) -> Iterator[dict[str, Any]]:
    """Rows for `arena export --what scores`: the numbers, with KL summarized (mean, max, n) instead of the BLOB."""
    rows = store._query(f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores ORDER BY created, model_id, text_sha256")
    for row in rows:
        s = _decode(row)
        kld = list(s.kld) if s.kld is not None else None
        yield {
            "model_id": s.model_id,
            "fingerprint": s.fingerprint,
            "text_name": s.text_name,
            "text_sha256": s.text_sha256,
            "settings": json.loads(s.settings),
            "tokens": s.tokens,
            "bytes": s.bytes,
            "nll_nats": s.nll_nats,
            "reference_id": s.reference_id,
            "reference_fingerprint": s.reference_fingerprint or None,
            "kld_mean": (sum(kld) / len(kld)) if kld else None,
            "kld_max": max(kld) if kld else None,
            "same_top": s.same_top,
            "created": s.created,
        }


def has_scores_table(store: VoteStore) -> bool:
    return bool(store._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scores'"))


def matchup_scores(store: VoteStore, big: str, small: str) -> tuple[ModelScore, ModelScore] | None:
    """Both models' scores over the texts scored for both (same settings), or None when there are none."""
    from arena.stats.objective import combine, common_texts

    if not has_scores_table(store):
        return None
    rows = scores_for_models(store, [big, small])
    if big not in rows or small not in rows:
        return None
    shared = common_texts(rows)
    if not shared.get(big):
        return None
    return combine(big, shared[big]), combine(small, shared[small])
