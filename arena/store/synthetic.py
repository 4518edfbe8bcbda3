"""Synthetic but well-formed votes, for the store's tests, its crash/load child processes and benchmarks/store.py.

Not test-only code: `benchmarks/store.py` and `python -m arena.store.synthetic` (the writer process the durability tests
SIGKILL) use it too, and it must build records exactly as the battle module does (through the BattleRecord contract).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from arena.records import BattleRecord, ModelFacts, SideRecord, Vote

BIG = "qwen2.5-14b-q2_k"
SMALL = "qwen2.5-7b-q6_k"
FACTS: dict[str, ModelFacts] = {
    BIG: ModelFacts(
        id=BIG, name="Qwen2.5 14B Q2_K", source="hf:Qwen/Qwen2.5-14B-Instruct-GGUF/q2_k.gguf@main",
        file_name="qwen2.5-14b-instruct-q2_k.gguf", fingerprint="size:5770000000:1700000000", quant_type="Q2_K",
        n_params=14_770_000_000, bits_per_weight=3.13, file_size=5_770_000_000, architecture="qwen2",
        context_length=32768, requantized=False,
    ),
    SMALL: ModelFacts(
        id=SMALL, name="Qwen2.5 7B Q6_K", source="hf:Qwen/Qwen2.5-7B-Instruct-GGUF/q6_k.gguf@main",
        file_name="qwen2.5-7b-instruct-q6_k.gguf", fingerprint="size:6250000000:1700000000", quant_type="Q6_K",
        n_params=7_620_000_000, bits_per_weight=6.56, file_size=6_250_000_000, architecture="qwen2",
        context_length=32768, requantized=False,
    ),
}  # fmt: skip
CATEGORIES = ("code", "math", "json", "writing", "reasoning")
OUTCOMES = (Vote.A, Vote.B, Vote.TIE, Vote.BOTH_BAD)
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _side(model_id: str, prompt: str, answer: str, rng: random.Random) -> SideRecord:
    return SideRecord(
        model_id=model_id,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ],
        sampling={"temperature": 0.7, "top_p": 0.95, "max_tokens": 512},
        seeds=[rng.randrange(2**31)],
        timings=[{"prompt_tokens": 24, "completion_tokens": 120, "prompt_ms": 80.5, "gen_ms": 2400.0}],
        finish_reasons=["stop"],
        stopped=False,
        checks={"json_valid": True} if rng.random() < 0.2 else None,
    )


def make_record(
    i: int,
    rng: random.Random,
    *,
    matchup: str = "14b-q2k-vs-7b-q6k",
    voter: str | None = None,
    answer_chars: int = 400,
    tstamp: datetime | None = None,
) -> BattleRecord:
    """Vote number i: random sides, outcome, category; one turn each side with ~answer_chars of text."""
    big_left = rng.random() < 0.5
    left, right = (BIG, SMALL) if big_left else (SMALL, BIG)
    prompt = f"Prompt {i}: explain item {rng.randrange(10**6)}."
    text = ("Lorem ipsum dolor sit amet. " * (answer_chars // 28 + 1))[:answer_chars]
    leak = rng.random() < 0.05
    return BattleRecord(
        matchup_id=matchup, big_model=BIG, small_model=SMALL,
        side_a=_side(left, prompt, text, rng), side_b=_side(right, prompt, text[::-1], rng),
        outcome=rng.choice(OUTCOMES), display_policy="paced", identity_leak=leak, leak_terms=["Qwen"] if leak else [],
        category=rng.choice(CATEGORIES), suite_id="builtin", prompt_id=f"p{i}", voter=voter, app_version="synthetic",
        tstamp=(tstamp or EPOCH + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
    )  # fmt: skip


def _writer_main(argv: list[str] | None = None) -> int:
    """Record votes and print each uuid only after record_vote returned (the durability tests' child process)."""
    p = argparse.ArgumentParser(prog="python -m arena.store.synthetic")
    p.add_argument("db")
    p.add_argument("--voter", default="writer")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: run until killed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--answer-chars", type=int, default=400)
    args = p.parse_args(argv)
    from arena.store import VoteStore

    rng = random.Random(args.seed)
    store = VoteStore(args.db)
    deadline = time.monotonic() + args.seconds if args.seconds else float("inf")
    i = 0
    while time.monotonic() < deadline:
        rec = make_record(i, rng, voter=args.voter, answer_chars=args.answer_chars, tstamp=datetime.now(timezone.utc))
        store.record_vote(rec, FACTS)
        sys.stdout.write(rec.uuid + "\n")
        sys.stdout.flush()
        i += 1
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_writer_main())
