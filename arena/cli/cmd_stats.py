"""`arena stats`: win rates, significance, position bias and Bradley-Terry ratings from the vote database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arena import paths
from arena.cli import ladder_stats, team_stats
from arena.cli.stats_common import config_quietly as _config_quietly
from arena.cli.stats_common import filters_dict as _filters_dict
from arena.cli.stats_common import labels as _labels
from arena.config.types import Config
from arena.errors import UsageError
from arena.stats.bradley_terry import DEFAULT_ROUNDS, DEFAULT_SEED
from arena.stats.checks import ChecksSummary
from arena.stats.render import render_text
from arena.stats.report import Report, build_report
from arena.stats.team import TeamReport
from arena.stats.team_render import render_team_text
from arena.untrusted import one_line, visible


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "stats",
        help="win rates, anytime-valid verdicts, position bias and ratings",
        description=(
            "Statistics over the recorded votes: each matchup's win rate over decided votes with an anytime-valid "
            "95% confidence sequence and verdict (safe to check after every vote), decided votes still needed for a "
            "verdict, ties-as-half rate, left/right position bias, per-category verdicts (Bonferroni-corrected) and "
            "Bradley-Terry ratings with bootstrap CIs. When a matchup's votes come from 2 or more voters (or with "
            "--by-voter): each voter's verdict, agreement between voters on the same prompts (Cohen's and Fleiss' "
            "kappa, Krippendorff's alpha) and the pooled result with voters as clusters. --fixed-n shows the fixed-sample analysis (Wilson 95% CI, exact "
            "binomial p) instead. Votes whose answers named a model (identity leaks) are left out unless "
            "--include-leaks is given."
        ),
    )
    p.add_argument("--matchup", metavar="ID", help="only this matchup (default: every matchup with votes)")
    p.add_argument("--category", metavar="C", help="only votes on prompts of this category (e.g. code, math)")
    p.add_argument("--since", metavar="DATE", help="only votes at or after DATE (YYYY-MM-DD, or an ISO date-time; naive times are UTC)")
    p.add_argument("--until", metavar="DATE", help="only votes up to DATE; a bare date includes that whole day")
    p.add_argument("--voter", metavar="NAME", help="only votes cast by this voter")
    p.add_argument("--include-leaks", action="store_true", help="keep votes flagged as identity leaks")
    p.add_argument(
        "--fixed-n", action="store_true",
        help="lead with the fixed-sample analysis (Wilson CI, exact binomial p): only valid if you fixed the number "
        "of votes in advance and look once",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON instead of tables (both analyses)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, metavar="N", help=f"bootstrap rounds for rating CIs and the voter bootstrap (default {DEFAULT_ROUNDS}; 0: none)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N", help=f"bootstrap seed (default {DEFAULT_SEED})")
    team_stats.add_arguments(p)
    ladder_stats.add_arguments(p)
    p.set_defaults(func=run)


def _no_votes_line(db: Path, args: argparse.Namespace) -> str:
    narrowed = [f"{k} {v}" for k, v in _filters_dict(args).items() if v not in (None, False)]
    where = f" matching {', '.join(narrowed)}" if narrowed else ""
    return f"No votes yet{where} in {db}. Play a few rounds with `arena` (or `arena demo`), then run `arena stats` again."


def collect(
    args: argparse.Namespace, db: Path, config: Config | None
) -> tuple[list[tuple[Report, ChecksSummary, TeamReport | None]], list[str]]:
    """Per matchup with votes under the filters: its Report, its objective-check summary (same filters) and its team
    report (None for votes from one voter, unless --by-voter); and the ladders with votes, which get no pair report
    (their pairs change per round) but a pointer to `--ladder`."""
    # Imported here so `arena --help` stays fast.
    from arena.models.contenders import stats_framing
    from arena.stats.checks import summarize_checks
    from arena.store import Filters, VoteStore
    from arena.store.checks import aggregate_checks

    base = _filters_dict(args)
    with VoteStore(db, create=False) as store:
        matchup_ids = [args.matchup] if args.matchup else store.matchups()
        stored = store.models()
        labels = _labels(config, stored)
        out: list[tuple[Report, ChecksSummary, TeamReport | None]] = []
        ladders_voted: list[str] = []
        ladder_ids = set(config.ladders) if config is not None else set()
        for matchup_id in matchup_ids:
            if matchup_id in ladder_ids:
                ladders_voted.append(matchup_id)  # `arena stats --ladder ID` gives its one pooled ranking
                continue
            models = store.matchup_models(matchup_id)
            if models is None:
                continue
            filters = Filters(**{**base, "matchup": matchup_id})
            rows = store.aggregate(filters)
            if not rows:
                continue
            big, small = models
            report = build_report(
                rows, big, small, labels, matchup=matchup_id, rounds=args.rounds, seed=args.seed,
                **stats_framing(config, big, small, stored),  # what the files say, not the slots
            )
            checks = summarize_checks(aggregate_checks(store, filters), models=(big, small), labels=labels)
            out.append((report, checks, team_stats.team_report(store, filters, big, small, labels, args)))
    return out, ladders_voted


def run(args: argparse.Namespace) -> int:
    from arena.store import Filters

    ladder_ids = set(config.ladders) if (config := _config_quietly(args.config)) is not None else set()
    if args.matchup in ladder_ids and not ladder_stats.requested(args):
        # A ladder's votes are recorded under its id, with pairs that change per round: its report is the pooled one.
        args.ladder, args.matchup = args.matchup, None
    if ladder_stats.requested(args):
        return ladder_stats.run(args)
    if args.plot:
        raise UsageError("--plot draws a ladder's chart", "add --ladder ID (from models.yaml) or --models id1,id2,id3")

    if args.rounds < 0:
        raise UsageError(f"--rounds {args.rounds} is negative", "give 0 (no bootstrap) or a positive number such as 1000")
    Filters(**_filters_dict(args)).where()  # UsageError for a bad --since/--until even when there is no database yet
    db = Path(args.db).expanduser() if args.db else paths.default_db_path()
    # Do not let a stats query create an empty database as a side effect.
    results, ladders_voted = collect(args, db, config) if db.is_file() else ([], [])
    from arena.cli.cmd_score import objective_for_reports  # bits per byte / KL from `arena score`, beside the votes

    objective = objective_for_reports(db, [r for r, _, _ in results])
    if args.json:
        reports_json = [
            {
                **r.to_dict(), "objective_checks": c.to_dict(), "objective_scores": objective.get(k, (None, None))[1],
                "team": None if t is None else t.to_dict(),  # voter names exact, as stored
            }
            for k, (r, c, t) in enumerate(results)
        ]  # fmt: skip
        payload = {"db": str(db), "filters": _filters_dict(args), "reports": reports_json}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    if not results and not ladders_voted:
        sys.stdout.write(visible(_no_votes_line(db, args)) + "\n")
        return 0
    note = "" if args.include_leaks else "Votes flagged as identity leaks are excluded (--include-leaks keeps them).\n"
    note += "".join(f"Ladder {l} has votes: `arena stats --ladder {l}` ranks its models.\n" for l in ladders_voted)
    texts = [
        render_text(r, c, fixed_n=args.fixed_n).rstrip("\n")
        + ("\n\n" + render_team_text(t, clean=one_line).rstrip("\n") if t is not None else "")  # voter names: one line each
        + ("\n\n" + "\n".join(objective[k][0]) if k in objective else "")
        for k, (r, c, t) in enumerate(results)
    ]
    # Model labels and categories in the report come from YAML and the database: through the one sanitizer.
    sys.stdout.write(visible("\n\n".join(texts) + "\n\n" + note))
    return 0
