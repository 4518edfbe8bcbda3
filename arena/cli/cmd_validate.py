"""`arena check [FILE ...]`: validate models.yaml and prompt-suite files without loading any model.

In code this is "validate" (validate_target): "check" there means an objective answer check (arena.prompts.checks,
arena.stats.checks, arena.store.checks). The command keeps its name, `arena check`, which people and scripts use.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from arena.config.loader import config_from_node
from arena.config.yamlsafe import read_document
from arena.errors import ArenaError
from arena.models.presence import missing_note
from arena.paths import default_config_path
from arena.prompts.suite import ALL, builtin_suite_names, is_builtin_path, load_suite, suite_from_node
from arena.prompts.types import Suite


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "check",
        help="validate models.yaml or prompt-suite files",
        description=(
            "Validate models.yaml (default: --config, $ARENA_CONFIG, ./models.yaml or the shipped one) or prompt-suite "
            "files (recognized by their top-level 'prompts' key). A FILE may also be a built-in suite name or 'all'. "
            "Prints a summary and exits 0, or prints one paragraph naming the file, line, field and fix and exits 2. "
            "Models whose files are not on this machine yet are noted, not errors."
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
                print(line)
        except ArenaError as exc:
            # Report every file's problem in one run, each as its own paragraph.
            failed = max(failed, exc.exit_code)
            sys.stderr.write(f"arena: {exc.render()}\n")
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
    lines = [f"ok: {len(config.models)} models, {len(config.matchups)} matchups ({path})"]
    for spec in config.models.values():
        note = missing_note(spec, config)
        if note:
            lines.append(f"  note: {note}")
    return lines


def _suite_summary(label: str, suite: Suite) -> str:
    cats = Counter(p.category for p in suite.prompts)
    with_checks = sum(1 for p in suite.prompts if p.check is not None)
    by_cat = ", ".join(f"{c} {n}" for c, n in sorted(cats.items()))
    return f"ok: {label}: suite '{suite.id}', {len(suite.prompts)} prompts ({by_cat}; {with_checks} with objective checks)"
