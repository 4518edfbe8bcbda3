"""`arena stats --ladder ID` / `--models a,b,c`: one Bradley-Terry ranking over every vote among a set of models, the
chart of rating against bits per weight (`--plot` in the terminal, `--plot FILE.png|svg` for a report), per category.

Kept apart from cmd_stats.py (which only adds the options and hands over) so ladder work does not collide with the
per-matchup report there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from arena import paths
from arena.errors import ArenaError, UsageError
from arena.stats.chart import FILE_SUFFIXES, chart_data, render_terminal, save_chart
from arena.stats.ladder import LadderReport, LadderResult, ladder_report, params_text, safe_facts

from arena.untrusted import visible as _visible  # the one sanitizer for untrusted text (names from YAML and the DB)

TERMINAL = "-"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ladder", metavar="ID", help="one ranking for this ladder of models.yaml, from every vote among its models")
    p.add_argument("--models", metavar="ID,ID,...", help="one ranking for these models (comma-separated ids), like --ladder")
    p.add_argument(
        "--plot", nargs="?", const=TERMINAL, metavar="FILE",
        help="with --ladder/--models: draw rating against bits per weight in the terminal, or into FILE (.png or .svg)",
    )  # fmt: skip


def requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "ladder", None) or getattr(args, "models", None))


def _models(args: argparse.Namespace) -> tuple[str | None, list[str], Any]:
    """(ladder id, model ids, config or None). Raises UsageError / ConfigError."""
    from arena.config.loader import load_config

    if args.ladder and args.models:
        raise UsageError("--ladder and --models were both given", "give one: a ladder id from models.yaml, or a list of model ids")
    config_path = Path(args.config) if args.config else None
    if args.ladder:
        config = load_config(config_path)  # a ladder needs the config: its errors (exit 2) are the person's to fix
        ladders = getattr(config, "ladders", {}) or {}
        ladder = ladders.get(args.ladder)
        if ladder is None:
            known = ", ".join(sorted(ladders)) or "none defined"
            raise UsageError(
                f"There is no ladder {_visible(repr(args.ladder))} in {config.path} (ladders: {_visible(known)})",
                "pass an id from the `ladders:` list of models.yaml, or rank any models with --models id1,id2,id3",
            )
        return args.ladder, list(dict.fromkeys(ladder.models)), config
    ids = list(dict.fromkeys(x.strip() for x in args.models.split(",") if x.strip()))
    if len(ids) < 2:
        raise UsageError(f"--models {_visible(repr(args.models))} names fewer than two models", "give two or more ids separated by commas")
    try:
        config = load_config(config_path)
    except (ArenaError, OSError):  # labels and families are a nicety for an ad-hoc ranking: the votes carry the ids
        config = None
    return None, ids, config


def build(args: argparse.Namespace, db: Path) -> LadderReport:
    from arena.cli.stats_common import filters_dict as _filters_dict
    from arena.cli.stats_common import labels as _labels
    from arena.store import Filters, VoteStore

    if args.matchup:
        raise UsageError("--matchup cannot be combined with --ladder/--models", "a ladder ranking pools every matchup; drop --matchup")
    ladder_id, models, config = _models(args)
    families = {m: _visible(spec.family) if spec.family else None for m, spec in (config.models.items() if config else [])}
    facts: dict[str, Any] = {}
    rows = []
    labels: dict[str, str] = {}
    if db.is_file():  # a stats query must not create an empty database as a side effect
        with VoteStore(db, create=False) as store:
            rows = store.aggregate(Filters(**_filters_dict(args)))
            facts = safe_facts(store.models(), _visible)
            labels = _labels(config, facts)
    elif config is not None:
        labels = {m: spec.label for m, spec in config.models.items()}
    labels = {m: _visible(labels.get(m, m)) for m in models}
    return ladder_report(rows, models, facts, labels, families, ladder_id=ladder_id, rounds=args.rounds, seed=args.seed)


def _size(n: int | None) -> str:
    return "-" if not n else f"{n / 1e9:.2f} GB"


def _ci(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.0f} to {high:.0f}"


def result_lines(result: LadderResult) -> list[str]:
    from arena.stats.render import table

    rows = [
        [
            "-" if e.rank is None else str(e.rank), e.label, "-" if e.rating is None else f"{e.rating:.0f}",
            _ci(e.ci_low, e.ci_high), str(e.votes), "-" if e.bits_per_weight is None else f"{e.bits_per_weight:.2f}",
            params_text(e.n_params) or "-", _size(e.file_size),
        ]
        for e in result.entries
    ]  # fmt: skip
    return table(["rank", "model", "rating", "95% CI", "votes", "bpw", "params", "file"], rows, left=2)


def render(report: LadderReport, include_leaks: bool) -> str:
    title = f"Ladder {_visible(report.ladder_id)}" if report.ladder_id else "Ranking"
    overall = report.overall
    lines = [f"{title}: {len(report.models)} models, {overall.votes} votes among them (every matchup and ladder)", ""]
    lines += result_lines(overall)
    lines += ["", overall.sentence]
    rounds = f"{report.rounds} Bayesian-bootstrap rounds, seed {report.seed}" if report.rounds else "no bootstrap"
    lines.append(f"(Bradley-Terry, Elo scale, mean 1000 over rated models; ties as half; 95% CI from {rounds}; rank 1 + models surely above)")
    if report.categories:
        lines += ["", "Per category:"]
        for name, result in report.categories.items():
            ranking = " · ".join(f"{e.label} {e.rating:.0f}" for e in result.entries if e.rating is not None)
            lines.append(f"  {_visible(name)} ({result.votes} votes): {ranking or 'no votes'}")
            lines.append(f"    {result.sentence}")
    if not include_leaks:
        lines += ["", "Votes flagged as identity leaks are excluded (--include-leaks keeps them)."]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from arena.cli.stats_common import filters_dict as _filters_dict
    from arena.store import Filters

    if args.rounds < 0:
        raise UsageError(f"--rounds {args.rounds} is negative", "give 0 (no bootstrap) or a positive number such as 1000")
    plot_file = None
    if args.plot and args.plot != TERMINAL:
        plot_file = Path(args.plot).expanduser()
        if plot_file.suffix.lower() not in FILE_SUFFIXES:
            raise UsageError(f"--plot {_visible(str(plot_file))}: unknown picture type", "name the file .png or .svg, or give --plot alone for the terminal")
    Filters(**_filters_dict(args)).where()  # UsageError for a bad --since/--until even without a database
    db = Path(args.db).expanduser() if args.db else paths.default_db_path()
    report = build(args, db)
    title = f"Ladder {_visible(report.ladder_id)}: rating against bits per weight" if report.ladder_id else "Rating against bits per weight"
    if plot_file is not None:
        save_chart(chart_data(report.overall, title), plot_file)
    if args.json:
        payload = {"db": str(db), "filters": _filters_dict(args), "ladder": report.to_dict()}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    text = render(report, bool(args.include_leaks))
    if args.plot == TERMINAL:
        width = max(60, min(shutil.get_terminal_size((100, 30)).columns, 120))
        chart = render_terminal(chart_data(report.overall, title), width=width, height=24, color=sys.stdout.isatty())
        text = chart + "\n" + text
    if plot_file is not None:
        text += f"Chart written to {_visible(str(plot_file))}.\n"
    sys.stdout.write(text)
    return 0
