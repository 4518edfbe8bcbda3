"""Verdict wording, the Report's JSON form and the plain-text table."""

from __future__ import annotations

import json

import pytest

from arena.stats.counts import AggRow
from arena.stats.intervals import binom_test_two_sided, votes_needed, wilson
from arena.stats.pair import summarize_pair
from arena.stats.render import render_text, table
from arena.stats.report import build_report
from arena.stats.verdict import format_p, verdict

BIG, SMALL = "q14", "q7"
LABELS = {BIG: "14B Q2_K", SMALL: "7B Q6_K"}


def pair_rows(big_wins: int, small_wins: int, ties: int = 0, both_bad: int = 0, category: str = "chat") -> list[AggRow]:
    # Split each count over both seatings, so position bias is mild and the pair numbers come from both directions.
    rows = [
        AggRow(BIG, SMALL, "A", category, big_wins - big_wins // 2),
        AggRow(SMALL, BIG, "B", category, big_wins // 2),
        AggRow(SMALL, BIG, "A", category, small_wins - small_wins // 2),
        AggRow(BIG, SMALL, "B", category, small_wins // 2),
        AggRow(BIG, SMALL, "tie", category, ties),
        AggRow(SMALL, BIG, "both_bad", category, both_bad),
    ]
    return [r for r in rows if r.count]


def test_significant_verdict_reads_like_the_design_example() -> None:
    s = summarize_pair(pair_rows(74, 46, ties=9), BIG, SMALL)
    lo, hi = wilson(74, 120) or (0, 0)
    p = binom_test_two_sided(74, 120)
    assert p < 0.05
    text = verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text == f"14B Q2_K wins 62% of decided votes (95% CI {100 * lo:.0f}-{100 * hi:.0f}%, {format_p(p)}, n = 120)."


def test_verdict_names_the_small_model_when_it_leads() -> None:
    s = summarize_pair(pair_rows(40, 80), BIG, SMALL)
    lo, hi = wilson(80, 120) or (0, 0)
    text = verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text.startswith(f"7B Q6_K wins 67% of decided votes (95% CI {100 * lo:.0f}-{100 * hi:.0f}%, p < 0.001")


def test_not_significant_says_so_and_estimates_votes() -> None:
    s = summarize_pair(pair_rows(33, 27), BIG, SMALL)
    text = verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text.startswith("No significant difference yet: 14B Q2_K wins 55% of decided votes")
    assert f"about {votes_needed(33, 60)} more decided votes at this rate would reach p < 0.05" in text


def test_small_n_and_empty_and_undecided() -> None:
    few = verdict(summarize_pair(pair_rows(3, 1), BIG, SMALL), "big", "small")
    assert few.startswith("Too few votes to tell yet: big wins 75% of decided votes") and "more decided votes" in few
    assert verdict(summarize_pair([], BIG, SMALL), "big", "small") == "No votes yet for big vs small."
    undecided = verdict(summarize_pair(pair_rows(0, 0, ties=2, both_bad=1), BIG, SMALL), "big", "small")
    assert undecided.startswith("No decided votes yet (2 ties, 1 both bad)")
    even = verdict(summarize_pair(pair_rows(20, 20), BIG, SMALL), "big", "small")
    assert even.startswith("No difference so far: big and small each win 50%")


@pytest.mark.parametrize(("p", "text"), [(0.0042, "p = 0.004"), (0.0128, "p = 0.013"), (0.37, "p = 0.37"), (0.0004, "p < 0.001"), (1.0, "p = 1.00")])
def test_format_p(p: float, text: str) -> None:
    assert format_p(p) == text


def test_report_json_round_trip_and_contents() -> None:
    rows = pair_rows(50, 30, ties=5, category="code") + pair_rows(10, 20, both_bad=4, category="math")
    report = build_report(rows, BIG, SMALL, LABELS, matchup="m", rounds=50, seed=3)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["matchup"] == "m" and data["big"] == {"id": BIG, "label": "14B Q2_K", "role": None}
    assert data["pair"]["big_wins"] == 60 and data["pair"]["small_wins"] == 50 and data["pair"]["n"] == 119
    assert set(data["categories"]) == {"code", "math"}
    assert data["categories"]["code"]["verdict"].startswith("14B Q2_K wins")
    assert [r["label"] for r in data["bradley_terry"]["ratings"]] == ["14B Q2_K", "7B Q6_K"]
    assert data["verdict"] == report.verdict
    assert build_report(rows, BIG, SMALL, LABELS, rounds=50, seed=3).to_dict() == {**report.to_dict(), "matchup": None}


def test_render_text_aligns_columns_and_shows_everything() -> None:
    rows = pair_rows(50, 30, ties=5, category="code") + pair_rows(10, 20, both_bad=4, category="math")
    report = build_report(rows, BIG, SMALL, LABELS, matchup="m", rounds=50, seed=3)
    text = render_text(report)
    assert report.verdict in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("category"))
    block = lines[header : header + 4]  # header, all, code, math
    assert [b.split()[0] for b in block] == ["category", "all", "code", "math"]
    assert len({len(b) for b in block}) == 1  # right-aligned numbers: every row ends in the same column
    assert "Position bias" in text and "Bradley-Terry" in text
    ratings = lines[next(i for i, line in enumerate(lines) if line.startswith("rank")) :]
    assert "14B Q2_K" in ratings[1] and "7B Q6_K" in ratings[2]


def test_render_empty_report() -> None:
    text = render_text(build_report([], BIG, SMALL, LABELS))
    assert "No votes yet for 14B Q2_K vs 7B Q6_K." in text and "category" not in text


def test_table_helper() -> None:
    out = table(["name", "n"], [["a", "1"], ["longer", "100"]])
    assert out == ["name      n", "a         1", "longer  100"]


def test_verdict_uses_a_decimal_when_the_interval_is_narrow() -> None:
    s = summarize_pair(pair_rows(5_150, 4_850), BIG, SMALL)
    lo, hi = wilson(5_150, 10_000) or (0, 0)
    assert hi - lo < 0.04
    assert verdict(s, "big", "small").startswith(f"big wins 51.5% of decided votes (95% CI {100 * lo:.1f}-{100 * hi:.1f}%")
