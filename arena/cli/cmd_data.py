"""`arena export` (CSV, JSONL, FastChat battles) and `arena merge` (votes from another arena DB)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from arena import paths
from arena.errors import ArenaError, UsageError
from arena.cli.output import err, out
from arena.untrusted import visible

if TYPE_CHECKING:
    from arena.store import Filters


def add_filter_args(p: argparse.ArgumentParser, *, leaks_default: bool) -> None:
    """The vote filters shared with `arena stats`."""
    p.add_argument("--matchup", metavar="ID", help="only this matchup")
    p.add_argument("--category", metavar="C", help="only votes on prompts of this category (e.g. code, math)")
    p.add_argument("--since", metavar="DATE", help="only votes at or after DATE (YYYY-MM-DD or ISO date-time; naive = UTC)")
    p.add_argument("--until", metavar="DATE", help="only votes up to DATE, inclusive (a bare date includes that whole day)")
    p.add_argument("--voter", metavar="NAME", help="only votes cast by this voter")
    leaks = p.add_mutually_exclusive_group()
    leaks.add_argument(
        "--include-leaks", dest="include_leaks", action="store_true", default=leaks_default,
        help="keep votes whose answers named a model family" + (" (the default here)" if leaks_default else ""),
    )  # fmt: skip
    leaks.add_argument(
        "--exclude-leaks", dest="include_leaks", action="store_false",
        help="drop identity-leak votes" + ("" if leaks_default else " (the default, as in `arena stats`)"),
    )  # fmt: skip


def filters_from_args(args: argparse.Namespace) -> Filters:
    from arena.store import Filters  # imported here so `arena --help` stays fast

    filters = Filters(
        matchup=args.matchup, category=args.category, since=args.since, until=args.until, voter=args.voter,
        include_leaks=bool(args.include_leaks),
    )  # fmt: skip
    filters.where()  # validate --since/--until now: a UsageError before any output file is touched
    return filters


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if getattr(args, "db", None) else paths.default_db_path()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "export",
        help="write the votes as CSV, JSONL or FastChat battles",
        description=(
            "Write the recorded votes, oldest first. jsonl: one vote per line with every column, exact (text round-trips "
            "byte for byte). csv: the same columns, structured ones as JSON. fastchat: a JSON list in the battle format "
            "of FastChat's clean_battle_*.json, readable by its elo_analysis.py. As in `arena stats`, votes whose answers "
            "named a model (identity leaks) are left out unless --include-leaks is given, so ratings computed from the "
            "export agree with `arena stats`."
        ),
    )
    p.add_argument("--format", "-f", choices=("jsonl", "csv", "fastchat"), default="jsonl", help="output format (default jsonl)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    p.add_argument(
        "--what", choices=("votes", "scores"), default="votes",
        help="votes (default), or the objective scores cached by `arena score` (JSONL: one model x text per line)",
    )  # fmt: skip
    add_filter_args(p, leaks_default=False)  # the same default as `arena stats`
    p.set_defaults(func=run_export)

    m = subparsers.add_parser(
        "merge",
        help="copy votes from another arena vote database into this one",
        description=(
            "Copy every vote (and its models' facts) from OTHER, another Quant Arena votes.db, into this database "
            "(--db / ARENA_DB). Votes already present (same uuid) are skipped, so merging twice adds nothing. "
            "OTHER is opened read-only."
        ),
    )
    m.add_argument("other", metavar="OTHER.db", help="the database to copy votes from")
    m.set_defaults(func=run_merge)


class _VisibleStream:
    """A text stream that writes through `arena.untrusted.visible` (newlines kept)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(visible(text))

    def flush(self) -> None:
        self._stream.flush()


@contextlib.contextmanager
def _output(target: str | None, fmt: str) -> Iterator[TextIO]:
    """stdout, or FILE written via FILE.partial and renamed at the end: an interrupted export never looks complete."""
    newline = "" if fmt == "csv" else "\n"
    if target is None or target == "-":
        stream = sys.stdout
        if fmt == "csv":
            stream.reconfigure(newline="", errors="backslashreplace")  # type: ignore[attr-defined]
        # On a terminal the export is read, not saved: CSV cells hold raw answer text, so draw it through the one
        # sanitizer. Into a pipe or a file it stays exact (jsonl and fastchat are ASCII-escaped JSON either way).
        yield _VisibleStream(stream) if stream.isatty() else stream  # type: ignore[misc]
        stream.flush()
        return
    final = Path(target).expanduser()
    if final.exists() and not final.is_file():  # /dev/null, a FIFO, /dev/stdout: write in place, never rename over it
        try:
            with open(final, "w", encoding="utf-8", newline=newline, errors="backslashreplace") as stream:
                yield stream
        except OSError as exc:
            raise ArenaError(f"Cannot write {final}: {exc.strerror or exc}", "choose a writable path with -o FILE") from exc
        return
    partial = final.with_name(final.name + ".partial")
    try:
        # errors="backslashreplace": CSV is the one non-ASCII writer; a lone surrogate must not abort a long export.
        handle = open(partial, "w", encoding="utf-8", newline=newline, errors="backslashreplace")
    except OSError as exc:
        raise ArenaError(f"Cannot write {final}: {exc.strerror or exc}", "choose a writable path with -o FILE") from exc
    try:
        with handle:
            yield handle
        os.replace(partial, final)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def run_export(args: argparse.Namespace) -> int:
    from arena.store import VoteStore
    from arena.store.export import WRITERS

    if getattr(args, "what", "votes") == "scores":
        return run_export_scores(args)
    filters = filters_from_args(args)
    db = _db_path(args)
    store = VoteStore(db, create=False)
    try:
        try:
            with _output(args.output, args.format) as stream:
                n = WRITERS[args.format](store.iter_votes(filters), stream)
        except BrokenPipeError:
            # `arena export | head`: the reader has all it wanted. Point stdout at /dev/null so the interpreter's final
            # flush does not raise again, and stop quietly, like other Unix tools.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except OSError as exc:
            raise ArenaError(f"Writing the export failed: {exc.strerror or exc}", "check free space and the -o path") from exc
    finally:
        store.close()
    where = args.output if args.output not in (None, "-") else "standard output"
    err(f"arena: exported {n} vote{'s' * (n != 1)} from {db} to {where} ({args.format}).")
    return 0


def run_export_scores(args: argparse.Namespace) -> int:
    """`arena export --what scores`: the score cache as JSONL (KL per token summarized as mean and max)."""
    from arena.store import VoteStore
    from arena.store.export import write_jsonl
    from arena.store.scores import iter_score_rows

    if args.format != "jsonl":
        raise UsageError(f"--what scores is written as JSONL only, not {args.format}", "drop --format or use --format jsonl")
    narrowed = [name for name in ("matchup", "category", "since", "until", "voter") if getattr(args, name, None)]
    if narrowed:
        raise UsageError(f"--{narrowed[0]} filters votes; scores have no such field", "drop it with --what scores")
    db = _db_path(args)
    with VoteStore(db, create=False) as store:
        rows = list(iter_score_rows(store))
    with _output(args.output, "jsonl") as out:
        n = write_jsonl(rows, out)
    where = args.output if args.output not in (None, "-") else "standard output"
    sys.stderr.write(f"arena: exported {n} score row{'s' * (n != 1)} from {db} to {where} (jsonl).\n")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from arena.store import VoteStore

    other = Path(args.other).expanduser()
    if not other.is_file():
        raise UsageError(f"Cannot merge {other}: there is no such file", "give the path of another arena votes.db")
    store = VoteStore(_db_path(args))
    try:
        result = store.merge_from(other)
    finally:
        store.close()
    out(
        f"Merged {other} into {store.path}: {result.added} vote{'s' * (result.added != 1)} added, "
        f"{result.skipped} already present (skipped), {result.models_added} new model{'s' * (result.models_added != 1)}."
    )
    if result.models_differing:
        out(
            "Note: these model ids name different files in the two databases (fingerprints differ); "
            f"this database's facts were kept: {', '.join(result.models_differing)}."
        )
    return 0
