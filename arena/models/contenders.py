"""Build the comparison of a matchup from what this machine knows: GGUF facts where the file is on disk (or stored with
the votes), the catalog's `params` / `quant` labels otherwise. No network, no weights loaded (headers only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from arena.config.types import Config, DerivedSource, Matchup, ModelSpec, RemoteSource
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


SUPER_BLOCK = 256  # K-quants and i-quants pack rows in super-blocks of 256 weights (llama.cpp's QK_K)


def _super_block_type(type_name: str) -> bool:
    name = type_name.upper()
    return "_K" in name or name.startswith(("IQ", "TQ")) and name not in ("IQ4_NL",)


def derived_fallback_note(spec: ModelSpec, config: Config) -> str | None:
    """For a derived model not built yet: why its quant label says nothing about its bits per weight. llama.cpp
    quantizes a matrix whose rows are not a multiple of 256 wide with a wider fallback type, so Gemma-3-270M (640)
    "to Q2_K" ends at ~6.9 bits/weight. Read from the base model's header when it is on disk; None otherwise."""
    src = spec.source
    if not isinstance(src, DerivedSource) or not _super_block_type(src.type) or src.from_model not in config.models:
        return None
    from arena.models.resolve import describe

    try:
        base = describe(config.models[src.from_model], config).facts
    except (ArenaError, OSError):
        return None
    if base is None:
        return None
    widths = sorted({t.shape[0] for t in base.tensors if len(t.shape) == 2 and t.shape[0] % SUPER_BLOCK})
    if not widths:
        return None
    return (
        f"{src.type} needs rows whose width is a multiple of {SUPER_BLOCK}; {src.from_model} has rows {', '.join(map(str, widths))} "
        "wide, which llama.cpp quantizes with wider fallback types: bits per weight unknown until it is built"
    )


def contender(spec: ModelSpec, config: Config) -> Contender:
    facts = catalog_facts(spec, config)
    if facts is not None:
        return Contender.from_facts(facts)
    cand = Contender.from_spec(spec)
    if derived_fallback_note(spec, config):  # the label would claim a harshness the file will not have
        cand = replace(cand, bpw=None, file_size=None)
    return cand


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
