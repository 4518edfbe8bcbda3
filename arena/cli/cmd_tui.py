"""`arena` / `arena tui` / `arena demo` / `arena play` / `arena serve`: the Textual app over the core."""

from __future__ import annotations

import argparse
import shlex
import sys

from arena.config.types import DisplayPolicy
from arena.errors import UsageError
from arena.paths import default_db_path


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--matchup", "-m", metavar="ID", help="open this matchup directly (default: the picker)")
    p.add_argument("--ladder", "-l", metavar="ID", help="play this ladder: each round a pair of its models, drawn blind")
    p.add_argument("--policy", choices=[x.value for x in DisplayPolicy], help="display policy (default from models.yaml: paced)")
    p.add_argument("--force", action="store_true", help="load even if the RAM preflight says the models do not fit")
    p.add_argument("--seed", type=int, help="seed for side assignment and sampling seeds (reproducible sessions)")
    p.add_argument("--voter", metavar="NAME", help="your name, recorded with each vote (teams pooling votes)")
    p.add_argument("--lock-stats", action="store_true",
                   help="team host: the session shows no statistics (the statistics screen says the host locked it)")
    p.add_argument("--suite", metavar="NAME|PATH", help="prompt suite: rounds draw its next unvoted prompt (see `arena suites`)")
    p.add_argument("--category", metavar="C", help="with --suite: only this category; without: category of free prompts")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tui", help="open the arena (the default when no command is given)")
    _common(p)
    # Set by `arena serve --team` for each browser session: play the models the team server runs (no local loading).
    p.add_argument("--team-gateway", metavar="URL", help=argparse.SUPPRESS)
    p.set_defaults(func=run_tui)

    p = sub.add_parser("demo", help="open the offline demo matchup (two small models shipped in PyPI packages)")
    _common(p)
    p.set_defaults(func=run_demo)

    p = sub.add_parser("play", help="suite mode or a ladder: `arena play --suite NAME [--category C]` / `arena play --ladder ID`")
    _common(p)
    p.set_defaults(func=run_play)

    p = sub.add_parser("serve", help="serve the arena in a web browser (textual-serve); --team: one loaded pair for many voters")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--team", action="store_true",
                   help="a team arena: load each model once (one model server each) and let every browser session "
                        "vote on it, queued fairly (see the README's \"Team arena\")")
    p.add_argument("--public-url", metavar="URL",
                   help="the address browsers use (default: http://HOST:PORT; with --host 0.0.0.0, this machine's name)")
    _common(p)
    p.set_defaults(func=run_serve)


def checked_voter(value: str | None) -> str | None:
    """`--voter` under the same rule as the team arena's name screen (arena.battle.voter); None stays None."""
    if value is None:
        return None
    from arena.battle.voter import check_voter_name

    check = check_voter_name(value)
    if check.name is None:
        raise UsageError(f"--voter: {check.reason}", "give a name of 1 to 40 characters without control characters")
    return check.name


def build_app(args: argparse.Namespace):  # -> ArenaApp; the import is deferred so `arena check` never loads Textual
    from arena.config.loader import load_config
    from arena.tui.app import ArenaApp

    voter = checked_voter(args.voter)
    config = load_config(args.config)
    if args.matchup and args.ladder:
        raise UsageError("--matchup and --ladder both name what to play", "give one of them")
    if args.ladder and args.ladder not in config.ladders:
        from arena.config.yamlsafe import suggest

        raise UsageError(
            f"There is no ladder '{args.ladder}' in {config.path}.{suggest(args.ladder, config.ladders)}",
            f"pick one of: {', '.join(config.ladders)}" if config.ladders else "add a ladders: list to models.yaml (see the shipped one)",
        )
    if args.matchup and args.matchup not in config.matchups:
        from arena.config.yamlsafe import suggest

        raise UsageError(
            f"There is no matchup '{args.matchup}' in {config.path}.{suggest(args.matchup, config.matchups)}",
            f"pick one of: {', '.join(config.matchups)}",
        )
    suite = None
    if args.suite:
        from arena.prompts.suite import load_suite

        suite = load_suite(args.suite)
        if args.category and not any(p.category == args.category for p in suite.prompts):
            cats = sorted({p.category for p in suite.prompts})
            raise UsageError(f"Suite '{suite.id}' has no prompts in category '{args.category}'", f"use one of: {', '.join(cats)}")
    return ArenaApp(
        config,
        args.db or default_db_path(),
        matchup_id=args.matchup or None,
        ladder_id=args.ladder or None,
        policy=DisplayPolicy(args.policy) if args.policy else None,
        suite=suite,
        category=args.category,
        force=args.force,
        seed=args.seed,
        voter=voter,
        lock_stats=args.lock_stats,
        team_gateway=getattr(args, "team_gateway", None),
    )


def run_tui(args: argparse.Namespace) -> int:
    app = build_app(args)
    app.run()
    return app.return_code or 0


def run_demo(args: argparse.Namespace) -> int:
    if not args.ladder:
        args.matchup = args.matchup or "demo"
    return run_tui(args)


def run_play(args: argparse.Namespace) -> int:
    if not args.suite and not args.ladder:
        raise UsageError("`arena play` needs a prompt suite or a ladder", "add --suite NAME (e.g. --suite all, --suite math), --suite PATH, or --ladder ID")
    return run_tui(args)


def run_serve(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("`arena serve` needs textual-serve", "pip install 'quant-arena[serve]' (or textual-serve)") from None
    args.voter = checked_voter(args.voter)  # refuse here, not in every browser session's spawned app
    if args.team:
        from arena.cli.team_serve import run_team

        return run_team(args, Server, session_argv, public_url(args))
    Server(shlex.join(session_argv(args)), host=args.host, port=args.port, title="Quant Arena",
           public_url=public_url(args)).serve()
    return 0


def public_url(args: argparse.Namespace) -> str:
    """Where browsers reach the web server. The page tells the browser where its websocket is: with --host 0.0.0.0
    that would be ws://0.0.0.0:PORT, which another machine's browser cannot reach, so name this machine instead."""
    if args.public_url:
        return str(args.public_url).rstrip("/")
    host = args.host
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.getfqdn() or socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{args.port}"


def session_argv(args: argparse.Namespace, **overrides: str | None) -> list[str]:
    """The command textual-serve runs for each browser connection: `arena tui` with the serve command's options."""
    argv = [sys.executable, "-m", "arena"]
    if args.config:
        argv += ["--config", args.config]
    if args.db:
        argv += ["--db", args.db]
    argv.append("tui")
    values = {opt: getattr(args, opt) for opt in ("matchup", "ladder", "policy", "seed", "voter", "suite", "category")}
    values |= overrides
    for opt, value in values.items():
        if value is not None:
            argv += [f"--{opt.replace('_', '-')}", str(value)]
    if args.force:
        argv.append("--force")
    if getattr(args, "lock_stats", False):
        argv.append("--lock-stats")
    return argv
