"""Entry point: `arena` opens the TUI; subcommands do the jobs a person scripts.

Each subcommand lives in its own module `arena/cli/cmd_<name>.py` exposing
`register(subparsers) -> None` which adds a parser whose `func(args) -> int` runs it.
Errors: an `ArenaError` becomes one paragraph on stderr and its exit code; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from arena import __version__
from arena.errors import EXIT_USAGE, ArenaError
from arena.cli.output import err, install_log_handler

# Order is the order in `arena --help`.
COMMAND_MODULES = [
    "tui",  # arena tui / arena demo / arena play (the default when no subcommand is given)
    "models",  # arena models / pull / quantize / prepare-demo
    "plan",  # arena plan
    "validate",  # arena check (validates models.yaml and suites; "check" in code means an answer check)
    "stats",  # arena stats
    "score",  # arena score (bits per byte, KL divergence on your own text)
    "data",  # arena export / merge
]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-paragraph message instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        err(f"arena: {message}. Run '{self.prog} --help' for usage.")  # quotes what was typed
        raise SystemExit(EXIT_USAGE)


CONFIG_HELP = "models.yaml to use (default: $ARENA_CONFIG, ./models.yaml, or the shipped one)"
DB_HELP = "vote database (default: $ARENA_DB or the user data dir)"


def _global_options() -> argparse.ArgumentParser:
    """--config and --db as a parent of every subcommand, so `arena stats --db X` works like `arena --db X stats`.

    default=SUPPRESS: a subcommand that was not given the option leaves the value from before the subcommand alone.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    common.add_argument("--db", metavar="FILE", default=argparse.SUPPRESS, help=DB_HELP)
    return common


class _SubCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Adds the global options to every subcommand registered by the cmd_* modules."""

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:  # type: ignore[override]
        parents = list(kwargs.pop("parents", None) or [])  # type: ignore[call-overload]
        return super().add_parser(name, parents=[*parents, _global_options()], **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="arena", description="Quant Arena: is a big model at a harsh quant better than a small one at a light quant, for you?")
    parser.add_argument("--version", action="version", version=f"quant-arena {__version__}")
    parser.add_argument("--config", "-c", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--db", metavar="FILE", help=DB_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, action=_SubCommands)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"arena.cli.cmd_{name}")
        module.register(sub)
    return parser


def entry() -> int:
    """The `arena` command and `python -m arena` (tests call `main` directly, in a process they share)."""
    # sqlite-utils imports pandas at import time whenever it is installed (statsmodels, a test-only reference, pulls it
    # into the test venv): ~200 ms of start-up and ~40 MiB per process, for DataFrame support we never use. Marking it
    # absent in our own process makes sqlite-utils take its no-pandas path; nothing in arena imports pandas.
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    install_log_handler()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tui"])
    try:
        return int(args.func(args) or 0)
    except ArenaError as exc:
        err(f"arena: {exc.render()}")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("arena: interrupted.\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
