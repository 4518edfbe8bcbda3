"""Synthetic team votes: several voters with their own tastes judging prompts from a shared pool, so the team statistics
(per-voter verdicts, agreement, the clustered pooled result) can be seen and tested. Records are built like
arena.store.synthetic's (through the BattleRecord contract) and saved with the real VoteStore.

Truth, per vote of voter g on prompt j (logistic model): P(big better | not a tie) = 1 / (1 + exp(-(mu + u_g + v_j))),
mu = logit(big_share), u_g ~ Normal(0, voter_sd) (a voter's own taste: what makes their votes clustered), v_j ~
Normal(0, prompt_sd) (a prompt that suits one model: what makes voters agree). A share `ties` of votes are ties and
`both_bad` are both-bad, independent of the rest. Each voter works through the prompt pool in a random order and starts
again when it runs out, so voters share prompts and may vote on one twice.

`python -m arena.store.synthetic_team votes.db --voters ann,bob,cy,dee --votes 60` writes such a DB
(then `arena --db votes.db stats`).
"""

from __future__ import annotations

import argparse
import math
import random
import uuid as uuid_mod
from collections.abc import Mapping, Sequence
from datetime import timedelta

from arena.records import BattleRecord, ModelFacts, Vote
from arena.store.synthetic import BIG, CATEGORIES, EPOCH, FACTS, SMALL, _side

MATCHUP = "14b-q2k-vs-7b-q6k"
VOTERS = ("ann", "bob", "cy", "dee", "eve")


def voter_effects(voters: Sequence[str | None], voter_sd: float, rng: random.Random) -> dict[str | None, float]:
    return {v: rng.gauss(0.0, voter_sd) for v in voters}


def team_records(
    voters: Sequence[str | None] = VOTERS,
    votes_per_voter: int | Mapping[str | None, int] = 40,
    *,
    prompts: int = 30,
    seed: int = 0,
    big_share: float = 0.6,
    voter_sd: float = 0.8,
    prompt_sd: float = 1.0,
    ties: float = 0.15,
    both_bad: float = 0.05,
    big: str = BIG,
    small: str = SMALL,
    matchup: str = MATCHUP,
) -> list[BattleRecord]:
    """The votes, interleaved across voters in time order (as several people voting at once would). Deterministic."""
    rng = random.Random(seed)
    mu = math.log(big_share / (1.0 - big_share))
    u = voter_effects(voters, voter_sd, rng)
    v = [rng.gauss(0.0, prompt_sd) for _ in range(prompts)]
    texts = [f"Team prompt {j}: {rng.choice(('explain', 'compare', 'fix', 'summarize'))} item {j}." for j in range(prompts)]
    categories = [CATEGORIES[j % len(CATEGORIES)] for j in range(prompts)]
    wanted = {w: (votes_per_voter if isinstance(votes_per_voter, int) else votes_per_voter.get(w, 0)) for w in voters}
    queues: dict[str | None, list[int]] = {w: [] for w in voters}
    turns = [w for w in voters for _ in range(wanted[w])]
    rng.shuffle(turns)  # who votes next: a random interleaving with each voter's count fixed
    records: list[BattleRecord] = []
    for i, voter in enumerate(turns):
        if not queues[voter]:
            queues[voter] = rng.sample(range(prompts), prompts)  # the pool again, in a new order
        j = queues[voter].pop()
        roll = rng.random()
        if roll < ties:
            winner = None
            outcome = Vote.TIE
        elif roll < ties + both_bad:
            winner = None
            outcome = Vote.BOTH_BAD
        else:
            p_big = 1.0 / (1.0 + math.exp(-(mu + u[voter] + v[j])))
            winner = big if rng.random() < p_big else small
        big_left = rng.random() < 0.5
        left, right = (big, small) if big_left else (small, big)
        if winner is not None:
            outcome = Vote.A if winner == left else Vote.B
        records.append(
            BattleRecord(
                matchup_id=matchup, big_model=big, small_model=small,
                side_a=_side(left, texts[j], "left answer", rng), side_b=_side(right, texts[j], "right answer", rng),
                outcome=outcome, display_policy="paced", category=categories[j], suite_id="synthetic-team",
                prompt_id=f"t{j:03d}", voter=voter, app_version="synthetic",
                uuid=str(uuid_mod.UUID(int=rng.getrandbits(128), version=4)), tstamp=(EPOCH + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
            )  # fmt: skip
        )
    return records


def seed_team(store, records: Sequence[BattleRecord], facts: Mapping[str, ModelFacts] = FACTS) -> None:  # type: ignore[no-untyped-def]
    """Record the votes (with facts) into a VoteStore."""
    for rec in records:
        store.record_vote(rec, facts)


def _main(argv: list[str] | None = None) -> int:
    """`python -m arena.store.synthetic_team DB`: a synthetic team DB to try `arena stats` on."""
    from arena.store import VoteStore

    p = argparse.ArgumentParser(prog="python -m arena.store.synthetic_team", description=__doc__.split("\n\n")[0])
    p.add_argument("db")
    p.add_argument("--voters", default=",".join(VOTERS), help="comma-separated voter names (default: %(default)s)")
    p.add_argument("--votes", type=int, default=40, help="votes per voter (default: %(default)s)")
    p.add_argument("--prompts", type=int, default=30, help="size of the shared prompt pool (default: %(default)s)")
    p.add_argument("--voter-sd", type=float, default=0.8, help="spread of the voters' tastes, logit scale (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    names = [n.strip() for n in args.voters.split(",") if n.strip()]
    records = team_records(names, args.votes, prompts=args.prompts, seed=args.seed, voter_sd=args.voter_sd)
    with VoteStore(args.db) as store:
        seed_team(store, records)
    print(f"{len(records)} votes by {len(names)} voters in matchup {MATCHUP}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
