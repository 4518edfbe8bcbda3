"""One ranking for a quant ladder, and where the big family's curve crosses a smaller model. Pure: rows and facts in.

Ratings: one Bradley-Terry fit over ALL votes between the given models, whatever matchup or ladder they were cast in
(a vote with a model outside the set says nothing about the set's order and is left out), so a model has exactly one
rating per report. Facts (bits per weight, parameters, file size) come from the store's model table.

The chart's question: as the big model is compressed harder, where does it stop beating the smaller one? Models are
grouped into series: same family (models.yaml's `family`, else the GGUF architecture) and same parameter count, i.e.
one set of weights at several quantizations. The series with the most parameters is the big family: its ratings
against bits per weight form the curve. Every other model is a horizontal reference band (rating and 95% CI).
The crossing with a band is found by linear interpolation between tested quants, in the point ratings and in every
bootstrap replicate; its 95% interval is the percentile interval of the replicates (a replicate with no crossing
inside the tested range counts as beyond the end it lies past, so such an end is reported as "below"/"above").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from arena.records import ModelFacts
from arena.stats.bradley_terry import DEFAULT_ROUNDS, DEFAULT_SEED, Fit, fit, rank_by_overlap
from arena.stats.counts import AggRow

NOT_ENOUGH = "not enough votes yet"


@dataclass(frozen=True)
class LadderEntry:
    id: str
    label: str
    rating: float | None  # None: no votes against the other models yet
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    votes: int
    bits_per_weight: float | None
    n_params: int | None
    file_size: int | None
    quant_type: str | None
    series: str  # e.g. "qwen2 14.8B": one set of weights at several quants

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "label": self.label, "rating": self.rating, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "rank": self.rank, "votes": self.votes, "bits_per_weight": self.bits_per_weight, "n_params": self.n_params,
            "file_size": self.file_size, "quant_type": self.quant_type, "series": self.series,
        }  # fmt: skip


@dataclass(frozen=True)
class Crossover:
    """Where the big series' curve meets one reference model's rating, in bits per weight."""

    reference: str  # model id of the band
    status: str  # "cross" | "above_all" (big wins at every tested quant) | "below_all" | "not_enough"
    bpw: float | None  # point estimate of the crossing (None unless status == "cross")
    ci_low: float | None  # 2.5% percentile over replicates; equal to the lowest tested bpw when censored there
    ci_high: float | None
    tested: tuple[float, float] | None  # lowest and highest bpw of the big series' rated quants
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "status": self.status, "bits_per_weight": self.bpw, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "tested": list(self.tested) if self.tested else None, "sentence": self.sentence,
        }  # fmt: skip


@dataclass(frozen=True)
class LadderResult:
    entries: list[LadderEntry]  # every requested model: rated ones best first, then those without votes
    big_series: str | None
    crossovers: list[Crossover]
    votes: int  # votes among the models
    category: str | None = None

    @property
    def sentence(self) -> str:
        if not self.crossovers:
            if self.votes == 0:  # facts (bits per weight) are stored with votes: before the first, nothing is known
                return _capital(NOT_ENOUGH) + ": the chart needs votes on two or more quants of one model and on another model."
            if self.big_series is None:
                return "No curve to draw: no model has two or more quants with known bits per weight among these models."
            return "No reference band: every model here is a quant of the same model."
        return " ".join(c.sentence for c in self.crossovers)

    def entry(self, model: str) -> LadderEntry:
        return next(e for e in self.entries if e.id == model)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category, "votes": self.votes, "models": [e.to_dict() for e in self.entries],
            "big_series": self.big_series, "crossovers": [c.to_dict() for c in self.crossovers], "sentence": self.sentence,
        }  # fmt: skip


@dataclass(frozen=True)
class LadderReport:
    ladder_id: str | None
    models: list[str]
    overall: LadderResult
    categories: dict[str, LadderResult] = field(default_factory=dict)
    rounds: int = DEFAULT_ROUNDS
    seed: int = DEFAULT_SEED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.ladder_id,
            "scale": "elo (400 * log10), mean 1000 over the rated models; ties and both-bad count as half a win each",
            "bootstrap_rounds": self.rounds,
            "seed": self.seed,
            **self.overall.to_dict(),
            "by_category": {name: result.to_dict() for name, result in self.categories.items()},
        }


def safe_facts(facts: Mapping[str, ModelFacts], visible: Callable[[str], str]) -> dict[str, ModelFacts]:
    """Facts with the strings that reach a screen (name, quant type, architecture: from GGUF headers, untrusted) passed
    through the shell's sanitizer `visible`."""
    return {
        model: replace(fact, **{k: visible(v) for k, v in (("name", fact.name), ("quant_type", fact.quant_type), ("architecture", fact.architecture)) if isinstance(v, str)})
        for model, fact in facts.items()
    }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def params_text(n_params: int | None) -> str:
    if not n_params:
        return ""
    return f"{n_params / 1e9:.1f}B" if n_params >= 1e9 else f"{n_params / 1e6:.0f}M"


def series_of(model: str, facts: Mapping[str, ModelFacts], families: Mapping[str, str | None]) -> str:
    """"family size": models sharing it are one set of weights at different quants."""
    fact = facts.get(model)
    # The GGUF's architecture first: it and n_params both come from the file, so quants of one model always agree
    # (models.yaml's family is a free label, e.g. "qwen2.5" for one entry and unset for another).
    family = (fact.architecture if fact else None) or families.get(model)
    if not family:
        return model  # nothing known: a series of its own
    size = params_text(fact.n_params if fact else None)
    return f"{family} {size}".strip()


def crossing(bpw: Sequence[float], diff: np.ndarray) -> np.ndarray:
    """Where the curve diff(bpw) (big minus reference, rows = replicates) first drops to <= 0 coming down from the
    highest tested bpw, by linear interpolation. Rows where it never does: the lowest bpw (the crossing is below the
    tested range); rows where it is <= 0 already at the top: the highest bpw (above the range)."""
    b = np.asarray(bpw, dtype=float)
    d = np.atleast_2d(diff)
    out = np.full(d.shape[0], b[0])
    done = np.zeros(d.shape[0], dtype=bool)
    top = d[:, -1] <= 0
    out[top], done[top] = b[-1], True
    for k in range(len(b) - 2, -1, -1):  # the segment [b_k, b_k+1], from the top down
        hit = ~done & (d[:, k] <= 0) & (d[:, k + 1] > 0)
        frac = d[hit, k + 1] / (d[hit, k + 1] - d[hit, k])  # distance down from b_k+1 where the line reaches 0
        out[hit] = b[k + 1] - frac * (b[k + 1] - b[k])
        done |= hit
    return out


def _fmt_bpw(x: float) -> str:
    return f"{x:.1f}"


def crossover(
    big_label: str,
    ref_label: str,
    reference: str,
    bpw: Sequence[float],
    big_point: Sequence[float],
    ref_point: float,
    big_samples: np.ndarray | None,
    ref_samples: np.ndarray | None,
) -> Crossover:
    """The crossing of the big curve (points at `bpw`, ascending) with one reference rating, with its 95% interval."""
    if len(bpw) < 2 or big_samples is None or ref_samples is None:
        sentence = f"{big_label} vs {ref_label}: {NOT_ENOUGH}."
        return Crossover(reference, "not_enough", None, None, None, None, sentence)
    lo_b, hi_b = float(bpw[0]), float(bpw[-1])
    point_diff = np.asarray(big_point, dtype=float) - ref_point
    c = float(crossing(bpw, point_diff[None, :])[0])
    reps = crossing(bpw, np.asarray(big_samples) - np.asarray(ref_samples)[:, None])
    ci_low, ci_high = (float(x) for x in np.percentile(reps, [2.5, 97.5]))
    tested = (lo_b, hi_b)
    if ci_high <= lo_b:
        interval = f"95% CI: below {_fmt_bpw(lo_b)}"
    elif ci_low >= hi_b:
        interval = f"95% CI: above {_fmt_bpw(hi_b)}"
    else:
        low_txt = f"below {_fmt_bpw(lo_b)}" if ci_low <= lo_b else _fmt_bpw(ci_low)
        high_txt = f"above {_fmt_bpw(hi_b)}" if ci_high >= hi_b else _fmt_bpw(ci_high)
        interval = f"95% CI {low_txt} to {high_txt}"
    if ci_low <= lo_b and ci_high >= hi_b:
        sentence = (
            f"{big_label} vs {ref_label}: {NOT_ENOUGH} (a crossing anywhere from below {_fmt_bpw(lo_b)} to above "
            f"{_fmt_bpw(hi_b)} bits per weight fits the votes)."
        )
        return Crossover(reference, "not_enough", None, ci_low, ci_high, tested, sentence)
    if np.all(point_diff > 0):
        sentence = f"{big_label} stays above {ref_label} down to {_fmt_bpw(lo_b)} bits per weight, its harshest rated quant (crossing {interval})."
        return Crossover(reference, "above_all", None, ci_low, ci_high, tested, sentence)
    if point_diff[-1] <= 0:
        sentence = f"{big_label} stays below {ref_label} even at {_fmt_bpw(hi_b)} bits per weight, its lightest rated quant (crossing {interval})."
        return Crossover(reference, "below_all", None, ci_low, ci_high, tested, sentence)
    sentence = f"{big_label} falls below {ref_label} at about {_fmt_bpw(c)} bits per weight ({interval})."
    return Crossover(reference, "cross", c, ci_low, ci_high, tested, sentence)


def rank_ladder(
    rows: Iterable[AggRow],
    models: Sequence[str],
    facts: Mapping[str, ModelFacts] | None = None,
    labels: Mapping[str, str] | None = None,
    families: Mapping[str, str | None] | None = None,
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    category: str | None = None,
) -> LadderResult:
    """Ratings of `models` from every vote among them, their facts, and the crossovers of the big family."""
    facts = facts or {}
    labels = labels or {}
    families = families or {}
    models = list(dict.fromkeys(models))
    result: Fit = fit(rows, models, rounds=rounds, seed=seed)
    index = {m: k for k, m in enumerate(result.models)}
    bounds = result.interval()
    ranks = rank_by_overlap(*(b.tolist() for b in bounds)) if bounds else rank_by_overlap(result.point.tolist(), result.point.tolist())
    series = {m: series_of(m, facts, families) for m in models}
    entries = []
    for m in models:
        fact = facts.get(m)
        k = index.get(m)
        entries.append(
            LadderEntry(
                id=m, label=labels.get(m) or (fact.name if fact and fact.name else m),
                rating=float(result.point[k]) if k is not None else None,
                ci_low=float(bounds[0][k]) if k is not None and bounds else None,
                ci_high=float(bounds[1][k]) if k is not None and bounds else None,
                rank=ranks[k] if k is not None else None, votes=int(result.votes[k]) if k is not None else 0,
                bits_per_weight=fact.bits_per_weight if fact else None, n_params=fact.n_params if fact else None,
                file_size=fact.file_size if fact else None, quant_type=fact.quant_type if fact else None, series=series[m],
            )
        )  # fmt: skip
    entries.sort(key=lambda e: (e.rating is None, e.rank or 0, -(e.rating or 0.0), e.id))
    votes = int(result.votes.sum() // 2)
    big = big_series(entries)
    crossovers: list[Crossover] = []
    if big is not None:
        curve = sorted((e for e in entries if e.series == big and e.bits_per_weight is not None), key=lambda e: e.bits_per_weight or 0.0)
        rated = [e for e in curve if e.id in index]
        for ref in (e for e in entries if e.series != big):
            big_label = series_label(entries, big)
            if ref.id not in index or len(rated) < 2:
                crossovers.append(crossover(big_label, ref.label, ref.id, [], [], 0.0, None, None))
                continue
            cols = [index[e.id] for e in rated]
            samples = result.samples
            crossovers.append(
                crossover(
                    big_label, ref.label, ref.id, [e.bits_per_weight or 0.0 for e in rated],
                    [result.point[c] for c in cols], float(result.point[index[ref.id]]),
                    samples[:, cols] if samples is not None else None, samples[:, index[ref.id]] if samples is not None else None,
                )
            )  # fmt: skip
    return LadderResult(entries=entries, big_series=big, crossovers=crossovers, votes=votes, category=category)


def series_label(entries: Sequence[LadderEntry], series: str) -> str:
    """What the members' labels share, word by word ("Qwen2.5 14B" from "Qwen2.5 14B Q4_K_M" and "... Q2_K")."""
    words = [e.label.split() for e in entries if e.series == series]
    common: list[str] = []
    for column in zip(*words):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return " ".join(common) if common and len(words) > 1 else series


def big_series(entries: Sequence[LadderEntry]) -> str | None:
    """The series with the most parameters among those with two or more quants of known bits per weight (ties: more
    quants, then name); None when no model has two quants on the ladder."""
    groups: dict[str, list[LadderEntry]] = {}
    for e in entries:
        if e.bits_per_weight is not None:
            groups.setdefault(e.series, []).append(e)
    curves = [(max((e.n_params or 0) for e in g), len(g), name) for name, g in groups.items() if len(g) >= 2]
    if not curves:
        return None
    return max(curves, key=lambda t: (t[0], t[1], t[2]))[2]


def ladder_report(
    rows: Iterable[AggRow],
    models: Sequence[str],
    facts: Mapping[str, ModelFacts] | None = None,
    labels: Mapping[str, str] | None = None,
    families: Mapping[str, str | None] | None = None,
    *,
    ladder_id: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> LadderReport:
    """The overall ladder ranking plus one per category (code, math, json, ...) that has votes among the models."""
    rows = [r for r in rows if r.model_a in models and r.model_b in models]
    overall = rank_ladder(rows, models, facts, labels, families, rounds=rounds, seed=seed)
    names = sorted({r.category for r in rows})
    categories: dict[str, LadderResult] = {}
    if set(names) - {"uncategorized"}:
        for name in names:
            subset = [r for r in rows if r.category == name]
            categories[name] = rank_ladder(subset, models, facts, labels, families, rounds=rounds, seed=seed, category=name)
    return LadderReport(ladder_id=ladder_id, models=list(models), overall=overall, categories=categories, rounds=rounds, seed=seed)
