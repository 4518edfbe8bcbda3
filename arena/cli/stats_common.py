"""What `arena stats` and its ladder report share: the vote filters from the options, display labels, the catalog.

Its own module so that cmd_stats (which hands ladder options over to ladder_stats) and ladder_stats do not import
each other (the layer contract forbids import loops).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arena.config.types import Config
from arena.errors import ArenaError
from arena.records import ModelFacts


def labels(config: Config | None, facts: Mapping[str, ModelFacts]) -> dict[str, str]:
    """Display names: models.yaml's when it loaded (config_quietly), else the names stored with the votes, else the ids.

    Labels are a nicety: a missing or broken config must not stop `arena stats` (the votes carry model ids).
    """
    labels = {model_id: fact.name for model_id, fact in facts.items() if fact.name}
    for model_id, spec in (config.models.items() if config is not None else ()):
        labels[model_id] = spec.label
    return labels


def config_quietly(config_arg: str | None) -> Config | None:
    """The catalog if it loads, else None: like the labels, the true roles are a nicety, never a reason to fail."""
    try:
        from arena.config.loader import load_config

        return load_config(Path(config_arg) if config_arg else None)
    except (ArenaError, OSError):
        return None


def filters_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "matchup": args.matchup,
        "category": args.category,
        "since": args.since,
        "until": args.until,
        "voter": args.voter,
        "include_leaks": bool(args.include_leaks),
    }
