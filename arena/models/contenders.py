"""Build the comparison of a matchup from what this machine knows: GGUF facts where the file is on disk (or stored with
the votes), the catalog's `params` / `quant` labels otherwise. No network, no weights loaded (headers only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arena.config.types import Config, Matchup, ModelSpec, RemoteSource
from arena.errors import ArenaError
from arena.models.compare import MEMORY_TOLERANCE, Comparison, Contender
from arena.records import ModelFacts


def catalog_facts(spec: ModelSpec, config: Config) -> ModelFacts | None:
    """The model's facts from its GGUF header if the file is on disk; None for remote or absent models."""
    if isinstance(spec.source, RemoteSource):
        return None
    from arena.models.resolve import describe

    try:
        resolved = describe(spec, config)
        return resolved.model_facts() if resolved.facts is not None else None
    except (ArenaError, OSError):  # a damaged file: `arena check` / `arena models` explain it; compare from labels
        return None


def contender(spec: ModelSpec, config: Config) -> Contender:
    facts = catalog_facts(spec, config)
    return Contender.from_facts(facts) if facts is not None else Contender.from_spec(spec)


def compare_matchup(
    config: Config, matchup: Matchup, tolerance: float = MEMORY_TOLERANCE, cache: dict[str, Contender] | None = None
) -> Comparison:
    """Facts where files are on disk, the catalog's declared quant/params otherwise. `cache` (model id -> Contender)
    lets a caller comparing many matchups read each header once."""
    cache = {} if cache is None else cache
    sides = []
    for model_id in (matchup.big, matchup.small):
        if model_id not in cache:
            cache[model_id] = contender(config.model(model_id), config)
        sides.append(cache[model_id])
    return Comparison(sides[0], sides[1], tolerance)


def compare_facts(facts: Mapping[str, ModelFacts], big: str, small: str, tolerance: float = MEMORY_TOLERANCE) -> Comparison | None:
    """From facts already read (the loaded contenders, the store); None if either model has none."""
    if big not in facts or small not in facts:
        return None
    return Comparison(Contender.from_facts(facts[big]), Contender.from_facts(facts[small]), tolerance)


def compare_for_stats(
    config: Config | None, big: str, small: str, stored: Mapping[str, ModelFacts], tolerance: float = MEMORY_TOLERANCE
) -> Comparison | None:
    """For the statistics: the facts stored with the votes, refreshed from the file on disk when it is the same file
    (same fingerprint; the store does not keep the non-embedding bits or the RAM estimate). Catalog labels last."""
    sides: list[Contender] = []
    for model_id in (big, small):
        kept = stored.get(model_id)
        spec = config.models.get(model_id) if config is not None else None
        fresh = catalog_facts(spec, config) if spec is not None and config is not None else None
        if fresh is not None and (kept is None or kept.fingerprint in (None, fresh.fingerprint)):
            sides.append(Contender.from_facts(fresh))
        elif kept is not None and (kept.n_params is not None or kept.bits_per_weight is not None):
            sides.append(Contender.from_facts(kept))
        elif spec is not None:
            sides.append(Contender.from_spec(spec))
        else:
            return None
    return Comparison(sides[0], sides[1], tolerance)


def stats_framing(config: Config | None, big: str, small: str, stored: Mapping[str, ModelFacts]) -> dict[str, Any]:
    """Keyword arguments for arena.stats.report.build_report: `roles` (model id -> what the files say it is) and
    `framing_note` (None when the pair is what its slots claim). Empty when too little is known about either model."""
    comparison = compare_for_stats(config, big, small, stored)
    if comparison is None or comparison.size is None or comparison.precision is None:
        return {}
    return {"roles": {big: comparison.role(big), small: comparison.role(small)}, "framing_note": comparison.verdict_note()}
