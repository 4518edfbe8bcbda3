"""Verdict wording, the Report's JSON form and the plain-text table."""

from __future__ import annotations

import json

import pytest

from arena.stats.counts import AggRow
from arena.stats.intervals import binom_test_two_sided, wilson
from arena.stats.pair import summarize_pair
from arena.stats.render import render_text, table
from arena.stats.report import build_report
from arena.stats.sequential import confidence_sequence, verdict_reached, votes_needed
from arena.stats.verdict import fixed_n_verdict, format_p, verdict

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


def test_fixed_n_verdict_reads_like_the_design_example() -> None:
    s = summarize_pair(pair_rows(74, 46, ties=9), BIG, SMALL)
    lo, hi = wilson(74, 120) or (0, 0)
    p = binom_test_two_sided(74, 120)
    assert p < 0.05
    text = fixed_n_verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text == (
        f"14B Q2_K wins 62% of decided votes (Wilson 95% CI {100 * lo:.0f}-{100 * hi:.0f}%, "
        f"exact binomial {format_p(p)}, n = 120)."
    )


def test_anytime_verdict_may_stop() -> None:
    s = summarize_pair(pair_rows(130, 70), BIG, SMALL)
    lo, hi = confidence_sequence(130, 200) or (0, 0)
    assert verdict_reached(130, 200)
    assert verdict(s, LABELS[BIG], LABELS[SMALL]) == (
        f"You may stop: 14B Q2_K wins 65% of decided votes (anytime-valid 95% CS {100 * lo:.0f}-{100 * hi:.0f}%, "
        "n = 200), valid however often you looked."
    )


def test_anytime_keeps_voting_where_fixed_n_would_stop() -> None:
    # 74 of 120: exact p = 0.01, but checked after every vote that is not enough evidence.
    s = summarize_pair(pair_rows(74, 46, ties=9), BIG, SMALL)
    assert s.fixed_n_significant and not s.significant
    lo, hi = confidence_sequence(74, 120) or (0, 0)
    text = verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text == (
        f"Keep voting: 14B Q2_K wins 62% of decided votes (anytime-valid 95% CS {100 * lo:.0f}-{100 * hi:.0f}%, "
        f"n = 120) so far; about {votes_needed(74, 120)} more decided votes at this rate would settle it."
    )


def test_verdict_names_the_small_model_when_it_leads() -> None:
    s = summarize_pair(pair_rows(40, 80), BIG, SMALL)
    lo, hi = wilson(80, 120) or (0, 0)
    text = fixed_n_verdict(s, LABELS[BIG], LABELS[SMALL])
    assert text.startswith(f"7B Q6_K wins 67% of decided votes (Wilson 95% CI {100 * lo:.0f}-{100 * hi:.0f}%, exact binomial p < 0.001")
    clo, chi = confidence_sequence(80, 120) or (0, 0)
    assert verdict(s, LABELS[BIG], LABELS[SMALL]).startswith(
        f"You may stop: 7B Q6_K wins 67% of decided votes (anytime-valid 95% CS {100 * clo:.0f}-{100 * chi:.0f}%"
    )


def test_not_significant_says_so() -> None:
    s = summarize_pair(pair_rows(33, 27), BIG, SMALL)
    assert fixed_n_verdict(s, LABELS[BIG], LABELS[SMALL]).startswith("No significant difference: 14B Q2_K wins 55% of decided votes")
    assert verdict(s, LABELS[BIG], LABELS[SMALL]).startswith("Keep voting: 14B Q2_K wins 55% of decided votes")


def test_small_n_and_empty_and_undecided() -> None:
    few = fixed_n_verdict(summarize_pair(pair_rows(3, 1), BIG, SMALL), "big", "small")
    assert few.startswith("Too few votes to tell: big wins 75% of decided votes")
    assert "more decided votes" in verdict(summarize_pair(pair_rows(3, 1), BIG, SMALL), "big", "small")
    for fn in (verdict, fixed_n_verdict):
        assert fn(summarize_pair([], BIG, SMALL), "big", "small") == "No votes yet for big vs small."
        undecided = fn(summarize_pair(pair_rows(0, 0, ties=2, both_bad=1), BIG, SMALL), "big", "small")
        assert undecided.startswith("No decided votes yet (2 ties, 1 both bad)")
    even = verdict(summarize_pair(pair_rows(20, 20), BIG, SMALL), "big", "small")
    assert even.startswith("Keep voting: big and small each win 50%")
    assert fixed_n_verdict(summarize_pair(pair_rows(20, 20), BIG, SMALL), "big", "small").startswith("No difference: big and small")


def test_category_verdicts_are_bonferroni_corrected() -> None:
    # Eight categories; "code" alone has 31 of 40: anytime p about 0.023, enough alone but not at 0.05/8.
    rows = pair_rows(31, 9, category="code")
    for cat in ("math", "json", "knowledge", "chat", "writing", "reasoning", "summary"):
        rows += pair_rows(10, 10, category=cat)
    report = build_report(rows, BIG, SMALL, LABELS, rounds=0)
    code = report.categories["code"]
    alone = summarize_pair(pair_rows(31, 9, category="code"), BIG, SMALL)
    assert code.comparisons == 8 and code.alpha == pytest.approx(0.05 / 8)
    assert code.anytime_p_value == pytest.approx(alone.anytime_p_value)
    assert code.anytime_p_adjusted == pytest.approx(min(1.0, 8 * (alone.anytime_p_value or 1.0)))
    assert code.anytime_ci == pytest.approx(confidence_sequence(31, 40, alpha=0.05 / 8))
    assert (code.anytime_ci or (0, 1))[0] < (alone.anytime_ci or (0, 1))[0]  # wider than the uncorrected sequence
    assert alone.significant and not code.significant
    assert "anytime-valid 99.4% CS" in report.category_verdicts["code"]
    assert report.category_verdicts["code"].startswith("Keep voting")
    text = render_text(report)
    assert "Bonferroni over 8 categories" in text
    assert report.to_dict()["category_correction"] == {"method": "bonferroni", "categories": 8, "alpha_each": 0.05 / 8}


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
    assert data["categories"]["code"]["verdict"].startswith("Keep voting: 14B Q2_K wins")
    assert data["categories"]["code"]["fixed_n_verdict"].startswith("14B Q2_K wins")
    assert data["fixed_n_verdict"] == report.fixed_n_verdict
    assert data["pair"]["anytime_ci"] == list(confidence_sequence(60, 110) or ())
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
    assert fixed_n_verdict(s, "big", "small").startswith(f"big wins 51.5% of decided votes (Wilson 95% CI {100 * lo:.1f}-{100 * hi:.1f}%")
    clo, chi = confidence_sequence(5_150, 10_000) or (0, 0)
    assert chi - clo < 0.04
    assert verdict(s, "big", "small").startswith(f"Keep voting: big wins 51.5% of decided votes (anytime-valid 95% CS {100 * clo:.1f}-{100 * chi:.1f}%")
