"""The columns of the vote store's two tables, in the order rows are written and exported.

Their own module so that the writers (votes), the merger and the exporter share one list without importing each other.
"""

from __future__ import annotations

SIDE_FIELDS = ("conversation", "sampling", "seeds", "timings", "finish_reasons", "stopped", "checks")
VOTE_COLUMNS: tuple[str, ...] = (
    "uuid", "tstamp", "matchup_id", "model_a", "model_b", "big_model", "small_model", "outcome", "winner_model",
    "display_policy", "identity_leak", "leak_terms", "category", "suite_id", "prompt_id", "voter", "app_version",
    *(f"{name}_a" for name in SIDE_FIELDS),
    *(f"{name}_b" for name in SIDE_FIELDS),
)  # fmt: skip
JSON_COLUMNS = frozenset(
    {"leak_terms"} | {f"{n}_{s}" for n in SIDE_FIELDS if n != "stopped" for s in "ab"}
)
BOOL_COLUMNS = frozenset({"identity_leak", "stopped_a", "stopped_b"})
MODEL_COLUMNS: tuple[str, ...] = (
    "id", "name", "source", "file_name", "fingerprint", "quant_type", "n_params", "bits_per_weight", "file_size",
    "architecture", "context_length", "requantized", "first_seen", "last_seen",
)  # fmt: skip

__all__ = ["BOOL_COLUMNS", "JSON_COLUMNS", "MODEL_COLUMNS", "SIDE_FIELDS", "VOTE_COLUMNS"]
