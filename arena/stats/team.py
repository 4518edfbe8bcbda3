"""Team statistics for one model pair: each voter's tally and verdict, agreement between voters, the pooled result with
voters as clusters.

Input: one `TeamVote` per vote (the store reads them; nothing here touches SQLite). Votes are stored by side (A = the
left pane) and sides are random per round, so each vote is first turned into what it says about the *models*:
"big" better, "small" better, "tie" or "both_bad" (`oriented`).

- **Per voter**: the project's own pair summary and anytime-valid verdict (arena.stats.pair, arena.stats.verdict) over
  that voter's votes, Bonferroni-corrected over the voters shown (each at 5% / K), as the per-category verdicts are.
- **Agreement**: an *item* is one prompt on this model pair: the exact text of the first user message (`item_key`).
  Suite rounds store their prompt's text, so a suite prompt is the same item whether it was drawn by `--suite code` or
  `--suite all` (which store different suite ids for it), and two voters who typed the same free prompt share an item.
  Each voter counts once per item: a voter who voted on an item more than once contributes their **latest** vote (by
  time, then uuid) to agreement; the earlier ones are counted in `repeats` and still count everywhere else (tallies,
  pooled result), since each was a real judgement of a new pair of answers. Categories are the four outcomes above.
  Per voter pair: shared items, raw agreement, Cohen's kappa; for 3+ voters Fleiss' kappa over the items every voter
  rated; for 2+ voters Krippendorff's alpha (nominal), which uses every item rated by at least two voters.
- **Pooled, voters as clusters**: the big model's share of decided votes and its score with ties (and both-bad) as half
  a win (as arena.stats.ties_half), each with an iid interval, a cluster-robust CR1 interval and a voter bootstrap
  (arena.stats.clustered), the design effect and the effective number of votes. These are fixed-sample intervals.

A vote without a voter name (solo use) belongs to one voter, `None`, shown as "(no name)".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arena.stats.agreement import (
    FleissAgreement,
    KrippendorffAgreement,
    PairAgreement,
    fleiss_complete,
    krippendorff_nominal,
    pairwise,
)
from arena.stats.clustered import DEFAULT_BOOTSTRAP_ROUNDS, Cluster, ClusteredMean, clustered_mean
from arena.stats.counts import AggRow
from arena.stats.intervals import ALPHA
from arena.stats.pair import PairSummary, summarize_pair
from arena.stats.verdict import verdict

OUTCOMES = ("big", "small", "tie", "both_bad")  # model-oriented: which model the vote favoured
UNNAMED = "(no name)"  # how a vote without a voter name is shown (JSON keeps null)
ITEM_RULE = "the exact text of the first user message (the prompt), on this model pair"
REPEAT_RULE = "latest vote of each voter on an item (by time, then uuid); earlier repeats count everywhere but agreement"


@dataclass(frozen=True)
class TeamVote:
    """One stored vote, reduced to what team statistics need."""

    voter: str | None
    item: str | None  # `item_key` of the prompt: votes with equal items judged the same prompt; None: prompt unknown
    model_a: str  # left pane
    model_b: str  # right pane
    outcome: str  # "A", "B", "tie", "both_bad" (arena.records.Vote values)
    order: tuple[str, str]  # (tstamp, uuid): the later vote sorts later


def item_key(prompt: str | None) -> str | None:
    """What makes two votes the same item: a digest of the prompt's exact text (memory stays small for long prompts).

    None when the prompt is unknown (a foreign or broken row): such a vote is never matched with another.
    """
    if prompt is None:
        return None
    return hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()


def oriented(vote: TeamVote, big: str, small: str) -> str | None:
    """The vote in model terms ("big", "small", "tie", "both_bad"), or None when it is not a vote between big and small."""
    if {vote.model_a, vote.model_b} != {big, small} or big == small:
        return None
    if vote.outcome in ("tie", "both_bad"):
        return vote.outcome
    if vote.outcome not in ("A", "B"):
        raise ValueError(f"unknown outcome {vote.outcome!r} (expected A, B, tie or both_bad)")
    winner = vote.model_a if vote.outcome == "A" else vote.model_b
    return "big" if winner == big else "small"


def voter_name(voter: str | None) -> str:
    return UNNAMED if voter is None else voter


@dataclass(frozen=True)
class VoterResult:
    voter: str | None
    pair: PairSummary  # Bonferroni over the voters shown (alpha / K)
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {"voter": self.voter, "verdict": self.verdict, **self.pair.to_dict()}


@dataclass(frozen=True)
class Agreement:
    voters: list[str | None]  # in display order
    items: int  # distinct items with a vote (after each voter's latest-vote rule)
    shared_items: int  # of those, items rated by two or more voters
    repeats: int  # earlier votes of a voter on an item they voted on again (left out of agreement only)
    pairs: dict[tuple[str | None, str | None], PairAgreement]
    fleiss: FleissAgreement | None  # 3+ voters only
    krippendorff: KrippendorffAgreement | None  # 2+ voters

    def to_dict(self) -> dict[str, Any]:
        return {
            "categories": list(OUTCOMES),
            "item": ITEM_RULE,
            "repeat_rule": REPEAT_RULE,
            "items": self.items,
            "shared_items": self.shared_items,
            "repeats_left_out": self.repeats,
            "pairs": [
                {
                    "voters": [a, b], "shared_items": p.shared, "agreed": p.agreed, "agreement": p.rate,
                    "cohen_kappa": p.kappa, "note": p.note,
                }
                for (a, b), p in self.pairs.items()
            ],  # fmt: skip
            "fleiss_kappa": None if self.fleiss is None else {
                "items": self.fleiss.items, "voters": self.fleiss.raters, "observed_agreement": self.fleiss.observed,
                "kappa": self.fleiss.kappa, "note": self.fleiss.note,
            },  # fmt: skip
            "krippendorff_alpha": None if self.krippendorff is None else {
                "level": "nominal", "items": self.krippendorff.items, "ratings": self.krippendorff.values,
                "alpha": self.krippendorff.alpha, "note": self.krippendorff.note,
            },  # fmt: skip
        }


@dataclass(frozen=True)
class TeamReport:
    big: str
    small: str
    voters: list[VoterResult]  # most votes first, then by name
    agreement: Agreement
    decided: ClusteredMean  # big's share of decided votes, voters as clusters
    ties_half: ClusteredMean  # big's score with ties and both-bad as half a win, voters as clusters
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, model: str) -> str:
        return self.labels.get(model, model)

    @property
    def n_voters(self) -> int:
        return len(self.voters)

    def to_dict(self) -> dict[str, Any]:
        k = max(1, len(self.voters))
        return {
            "voters": [v.to_dict() for v in self.voters],
            "voter_correction": {"method": "bonferroni", "voters": len(self.voters), "alpha_each": ALPHA / k},
            "agreement": self.agreement.to_dict(),
            "pooled": {
                "clusters": "voters (votes without a name form one cluster)",
                "method": (
                    "fixed-sample: iid = OLS standard error, t(N-1); cluster = CR1 sandwich (G/(G-1) factor), t(G-1); "
                    "bootstrap = percentile interval from resampling whole voters; design effect = cluster_se^2 / iid_se^2"
                ),
                "decided": self.decided.to_dict(),
                "ties_half": self.ties_half.to_dict(),
            },
        }


def build_team_report(
    votes: Iterable[TeamVote],
    big: str,
    small: str,
    labels: Mapping[str, str] | None = None,
    *,
    rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> TeamReport:
    """Everything above from the votes of one matchup. Votes about other model pairs are ignored.

    Memory: one small count per (voter, side, outcome) and one entry per (voter, item); the votes are consumed as they
    stream in.
    """
    names = dict(labels or {})
    counts: dict[tuple[str | None, str, str, str], int] = {}
    latest: dict[tuple[str | None, str], tuple[tuple[str, str], str]] = {}
    repeats = 0
    for vote in votes:
        outcome = oriented(vote, big, small)
        if outcome is None:
            continue
        key = (vote.voter, vote.model_a, vote.model_b, vote.outcome)
        counts[key] = counts.get(key, 0) + 1
        if vote.item is None:
            continue
        slot = (vote.voter, vote.item)
        seen = latest.get(slot)
        if seen is not None:
            repeats += 1
            if seen[0] >= vote.order:
                continue
        latest[slot] = (vote.order, outcome)
    by_voter: dict[str | None, list[AggRow]] = {}
    for (voter, a, b, outcome), n in sorted(counts.items(), key=lambda kv: (kv[0][0] is None, kv[0])):
        by_voter.setdefault(voter, []).append(AggRow(a, b, outcome, "all", n))
    k = len(by_voter)
    big_label, small_label = names.get(big, big), names.get(small, small)
    results = []
    for voter, rows in by_voter.items():
        pair = summarize_pair(rows, big, small, comparisons=k)
        results.append(VoterResult(voter, pair, verdict(pair, big_label, small_label)))
    results.sort(key=lambda r: (-r.pair.n, r.voter is None, r.voter or ""))
    order = [r.voter for r in results]
    return TeamReport(
        big=big,
        small=small,
        voters=results,
        agreement=_agreement(latest, order, repeats),
        decided=clustered_mean([_cluster(r.pair, decided=True) for r in results], rounds=rounds, seed=seed),
        ties_half=clustered_mean([_cluster(r.pair, decided=False) for r in results], rounds=rounds, seed=seed),
        labels=names,
    )


def _cluster(pair: PairSummary, *, decided: bool) -> Cluster:
    """A voter's votes as per-vote scores for big: 1 a win, 0 a loss, 1/2 a tie or both bad (left out if `decided`)."""
    if decided:
        return Cluster(n=pair.decided, total=float(pair.big_wins), total_sq=float(pair.big_wins))
    halves = pair.ties + pair.both_bad
    return Cluster(n=pair.n, total=pair.big_wins + halves / 2.0, total_sq=pair.big_wins + halves / 4.0)


def _agreement(
    latest: Mapping[tuple[str | None, str], tuple[tuple[str, str], str]], voters: Sequence[str | None], repeats: int
) -> Agreement:
    ratings: dict[str, dict[str | None, str]] = {}
    for (voter, item), (_, outcome) in latest.items():
        ratings.setdefault(item, {})[voter] = outcome
    label = {o: o.replace("_", " ") for o in OUTCOMES}
    pairs = pairwise(ratings, voters, label)
    fleiss = fleiss_complete(ratings, voters, OUTCOMES) if len(voters) >= 3 else None
    kripp = krippendorff_nominal([list(by.values()) for by in ratings.values()]) if len(voters) >= 2 else None
    shared = sum(1 for by in ratings.values() if len(by) >= 2)
    return Agreement(list(voters), len(ratings), shared, repeats, pairs, fleiss, kripp)
