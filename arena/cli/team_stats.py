"""`arena stats` for teams: per-voter verdicts, agreement between voters and the pooled result with voters as clusters.

Shown for a matchup whenever its votes (under the filters) come from 2 or more voters (votes without a name count as
one voter), or always with `--by-voter`. Kept apart from cmd_stats.py so that module only hands over.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from arena.stats.team import TeamReport, build_team_report
from arena.store.filters import Filters
from arena.store.votes import VoteStore


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--by-voter", action="store_true",
        help="show the team section (per-voter verdicts, agreement, pooled result with voters as clusters) even when "
        "a matchup's votes come from one voter; it is shown anyway when they come from two or more",
    )  # fmt: skip


def wanted(voter_counts: Mapping[str | None, int], by_voter: bool) -> bool:
    return len(voter_counts) >= 2 or (by_voter and len(voter_counts) >= 1)


def team_report(
    store: VoteStore, filters: Filters, big: str, small: str, labels: Mapping[str, str], args: argparse.Namespace
) -> TeamReport | None:
    """The matchup's team report, or None when it has votes from fewer than 2 voters and --by-voter was not given."""
    from arena.store.team import iter_team_votes, voters

    if not wanted(voters(store, filters), bool(getattr(args, "by_voter", False))):
        return None
    return build_team_report(iter_team_votes(store, filters), big, small, labels, rounds=args.rounds, seed=args.seed)
