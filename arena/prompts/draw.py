"""Which prompt comes next: a deterministic, resumable order over a suite.

The order for a (seed, suite) is fixed, so a session that stops after 7 votes and a new session tomorrow continue with
prompt 8: the store knows which prompt ids were already voted for the matchup, and `next_prompt` skips them.

Each prompt's place is a hash of (seed, prompt id) rather than a `random.shuffle`: adding or removing a prompt in a
suite file does not reshuffle the others, and the order does not depend on the Python version's RNG. A category filter
is the full order filtered, so a "math only" session and a mixed session agree on what comes first.
"""

from __future__ import annotations

import hashlib

from arena.prompts.types import Prompt, Suite


def _digest(text: str) -> int:
    # sha256, not hash(): Python's str hash is randomized per process (PYTHONHASHSEED), which would break resuming.
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def suite_seed(matchup_id: str, suite_id: str) -> int:
    """A stable 63-bit seed for one matchup playing one suite (same inputs, same seed, in every process)."""
    return _digest(f"quant-arena/draw\x00{matchup_id}\x00{suite_id}") >> 1


def draw_order(suite: Suite, seed: int, category: str | None = None) -> list[Prompt]:
    """The suite's prompts in the seeded order; only `category` if given (empty list if the suite has none of it)."""
    ordered = sorted(suite.prompts, key=lambda p: (_digest(f"{seed}\x00{p.id}"), p.id))
    if category is None:
        return ordered
    return [p for p in ordered if p.category == category]


def next_prompt(suite: Suite, seed: int, voted_ids: set[str], category: str | None = None) -> Prompt | None:
    """The first prompt in the seeded order not yet voted on, or None when the suite (or category) is exhausted."""
    for p in draw_order(suite, seed, category):
        if p.id not in voted_ids:
            return p
    return None
