"""What a pane shows after the vote: which model it was, its facts, and how it ran."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from arena.config.types import Matchup
from arena.records import ModelFacts, SideRecord
from arena.untrusted import one_line, visible
from arena.models.facts import (  # same units as `arena models`
    format_bytes,
    format_params,
)

# What the pair's slots claim, shown only when no facts say otherwise (e.g. a remote model), and marked as a claim.
ROLE_LABEL = {
    "big": "big model, harsh quant, says models.yaml",
    "small": "small model, light quant, says models.yaml",
    "harsh": "harsher quant, same size, says models.yaml",  # a ladder pair of one model at two quants
    "light": "lighter quant, same size, says models.yaml",
}


def reveal_role(facts: Mapping[str, ModelFacts], matchup: Matchup, model_id: str, fallback: str | None = None) -> str:
    """The true words for this contender ("bigger model, more bits/weight"), from both models' facts
    (arena.models.compare); the slot's own wording (or `fallback`, e.g. a ladder's harsh/light) only when the facts
    are missing."""
    from arena.models.contenders import compare_facts

    comparison = compare_facts(facts, matchup.big, matchup.small)
    if comparison is not None and comparison.size is not None and comparison.precision is not None:
        return comparison.role(model_id)
    return fallback or ("big" if model_id == matchup.big else "small")


def human_params(n: int | None) -> str:
    return format_params(n) if n else "?"


def human_bytes(n: int | None) -> str:
    return format_bytes(n) if n else "?"


def reveal_title(facts: ModelFacts, role: str) -> str:
    return f"{one_line(facts.name)} ({ROLE_LABEL.get(role, role)})"


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "?" if value is None else f"{value:{spec}}{suffix}"


def reveal_body(facts: ModelFacts, role: str, side: SideRecord) -> Text:
    """All values come from the GGUF header and the engine's own timings; '?' where unknown (e.g. remote models)."""
    t = Text()
    t.append(one_line(facts.name), style="bold")  # from YAML or the GGUF header: untrusted
    t.append(f"  — the {ROLE_LABEL.get(role, role)}\n")
    quant = one_line(facts.quant_type or "?")
    if facts.requantized:
        quant += " (requantized)"
    t.append(
        f"params {human_params(facts.n_params)} · quant {quant} · "
        f"{_fmt(facts.bits_per_weight, '.2f', ' bits/weight')}"
        + (f" ({facts.non_embedding_bits_per_weight:.2f} without embeddings)" if facts.non_embedding_bits_per_weight else "")
        + f" · file {human_bytes(facts.file_size)}\n"
    )
    last = side.timings[-1] if side.timings else {}
    t.append(
        f"first token {_fmt(last.get('ttft_s'), '.2f', ' s')} · "
        f"{_fmt(last.get('gen_tps'), '.1f', ' tokens/s')} · "
        f"{last.get('completion_tokens', '?')} tokens · finish: {side.finish_reasons[-1] if side.finish_reasons else '?'}"
    )
    if side.checks:
        ok = side.checks.get("passed")
        t.append("\ncheck ", style="bold")
        t.append("✓ pass" if ok else "✗ fail", style="green" if ok else "red")
        t.append(visible(f" ({side.checks.get('type')}: {side.checks.get('detail')})"))
    # Failures are shown before the vote by their symmetric text only; the detail (ids, URLs, the server's words) here.
    for n, entry in enumerate(side.timings, 1):
        if entry.get("error"):
            t.append(f"\nturn {n} failed: ", style="bold red")
            t.append(visible(str(entry["error"])))
    return t
