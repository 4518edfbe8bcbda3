"""`arena plan`: the memory-matched pairs and ladders worth running in this machine's RAM (or a given amount)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from arena.errors import UsageError
from arena.models.facts import format_bytes, format_params

if TYPE_CHECKING:
    from arena.models.plan import Pair, Plan


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "plan",
        help="memory-matched pairs and ladders that fit your RAM, and what `arena pull` would download",
        description=(
            "Plan matchups for the memory available (MemAvailable) or given with --ram: the catalog's matchups and "
            "other pairs worth running (same family, the bigger model at fewer bits per weight, memory-matched within "
            "--tolerance, fitting the RAM), ladders (three or more models of a family whose largest two fit together), "
            "from models.yaml and from GGUF files already on this machine (Hugging Face cache, the directories of "
            "`path` sources, arena's models dir). RAM per model is the preflight's estimate: weights + KV cache at the "
            "model's n_ctx + compute buffers, plus 150 MB for the app per pair; exact for files on disk, marked ~ "
            "otherwise. Also names the quant files the catalog lacks; online, lists the real files and sizes of the "
            "catalog's Hugging Face repos. Offline (HF_HUB_OFFLINE=1, --offline, or no network) it uses the catalog "
            "and local files only and says so."
        ),
    )
    p.add_argument("--ram", metavar="SIZE", help="memory to plan for, e.g. 16G (10^9 bytes) or 16GiB (default: available now)")
    p.add_argument("--family", metavar="NAME", help="only this model family (as in models.yaml, e.g. qwen2.5)")
    p.add_argument("--tolerance", type=float, default=None, metavar="F", help="memory-matched if the larger need <= (1 + F) x the smaller (default 0.25)")
    p.add_argument("--offline", action="store_true", help="never use the network (no Hub listings)")
    p.add_argument("--listing-timeout", type=float, default=None, metavar="S", help="seconds to wait for the Hub listings (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _gb(n: int | None, exact: bool = True) -> str:
    if n is None:
        return "?"
    return format_bytes(n) if exact else "~" + format_bytes(n)


def run(args: argparse.Namespace) -> int:
    from arena.config.loader import load_config
    from arena.models.compare import MEMORY_TOLERANCE
    from arena.models.plan import build_plan, list_gguf_files, offline_reason, parse_ram, LISTING_TIMEOUT_S
    from arena.models.preflight import available_memory

    tolerance = MEMORY_TOLERANCE if args.tolerance is None else args.tolerance
    if not 0 <= tolerance <= 10:
        raise UsageError(f"--tolerance {args.tolerance} is out of range", "give a fraction such as 0.25 (25%)")
    if args.ram:
        ram, ram_source = parse_ram(args.ram), "--ram"
    else:
        found = available_memory()
        if found is None:
            raise UsageError("The available memory cannot be read on this system", "give it with --ram, e.g. --ram 16G")
        ram, ram_source = found, "available now (MemAvailable)"
    config = load_config(Path(args.config).expanduser() if getattr(args, "config", None) else None)
    if args.family and args.family not in {s.family for s in config.models.values()}:
        families = ", ".join(sorted({s.family for s in config.models.values() if s.family}))
        sys.stderr.write(f"arena: note: no catalog model has family '{args.family}' (catalog families: {families}); "
                         "only files on disk can match.\n")  # fmt: skip
    reason = offline_reason(args.offline)
    plan = build_plan(config, ram, ram_source=ram_source, family=args.family, tolerance=tolerance, offline=reason,
                      listing=list_gguf_files, listing_timeout_s=args.listing_timeout or LISTING_TIMEOUT_S)  # fmt: skip
    if args.json:
        sys.stdout.write(json.dumps({"config": str(config.path), **plan.to_dict()}, indent=2) + "\n")
        return 0
    from arena.untrusted import visible  # the one sanitizer: GGUF names, file names and Hub listings are untrusted

    sys.stdout.write(visible(render(plan, str(config.path))))
    return 0


def render(plan: Plan, config_path: str) -> str:
    """The plan as plain text (the caller passes it through the sanitizer: names and listings are untrusted)."""
    from arena.models.preflight import RUNTIME_OVERHEAD

    lines = [f"Plan for {format_bytes(plan.ram)} of RAM ({plan.ram_source}), catalog {config_path}"]
    lines.append(
        f"offline: catalog and files on disk only ({plan.offline_reason})" if plan.offline
        else "online: the catalog's Hugging Face repos were listed"
    )
    lines.append(
        f"RAM per pair = both models' weights + KV cache at their n_ctx + compute buffers (the preflight's estimate) + "
        f"{format_bytes(RUNTIME_OVERHEAD)} for the app; memory-matched = the larger need within {plan.tolerance:.0%} of the smaller."
    )

    def pair_line(p: Pair) -> str:
        c = p.comparison
        status = "fits   " if p.fits else "too big"
        r = c.memory_ratio
        matched = "memory need unknown" if r is None else (
            f"memory-matched ({r:.2f}x)" if c.memory_matched else f"not memory-matched ({r:.1f}x)"
        )  # fmt: skip
        pull = p.pull_bytes
        pull_text = "on disk" if pull == 0 and all(x.on_disk for x in (p.big, p.small)) else (
            f"pull {_gb(pull, all(x.pull_basis != 'estimate' for x in (p.big, p.small)))}" if pull else "built locally"
        )  # fmt: skip
        head = f"  {status}  {p.matchup + ': ' if p.matchup else ''}{p.big.label} + {p.small.label}"
        notes = "".join(f"\n           note: {x.id}: {x.fallback_note}" for x in (p.big, p.small) if x.fallback_note)
        return f"{head}\n           RAM {_gb(p.needed, p.exact)} · {pull_text} · {c.shape} · {matched}{notes}"

    lines += ["", "Catalog matchups:"]
    lines += [pair_line(p) for p in plan.matchups] or ["  (none)"]
    lines += ["", "Other memory-matched pairs that fit (same family, bigger model at fewer bits per weight):"]
    lines += [pair_line(p) for p in plan.pairs] or ["  (none)"]
    lines += ["", "Ladders that fit (one family at several sizes and quants; two run at a time):"]
    lines += [
        f"  {ladder.family}: {', '.join(ladder.models)}\n           peak pair RAM {_gb(ladder.peak_needed, ladder.exact)} · "
        f"pull {_gb(ladder.pull_bytes)} · {ladder.origin}"
        for ladder in plan.ladders
    ] or ["  (none)"]
    extra = [c for c in plan.candidates if not c.in_catalog]
    if extra:
        lines += ["", "GGUF files on this machine that models.yaml does not name (add them to run them):"]
        for c in extra:
            need = c.need.total if c.need else None
            lines.append(
                f"  {c.label} · family {c.family or '?'} · {format_params(c.n_params)} params · "
                f"{c.bpw or 0:.2f} bits/weight · RAM {_gb(need)} at n_ctx {c.need.n_ctx if c.need else '?'}\n    {c.path}"
            )
    lines += ["", "Quants the catalog lacks: look for these files (publishers' usual names):"]
    for x in plan.look_for:
        missing = [p.removeprefix(x.stem + "-").removesuffix(".gguf") for p in x.patterns]
        lines.append(f"  {x.repo} (catalog has {', '.join(x.have)})")
        if missing:
            lines.append(f"    look for {x.stem}-<QUANT>.gguf, QUANT one of {', '.join(missing)}")
        if x.listing is not None:
            files = ", ".join(f"{f} {_gb(s)}" for f, s in x.listing) or "no .gguf files"
            lines += textwrap.wrap(f"on the Hub: {files}", 116, initial_indent="    ", subsequent_indent="      ",
                                   break_on_hyphens=False, break_long_words=False)
        elif x.listing_error:
            lines.append(f"    listing failed: {x.listing_error}")
    if not plan.look_for:
        lines.append("  (no Hugging Face models in the catalog)")
    if plan.notes:
        lines.append("")
        lines += plan.notes
    return "\n".join(lines) + "\n"
