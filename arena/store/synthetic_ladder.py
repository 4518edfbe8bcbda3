"""Synthetic ladder votes with known true ratings: for the ladder statistics tests, benchmarks/ladder_stats.py and the
README chart. Records are built like arena.store.synthetic's (through the BattleRecord contract) and saved with the real
VoteStore, facts included, so everything downstream (aggregate, facts table, export) is the real path.

Truth: voters prefer the left model with the Bradley-Terry probability for the true Elo gap; a share TIES of votes are
ties or both-bad. The default ladder is a 14B family at five quants and two smaller models at Q8_0 (made-up but
plausible numbers: bits per weight as llama.cpp reports for Qwen2.5 files).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import timedelta

from arena.records import BattleRecord, ModelFacts, Vote
from arena.store.synthetic import CATEGORIES, EPOCH, _side

TIES = 0.15

# id: (name, quant, n_params, bits per weight, true rating)
LADDER: dict[str, tuple[str, str, int, float, float]] = {
    "qwen2.5-14b-q6_k": ("Qwen2.5 14B", "Q6_K", 14_770_000_000, 6.56, 1130.0),
    "qwen2.5-14b-q4_k_m": ("Qwen2.5 14B", "Q4_K_M", 14_770_000_000, 4.87, 1110.0),
    "qwen2.5-14b-q3_k_m": ("Qwen2.5 14B", "Q3_K_M", 14_770_000_000, 3.92, 1060.0),
    "qwen2.5-14b-q2_k": ("Qwen2.5 14B", "Q2_K", 14_770_000_000, 3.13, 900.0),
    "qwen2.5-7b-q8_0": ("Qwen2.5 7B", "Q8_0", 7_620_000_000, 8.50, 1080.0),
    "qwen2.5-3b-q8_0": ("Qwen2.5 3B", "Q8_0", 3_090_000_000, 8.50, 930.0),
}


def ladder_facts(ladder: Mapping[str, tuple[str, str, int, float, float]] = LADDER) -> dict[str, ModelFacts]:
    return {
        mid: ModelFacts(
            id=mid, name=f"{name} {quant}", source=f"hf:Qwen/{name.replace(' ', '-')}-Instruct-GGUF/{quant.lower()}.gguf",
            file_name=f"{mid}.gguf", quant_type=quant, n_params=n, bits_per_weight=bpw, file_size=int(n * bpw / 8),
            architecture="qwen2", context_length=32768,
        )
        for mid, (name, quant, n, bpw, _) in ladder.items()
    }  # fmt: skip


def truth(ladder: Mapping[str, tuple[str, str, int, float, float]] = LADDER) -> dict[str, float]:
    return {mid: spec[4] for mid, spec in ladder.items()}


def ladder_record(
    i: int, rng: random.Random, ratings: Mapping[str, float], pair: Sequence[str] | None = None, matchup: str = "ladder"
) -> BattleRecord:
    """Vote number i: a random pair (or `pair`) on random sides, outcome drawn from the true ratings."""
    a, b = rng.sample(list(ratings), 2) if pair is None else (pair[0], pair[1])
    if rng.random() < 0.5:
        a, b = b, a
    if rng.random() < TIES:
        outcome = Vote.TIE if rng.random() < 0.7 else Vote.BOTH_BAD
    else:
        p_left = 1.0 / (1.0 + 10 ** ((ratings[b] - ratings[a]) / 400.0))
        outcome = Vote.A if rng.random() < p_left else Vote.B
    big, small = sorted((a, b), key=lambda m: -ratings[m])
    prompt = f"Ladder prompt {i}"
    return BattleRecord(
        matchup_id=matchup, big_model=big, small_model=small, side_a=_side(a, prompt, "left answer", rng),
        side_b=_side(b, prompt, "right answer", rng), outcome=outcome, display_policy="paced",
        category=rng.choice(CATEGORIES[:3]), suite_id="builtin", prompt_id=f"p{i}", app_version="synthetic",
        uuid=f"00000000-0000-4000-8000-{i:012d}", tstamp=(EPOCH + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
    )  # fmt: skip


def seed_ladder(store, n: int, seed: int = 0, ladder: Mapping[str, tuple[str, str, int, float, float]] = LADDER) -> None:  # type: ignore[no-untyped-def]
    """Record n synthetic ladder votes (with facts) into a VoteStore. Deterministic for a seed."""
    rng = random.Random(seed)
    facts = ladder_facts(ladder)
    ratings = truth(ladder)
    for i in range(n):
        store.record_vote(ladder_record(i, rng, ratings), facts)


def _main(argv: list[str] | None = None) -> int:
    """`python -m arena.store.synthetic_ladder DB --votes N`: a synthetic ladder DB to try `arena stats --models` on."""
    import argparse

    from arena.store import VoteStore

    p = argparse.ArgumentParser(prog="python -m arena.store.synthetic_ladder", description=_main.__doc__)
    p.add_argument("db")
    p.add_argument("--votes", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    with VoteStore(args.db) as store:
        seed_ladder(store, args.votes, seed=args.seed)
    print(",".join(LADDER))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
