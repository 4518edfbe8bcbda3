"""Ladder ranking and crossover: pooled Bradley-Terry over every vote among the models, facts, and the crossing of the
big family's curve with a smaller model's band, each checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from arena.records import ModelFacts
from arena.stats.bradley_terry import bootstrap_ratings
from arena.stats.counts import AggRow
from arena.stats.ladder import NOT_ENOUGH, crossing, crossover, ladder_report, rank_ladder

BPW = {"q2": 3.0, "q3": 4.0, "q4": 5.0, "small": 8.5, "outside": 8.5}
FACTS = {
    m: ModelFacts(id=m, name=f"Big {m.upper()}" if m.startswith("q") else "Small Q8_0", source="test", quant_type=m.upper(),
                  n_params=14_000_000_000 if m.startswith("q") else 7_000_000_000, bits_per_weight=b, file_size=int(b * 1e9),
                  architecture="qwen2")
    for m, b in BPW.items()
}  # fmt: skip
LADDER = ["q4", "q3", "q2", "small"]


def _brute_crossing(bpw: list[float], diff: list[float]) -> float:
    """Walk down a fine grid from the highest bpw; the first grid point where the interpolated curve is <= 0."""
    grid = np.linspace(bpw[-1], bpw[0], 200_001)
    values = np.interp(grid, bpw, diff)
    below = np.nonzero(values <= 0)[0]
    if len(below) == 0:
        return bpw[0]
    return float(grid[below[0]])


@pytest.mark.parametrize(
    "diff",
    [[-50, 10, 40], [-50, -10, 40], [-5, 20, 30], [10, 20, 30], [-30, -20, -10], [20, -10, 30], [-10, 30, -5], [0, 5, 1]],
)
def test_crossing_matches_a_grid_search(diff: list[float]) -> None:
    bpw = [3.0, 4.0, 5.0]
    fast = float(crossing(bpw, np.array([diff], dtype=float))[0])
    assert fast == pytest.approx(_brute_crossing(bpw, diff), abs=1e-4)


def test_crossover_interval_is_the_percentile_of_replicate_crossings() -> None:
    gen = np.random.default_rng(2)
    bpw = [3.0, 4.0, 5.0]
    big = gen.normal([-60.0, 10.0, 40.0], 12.0, size=(400, 3))
    ref = gen.normal(0.0, 10.0, size=400)
    result = crossover("Big", "Small", "small", bpw, [-60.0, 10.0, 40.0], 0.0, big, ref)
    brute = [_brute_crossing(bpw, list(big[r] - ref[r])) for r in range(400)]
    lo, hi = np.percentile(brute, [2.5, 97.5])
    assert result.status == "cross"
    assert result.bpw == pytest.approx(3.0 + 60 / 70, abs=1e-9)  # from -60 at 3 to +10 at 4
    assert result.ci_low == pytest.approx(lo, abs=1e-3) and result.ci_high == pytest.approx(hi, abs=1e-3)
    assert "falls below Small at about 3.9 bits per weight" in result.sentence


def test_crossover_statuses_and_not_enough() -> None:
    bpw = [3.0, 4.0, 5.0]
    tight = np.zeros((100, 3))
    above = crossover("Big", "Small", "small", bpw, [20.0, 30.0, 40.0], 0.0, tight + [20.0, 30.0, 40.0], np.zeros(100))
    assert above.status == "above_all" and "95% CI: below 3.0" in above.sentence
    below = crossover("Big", "Small", "small", bpw, [-20.0, -30.0, -4.0], 0.0, tight - 10.0, np.zeros(100))
    assert below.status == "below_all" and "95% CI: above 5.0" in below.sentence
    wide = np.concatenate([tight + 50.0, tight - 50.0])  # half the replicates above everywhere, half below
    unsure = crossover("Big", "Small", "small", bpw, [5.0, 5.0, 5.0], 0.0, wide, np.zeros(200))
    assert unsure.status == "not_enough" and NOT_ENOUGH in unsure.sentence
    one_point = crossover("Big", "Small", "small", [4.0], [10.0], 0.0, None, None)
    assert one_point.status == "not_enough"


def _rows() -> list[AggRow]:
    gen = np.random.default_rng(5)
    true = {"q4": 1100.0, "q3": 1050.0, "q2": 850.0, "small": 1000.0, "outside": 1300.0}
    rows = []
    names = list(true)
    for a in names:
        for b in names:
            if a == b:
                continue
            p = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
            n = 60
            wins = int(gen.binomial(n, p))
            matchup_category = "code" if (names.index(a) + names.index(b)) % 2 else "math"
            rows += [AggRow(a, b, "A", matchup_category, wins), AggRow(a, b, "B", matchup_category, n - wins), AggRow(a, b, "tie", matchup_category, 5)]
    return rows


def test_one_pooled_rating_per_model_outside_votes_ignored() -> None:
    rows = _rows()
    result = rank_ladder(rows, LADDER, FACTS, rounds=300, seed=4)
    assert sorted(e.id for e in result.entries) == sorted(LADDER)  # every model once, "outside" not at all
    # the same numbers as a plain Bradley-Terry fit over only the votes among the ladder's models
    inside = [r for r in rows if r.model_a in LADDER and r.model_b in LADDER]
    reference = {r.model: r for r in bootstrap_ratings(inside, rounds=300, seed=4)}
    for e in result.entries:
        assert e.rating == pytest.approx(reference[e.id].rating, abs=1e-9)
        assert (e.ci_low, e.ci_high, e.rank) == pytest.approx((reference[e.id].ci_low, reference[e.id].ci_high, reference[e.id].rank))
        assert e.votes == sum(r.count for r in inside if e.id in (r.model_a, r.model_b))
        assert e.bits_per_weight == BPW[e.id] and e.file_size == FACTS[e.id].file_size and e.n_params == FACTS[e.id].n_params
    assert result.votes == sum(r.count for r in inside)
    assert result.big_series is not None and result.entry("small").series != result.big_series
    [cross] = result.crossovers
    assert cross.reference == "small" and cross.status == "cross" and 3.0 < (cross.bpw or 0) < 4.0


def test_models_without_votes_and_empty_data() -> None:
    rows = [AggRow("q4", "small", "A", "code", 3)]
    result = rank_ladder(rows, LADDER, FACTS, rounds=100)
    unrated = [e for e in result.entries if e.rating is None]
    assert {e.id for e in unrated} == {"q3", "q2"} and all(e.votes == 0 and e.rank is None for e in unrated)
    assert result.entries[-1].rating is None  # unrated models come last
    empty = ladder_report([], LADDER, FACTS, rounds=100)
    assert all(e.rating is None for e in empty.overall.entries)
    assert NOT_ENOUGH in empty.overall.sentence and empty.categories == {}
    assert empty.to_dict()["models"][0].keys() >= {"id", "rating", "ci_low", "ci_high", "votes", "bits_per_weight", "n_params", "file_size"}


def test_per_category_ladders_are_fits_on_that_category_only() -> None:
    rows = _rows()
    report = ladder_report(rows, LADDER, FACTS, rounds=200, seed=1)
    assert set(report.categories) == {"code", "math"}
    for name, result in report.categories.items():
        alone = rank_ladder([r for r in rows if r.category == name], LADDER, FACTS, rounds=200, seed=1, category=name)
        assert [(e.id, e.rating, e.ci_low) for e in result.entries] == [(e.id, e.rating, e.ci_low) for e in alone.entries]
        assert result.sentence == alone.sentence


def test_chart_data_and_drawing(tmp_path) -> None:
    from arena.stats.chart import chart_data, render_terminal, save_chart

    result = rank_ladder(_rows(), LADDER, FACTS, rounds=100, seed=2)
    chart = chart_data(result, "Ladder test")
    assert [p.bpw for p in chart.curve] == [3.0, 4.0, 5.0]  # the big family, ascending bits per weight
    assert [b.label for b in chart.bands] == ["Small Q8_0"]
    for point in chart.curve:
        entry = next(e for e in result.entries if e.bits_per_weight == point.bpw and e.series == result.big_series)
        assert (point.rating, point.low, point.high) == (entry.rating, entry.ci_low, entry.ci_high)
    assert chart.x_range[0] < 3.0 and chart.x_range[1] > 5.0 and chart.sentence == result.sentence
    text = render_terminal(chart, width=80, height=20, color=False)
    assert "bits per weight" in text and "Q3" in text and "\x1b" not in text
    save_chart(chart, tmp_path / "c.svg")
    assert "<svg" in (tmp_path / "c.svg").read_text()[:500]
    # nothing rated yet: still drawable as an empty frame with a note
    empty = chart_data(rank_ladder([], LADDER, FACTS), "Empty")
    assert not empty.drawable and "no rated models yet" in render_terminal(empty, 60, 15, color=False)
    save_chart(empty, tmp_path / "e.png")
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_sentences_without_a_curve_or_a_band() -> None:
    rows = [AggRow("q4", "small", "A", "c", 3), AggRow("q4", "small", "B", "c", 2)]
    no_curve = rank_ladder(rows, ["q4", "small"], FACTS, rounds=50)
    assert no_curve.big_series is None and no_curve.sentence.startswith("No curve to draw")
    family_only = rank_ladder([AggRow("q4", "q3", "A", "c", 3), AggRow("q3", "q4", "A", "c", 2)], ["q4", "q3"], FACTS, rounds=50)
    assert family_only.sentence.startswith("No reference band")
    assert rank_ladder([], ["q4", "small"], FACTS).sentence.startswith("Not enough votes yet")
