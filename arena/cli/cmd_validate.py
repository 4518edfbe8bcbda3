"""`arena check [FILE ...]`: validate models.yaml and prompt-suite files without loading any model.

In code this is "validate" (validate_target): "check" there means an objective answer check (arena.prompts.checks,
arena.stats.checks, arena.store.checks). The command keeps its name, `arena check`, which people and scripts use.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from arena.config.loader import config_from_node
from arena.config.types import Config
from arena.config.yamlsafe import read_document
from arena.errors import ArenaError
from arena.paths import default_config_path
from arena.prompts.suite import ALL, builtin_suite_names, is_builtin_path, load_suite, suite_from_node
from arena.prompts.types import Suite
from arena.cli.output import err, out
from arena.models.presence import missing_note


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "check",
        help="validate models.yaml or prompt-suite files",
        description=(
            "Validate models.yaml (default: --config, $ARENA_CONFIG, ./models.yaml or the shipped one) or prompt-suite "
            "files (recognized by their top-level 'prompts' key). A FILE may also be a built-in suite name or 'all'. "
            "Prints a summary and exits 0, or prints one paragraph naming the file, line, field and fix and exits 2. "
            "Models whose files are not on this machine yet are noted, not errors. Each matchup is compared from the "
            "GGUF facts where its files are on disk (the catalog's params/quant labels otherwise): a matchup that is not "
            "big-harsh vs small-light (a bigger model at fewer bits per weight than the smaller one), or not "
            "memory-matched (the larger RAM need more than 25% above the smaller), prints a warning; warnings keep "
            "the exit code 0."
        ),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="files to check (default: the models.yaml in use)")
    p.add_argument("--suites", action="store_true", help="also validate every built-in prompt suite")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    targets: list[str] = list(args.files)
    if not targets:
        targets.append(str(Path(args.config).expanduser()) if getattr(args, "config", None) else str(default_config_path()))
    if getattr(args, "suites", False):
        targets.append(ALL)
    failed = 0
    for target in targets:
        try:
            for line in validate_target(target):
                out(line)
        except ArenaError as exc:
            # Report every file's problem in one run, each as its own paragraph.
            failed = max(failed, exc.exit_code)
            err(f"arena: {exc.render()}")
    sys.stdout.flush()
    return failed


def validate_target(target: str) -> list[str]:
    """Validate one file (or built-in suite name); return the lines to print. Raises ArenaError on a problem."""
    path = Path(target).expanduser()
    if not path.exists() and (target == ALL or target in builtin_suite_names()):
        return [_suite_summary(target, load_suite(target))]
    root = read_document(path, "YAML file")
    keys = {str(k.value) for k, _ in root.value}
    if "prompts" in keys and "models" not in keys:
        return [_suite_summary(str(path), suite_from_node(path, root, builtin=is_builtin_path(path)))]
    config = config_from_node(path, root)
    ladders = f", {len(config.ladders)} ladders" if config.ladders else ""
    lines = [f"ok: {len(config.models)} models, {len(config.matchups)} matchups{ladders} ({path})"]
    for spec in config.models.values():
        note = missing_note(spec, config)
        if note:
            lines.append(f"  note: {note}")
    lines += matchup_warnings(config)
    return lines


def matchup_warnings(config: Config) -> list[str]:
    """'  warning: matchup ID: ...' for each matchup whose facts contradict its big/small slots or its memory match."""
    from arena.models.contenders import compare_matchup, derived_fallback_note

    lines = []
    cache: dict[str, Any] = {}  # each model's header is read once
    for matchup in config.matchups.values():
        for warning in compare_matchup(config, matchup, cache=cache).warnings():
            lines.append(f"  warning: matchup {matchup.id}: {warning}")
        for model_id in (matchup.big, matchup.small):
            note = derived_fallback_note(config.model(model_id), config)
            if note:
                lines.append(f"  warning: matchup {matchup.id}: {model_id}: {note}")
    return lines


def _suite_summary(label: str, suite: Suite) -> str:
    cats = Counter(p.category for p in suite.prompts)
    with_checks = sum(1 for p in suite.prompts if p.check is not None)
    by_cat = ", ".join(f"{c} {n}" for c, n in sorted(cats.items()))
    return f"ok: {label}: suite '{suite.id}', {len(suite.prompts)} prompts ({by_cat}; {with_checks} with objective checks)"
