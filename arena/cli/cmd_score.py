"""`arena score`: objective evidence on your own text: bits per byte, perplexity, KL divergence vs the best quant."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arena import paths
from arena.errors import UsageError

KL_FIELDS = ("kld_mean", "kld_p99", "kld_max", "same_top_pct")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "score",
        help="bits per byte, perplexity and KL divergence of each model on your own text",
        description=(
            "Score texts through each model's logits (llama.cpp): bits per byte (total negative log-likelihood in bits "
            "/ UTF-8 bytes: comparable across tokenizers, lower is better), perplexity (per token: NOT comparable across "
            "tokenizers) and, for models sharing a tokenizer, KL divergence against the highest-precision one present "
            "(mean, 99th percentile, max) and the share of tokens where both pick the same most likely token. Long texts "
            "are read in windows of --window tokens; each later window scores its last --stride tokens. Results are "
            "cached in the vote database, so a re-run is instant, and shown by `arena stats`. A score is not a "
            "preference: the votes answer which answers you like."
        ),
    )
    p.add_argument("target", nargs="+", metavar="TARGET", help="a matchup id, a ladder id, or model ids")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", nargs="+", metavar="FILE", help="UTF-8 text files to score")
    src.add_argument("--suite", metavar="NAME", help="score a built-in prompt suite's reference answers (prompt + notes)")
    p.add_argument("--window", type=int, default=None, metavar="N", help="tokens per pass (default 1024, capped by each model's training context)")
    p.add_argument("--stride", type=int, default=None, metavar="N", help="new tokens scored per later window (default: half the window)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON: {\"models\": [{id, bits_per_byte, perplexity, ...}]}")
    p.set_defaults(func=run)


def resolve_targets(config: Any, targets: list[str]) -> list[str]:
    """Model ids from matchup ids, ladder ids (if the catalog has ladders) and model ids, in order, without repeats."""
    ladders = getattr(config, "ladders", {}) or {}
    ids: list[str] = []
    for target in targets:
        if target in config.matchups:
            m = config.matchups[target]
            ids += [m.big, m.small]
        elif target in ladders:
            ladder = ladders[target]
            members = getattr(ladder, "models", None) or getattr(ladder, "contenders", None) or ladder
            ids += [str(getattr(x, "id", x)) for x in members]
        elif target in config.models:
            ids.append(target)
        else:
            from difflib import get_close_matches

            close = get_close_matches(target, [*config.matchups, *ladders, *config.models], n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UsageError(
                f"'{target}' is neither a matchup, a ladder nor a model in {config.path}",
                f"{hint}run `arena models` to list the ids",
            )
    return list(dict.fromkeys(ids))


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --"
    s = int(round(seconds))
    return f"ETA {s // 60}m{s % 60:02d}s" if s >= 60 else f"ETA {s}s"


def progress_bar(stream: Any = None) -> Any:
    """A progress line with ETA on stderr: redrawn in place on a terminal (at most 10 times a second), a line per
    quarter otherwise (logs)."""
    from arena.untrusted import visible as visible_text

    out = stream or sys.stderr
    tty = out.isatty()
    state = {"last": 0.0, "quarter": -1}

    def show(fraction: float, eta: float | None, message: str) -> None:
        now = time.monotonic()
        message = visible_text(message)
        if tty:
            if fraction < 1.0 and now - state["last"] < 0.1:
                return
            state["last"] = now
            width = 28
            filled = int(width * max(0.0, min(1.0, fraction)))
            out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {_fmt_eta(eta)}  {message}\033[K")
            if fraction >= 1.0:
                out.write("\n")
        else:
            quarter = int(fraction * 4)
            if quarter == state["quarter"]:
                return
            state["quarter"] = quarter
            out.write(f"arena: scoring {fraction * 100:3.0f}% {_fmt_eta(eta)} {message}\n")
        out.flush()

    return show


def _num(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def render_table(results: list[Any], texts: int, n_bytes: int, settings_line: str) -> str:
    from arena.stats.render import table
    from arena.untrusted import visible as visible_text

    rows = []
    for r in results:
        ref = "(reference)" if r.is_reference else (visible_text(r.reference) if r.reference else "-")
        rows.append([
            visible_text(r.label), _num(r.bits_per_weight, 2), _num(r.bits_per_byte, 4), _num(r.perplexity, 2), str(r.tokens),
            _num(r.kld_mean, 5), _num(r.kld_p99, 4), _num(r.kld_max, 3),
            "-" if r.same_top_pct is None else f"{r.same_top_pct:.1f}", ref,
        ])  # fmt: skip
    headers = ["model", "bpw", "bits/byte", "ppl*", "tokens", "KLD mean", "KLD p99", "KLD max", "same top%", "KL vs"]
    lines = [f"Scored {texts} text{'s' * (texts != 1)} ({n_bytes:,} bytes); {settings_line}.", ""]
    lines += table(headers, rows)
    lines.append("")
    lines.append("bits/byte: total negative log-likelihood in bits / UTF-8 bytes (lower = predicts the text better; comparable across tokenizers).")
    lines.append("ppl*: perplexity per token, NOT comparable across tokenizers. KLD: KL divergence (nats/token) from the highest-precision")
    lines.append("model with the same tokenizer; same top%: tokens where both pick the same most likely next token. A score is not a preference.")
    best = [r for r in results if r.bits_per_byte is not None]
    if len(best) > 1:
        winner = min(best, key=lambda r: r.bits_per_byte)
        lines.append(f"Lowest bits per byte: {visible_text(winner.label)} ({winner.bits_per_byte:.4f}).")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from arena.battle.scoring import DEFAULT_WINDOW, ScoreRun, contender, texts_from_files, texts_from_suite
    from arena.models.backend import cpu_threads
    from arena.config.loader import load_config
    from arena.store import VoteStore

    for name in ("window", "stride", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name} {value} must be a positive number")
    config = load_config(Path(args.config).expanduser() if args.config else None)
    ids = resolve_targets(config, args.target)
    contenders = [contender(config.models[i], config) for i in ids]
    texts = texts_from_files(args.text) if args.text else texts_from_suite(args.suite)
    db = Path(args.db).expanduser() if args.db else paths.default_db_path()
    from arena.engine.scoring import ScoreCancelled

    stop = threading.Event()
    with VoteStore(db) as store, _sigint_sets(stop):
        job = ScoreRun(
            contenders, texts, store, window=args.window or DEFAULT_WINDOW, stride=args.stride,
            threads=args.threads or cpu_threads(), progress=progress_bar(), cancel=stop.is_set,
        )  # fmt: skip
        try:
            results = job.run()
        except (KeyboardInterrupt, ScoreCancelled):
            sys.stderr.write("\n")
            sys.stderr.write("arena: scoring cancelled; finished (model, text) passes are kept in the cache, nothing partial was stored.\n")
            return 130
    n_bytes = sum(len(t.text.encode("utf-8")) for t in texts)
    windows = ", ".join(f"window {w} tokens" for w in sorted({g.window for g in job._groups}))
    stride_line = f"stride {args.stride}" if args.stride else "stride half the window"
    if args.json:
        payload = {"models": [_json_model(r) for r in results], "texts": [t.name for t in texts], "bytes": n_bytes,
                   "passes_computed": job.computed, "db": str(db)}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(render_table(results, len(texts), n_bytes, f"{windows}, {stride_line}; {job.computed} pass(es) computed, the rest from the cache"))
    return 0


@contextlib.contextmanager
def _sigint_sets(event: threading.Event) -> Iterator[None]:
    """ctrl+c sets `event` (polled by llama.cpp's abort callback, so even a long batch stops within a graph node);
    a second ctrl+c interrupts at once. Only on the main thread; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _json_model(r: Any) -> dict[str, Any]:
    d = {
        "id": r.id,
        "label": r.label,
        "bits_per_byte": r.bits_per_byte,
        "perplexity": r.perplexity,
        "tokens": r.tokens,
        "bytes": r.bytes,
        "kld_mean": r.kld_mean,
        "kld_p99": r.kld_p99,
        "kld_max": r.kld_max,
        "same_top_pct": r.same_top_pct,
        "reference": r.reference,
        "is_reference": r.is_reference,
        "bits_per_weight": r.bits_per_weight,
    }
    return d


def objective_for_reports(db: Path, reports: list[Any]) -> dict[int, tuple[list[str], dict[str, Any]]]:
    """For `arena stats`: per report (by position), the objective lines and JSON of its two models, where scored.

    Never fails the stats command: a database without scores (or an older schema) just shows nothing extra.
    """
    from arena.errors import ArenaError
    from arena.stats.objective import objective_lines
    from arena.store import VoteStore
    from arena.store.scores import matchup_scores
    from arena.untrusted import visible as visible_text

    out: dict[int, tuple[list[str], dict[str, Any]]] = {}
    if not db.is_file() or not reports:
        return out
    try:
        with VoteStore(db, create=False) as store:
            for k, report in enumerate(reports):
                found = matchup_scores(store, report.big, report.small)
                if found is None:
                    continue
                big, small = found
                pair = report.pair
                lines = objective_lines(
                    big, small, big_wins=pair.big_wins, small_wins=pair.small_wins, significant=bool(pair.significant),
                    labels=report.labels,
                )  # fmt: skip
                lines = [visible_text(line) for line in lines]  # labels come from models.yaml: untrusted
                out[k] = (lines, {"big": _json_model(big), "small": _json_model(small), "summary": lines[-1].strip()})
    except ArenaError:
        return out
    return out
