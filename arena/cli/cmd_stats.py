"""`arena stats`: win rates, significance, position bias and Bradley-Terry ratings from the vote database."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arena import paths
from arena.records import ModelFacts
from arena.errors import ArenaError, UsageError
from arena.stats.bradley_terry import DEFAULT_ROUNDS, DEFAULT_SEED
from arena.stats.checks import ChecksSummary
from arena.stats.render import render_text
from arena.stats.report import Report, build_report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "stats",
        help="win rates with 95%% CIs, p-values, position bias and ratings",
        description=(
            "Statistics over the recorded votes: each matchup's win rate over decided votes (Wilson 95% CI), exact "
            "binomial p-value, votes likely still needed for p < 0.05, ties-as-half rate, left/right position bias, "
            "per-category breakdown and Bradley-Terry ratings with bootstrap CIs. Votes whose answers named a model "
            "(identity leaks) are left out unless --include-leaks is given."
        ),
    )
    p.add_argument("--matchup", metavar="ID", help="only this matchup (default: every matchup with votes)")
    p.add_argument("--category", metavar="C", help="only votes on prompts of this category (e.g. code, math)")
    p.add_argument("--since", metavar="DATE", help="only votes at or after DATE (YYYY-MM-DD, or an ISO date-time; naive times are UTC)")
    p.add_argument("--until", metavar="DATE", help="only votes up to DATE; a bare date includes that whole day")
    p.add_argument("--voter", metavar="NAME", help="only votes cast by this voter")
    p.add_argument("--include-leaks", action="store_true", help="keep votes flagged as identity leaks")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, metavar="N", help=f"bootstrap rounds for rating CIs (default {DEFAULT_ROUNDS}; 0: none)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N", help=f"bootstrap seed (default {DEFAULT_SEED})")
    p.set_defaults(func=run)


def _labels(config_arg: str | None, facts: Mapping[str, ModelFacts]) -> dict[str, str]:
    """Display names: models.yaml's when it loads, else the names stored with the votes, else the ids.

    Labels are a nicety: a missing or broken config must not stop `arena stats` (the votes carry model ids).
    """
    labels = {model_id: fact.name for model_id, fact in facts.items() if fact.name}
    try:
        from arena.config.loader import load_config

        config = load_config(Path(config_arg) if config_arg else None)
    except (ArenaError, OSError):
        return labels
    for model_id, spec in config.models.items():
        labels[model_id] = spec.label
    return labels


def _filters_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "matchup": args.matchup,
        "category": args.category,
        "since": args.since,
        "until": args.until,
        "voter": args.voter,
        "include_leaks": bool(args.include_leaks),
    }


def _no_votes_line(db: Path, args: argparse.Namespace) -> str:
    narrowed = [f"{k} {v}" for k, v in _filters_dict(args).items() if v not in (None, False)]
    where = f" matching {', '.join(narrowed)}" if narrowed else ""
    return f"No votes yet{where} in {db}. Play a few rounds with `arena` (or `arena demo`), then run `arena stats` again."


def collect_reports(args: argparse.Namespace, db: Path) -> list[Report]:
    """One Report per matchup that has votes under the filters."""
    return [report for report, _ in collect(args, db)]


def collect(args: argparse.Namespace, db: Path) -> list[tuple[Report, ChecksSummary]]:
    """Per matchup with votes under the filters: its Report and its objective-check summary (same filters)."""
    # Imported here so `arena --help` stays fast.
    from arena.stats.checks import summarize_checks
    from arena.store import Filters, VoteStore
    from arena.store.checks import aggregate_checks

    base = _filters_dict(args)
    with VoteStore(db, create=False) as store:
        matchup_ids = [args.matchup] if args.matchup else store.matchups()
        labels = _labels(args.config, store.models())
        out: list[tuple[Report, ChecksSummary]] = []
        for matchup_id in matchup_ids:
            models = store.matchup_models(matchup_id)
            if models is None:
                continue
            filters = Filters(**{**base, "matchup": matchup_id})
            rows = store.aggregate(filters)
            if not rows:
                continue
            big, small = models
            report = build_report(rows, big, small, labels, matchup=matchup_id, rounds=args.rounds, seed=args.seed)
            checks = summarize_checks(aggregate_checks(store, filters), models=(big, small), labels=labels)
            out.append((report, checks))
    return out


def run(args: argparse.Namespace) -> int:
    from arena.store import Filters

    if args.rounds < 0:
        raise UsageError(f"--rounds {args.rounds} is negative", "give 0 (no bootstrap) or a positive number such as 1000")
    Filters(**_filters_dict(args)).where()  # UsageError for a bad --since/--until even when there is no database yet
    db = Path(args.db).expanduser() if args.db else paths.default_db_path()
    # Do not let a stats query create an empty database as a side effect.
    results = collect(args, db) if db.is_file() else []
    from arena.cli.cmd_score import objective_for_reports  # bits per byte / KL from `arena score`, beside the votes

    objective = objective_for_reports(db, [r for r, _ in results])
    if args.json:
        reports_json = [
            {**r.to_dict(), "objective_checks": c.to_dict(), "objective_scores": objective.get(k, (None, None))[1]}
            for k, (r, c) in enumerate(results)
        ]
        payload = {"db": str(db), "filters": _filters_dict(args), "reports": reports_json}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    if not results:
        sys.stdout.write(_no_votes_line(db, args) + "\n")
        return 0
    note = "" if args.include_leaks else "Votes flagged as identity leaks are excluded (--include-leaks keeps them).\n"
    texts = [
        render_text(r, c).rstrip("\n") + ("\n\n" + "\n".join(objective[k][0]) if k in objective else "")
        for k, (r, c) in enumerate(results)
    ]
    sys.stdout.write("\n\n".join(texts) + "\n\n" + note)
    return 0
