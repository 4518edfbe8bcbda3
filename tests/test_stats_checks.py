"""Objective checks summarized per model: SQL aggregation over the per-side checks JSON (arena.store.checks), the pure
summary (arena.stats.checks), and what `arena stats` prints and returns as JSON. A real SQLite file, written through
VoteStore.record_vote; every expected number is recounted in Python from the same records."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.cli.main import main
from arena.stats.checks import CheckRow, HeadToHead, Tally, summarize_checks, tally_text
from arena.stats.intervals import binom_test_two_sided, wilson
from arena.store import Filters, VoteStore
from arena.store.checks import aggregate_checks, checks_sql

BIG, SMALL = "gemma3-270m", "smollm2-135m"
FACTS = {
    BIG: ModelFacts(id=BIG, name="Gemma 3 270M", source="test"),
    SMALL: ModelFacts(id=SMALL, name="SmolLM2 135M", source="test"),
}
PASS_PROB = {BIG: 0.6, SMALL: 0.3}
CHECK_TYPE = {"math": "number", "json": "json", "code": None}


def side(model: str, checks: dict | None) -> SideRecord:
    return SideRecord(model, [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], {}, [1], [{}], ["stop"], checks=checks)


def make_records(n: int = 160, seed: int = 5) -> list[BattleRecord]:
    rng = random.Random(seed)
    records: list[BattleRecord] = []
    for i in range(n):
        category = rng.choice(["math", "json", "code"])
        ctype = CHECK_TYPE[category]
        left, right = (BIG, SMALL) if rng.random() < 0.5 else (SMALL, BIG)

        def checks(model: str, ctype: str | None = ctype) -> dict | None:
            # Now and then one side was not checked (e.g. a vote recorded before checks existed): it must not count.
            if ctype is None or rng.random() < 0.08:
                return None
            passed = rng.random() < PASS_PROB[model]
            return {"type": ctype, "passed": passed, "detail": "got 3, as expected" if passed else "got 4, expected 3"}

        records.append(
            BattleRecord(
                matchup_id="demo" if i % 10 else "other", big_model=BIG, small_model=SMALL,
                side_a=side(left, checks(left)), side_b=side(right, checks(right)),
                outcome=rng.choice(list(Vote)), display_policy="paced", identity_leak=rng.random() < 0.05,
                category=category, suite_id="all" if ctype else None, prompt_id=f"p{i}", voter=rng.choice(["ann", "bob"]),
                tstamp=f"2025-03-{1 + i % 3:02d}T12:{i % 60:02d}:00.000+00:00",
            )
        )  # fmt: skip
    return records


RECORDS = make_records()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("checks") / "votes.db"
    with VoteStore(path) as store:
        for rec in RECORDS:
            store.record_vote(rec, FACTS)
    return path


def matches(rec: BattleRecord, f: Filters) -> bool:
    day = int(rec.tstamp[8:10])
    return (
        (f.matchup is None or rec.matchup_id == f.matchup)
        and (f.include_leaks or not rec.identity_leak)
        and (f.category is None or rec.category == f.category)
        and (f.voter is None or rec.voter == f.voter)
        and (f.since is None or day >= int(f.since[8:10]))
        and (f.until is None or day <= int(f.until[8:10]))
    )


@dataclass
class Expected:
    overall: dict[str, list[int]]  # model -> [run, passed]
    by_category: dict[str, dict[str, list[int]]]
    paired: list[int]  # [big only, small only, both, neither]


def recount(f: Filters) -> Expected:
    exp = Expected({}, {}, [0, 0, 0, 0])
    for rec in RECORDS:
        if not matches(rec, f):
            continue
        seen: dict[str, bool] = {}
        for s in (rec.side_a, rec.side_b):
            if s.checks is None:
                continue
            seen[s.model_id] = s.checks["passed"]
            for table in (exp.overall, exp.by_category.setdefault(rec.category, {})):
                cell = table.setdefault(s.model_id, [0, 0])
                cell[0] += 1
                cell[1] += int(s.checks["passed"])
        if len(seen) == 2:
            b, s_ = seen[BIG], seen[SMALL]
            exp.paired[0 if b and not s_ else 1 if s_ and not b else 2 if b else 3] += 1
    return exp


FILTERS = [
    Filters(matchup="demo"),
    Filters(matchup="demo", include_leaks=True),
    Filters(matchup="demo", category="math"),
    Filters(matchup="demo", voter="ann"),
    Filters(matchup="demo", since="2025-03-02", until="2025-03-02"),
    Filters(),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in vars(f).items() if v))
def test_sql_aggregation_matches_a_recount(db: Path, filters: Filters) -> None:
    expected = recount(filters)
    assert expected.overall, "the fixture should have checked answers under every filter"
    with VoteStore(db, create=False) as store:
        rows = aggregate_checks(store, filters)
    summary = summarize_checks(rows, models=(BIG, SMALL))
    assert {m: [t.run, t.passed] for m, t in summary.overall.items()} == expected.overall
    assert {c: {m: [t.run, t.passed] for m, t in per.items()} for c, per in summary.by_category.items()} == expected.by_category
    assert "code" not in summary.by_category  # code prompts have no check: never counted as failures
    # Check types follow the categories of this fixture (math -> number, json -> json).
    for ctype, category in (("number", "math"), ("json", "json")):
        if category in expected.by_category:
            assert {m: [t.run, t.passed] for m, t in summary.by_type[ctype].items()} == expected.by_category[category]
    h = summary.head_to_head
    assert h is not None and (h.first, h.second) == (BIG, SMALL)
    assert [h.first_only, h.second_only, h.both, h.neither] == expected.paired
    # Aggregated, not per vote: at most one row per (pair orientation, category, type, passed a, passed b).
    assert len(rows) <= 2 * 2 * 3 * 3
    assert sum(r.count for r in rows) <= len(RECORDS)


def test_wilson_interval_and_line_format() -> None:
    t = Tally(run=10, passed=4)
    lo, hi = wilson(4, 10)  # type: ignore[misc]
    assert t.ci == (lo, hi)
    assert tally_text("Gemma 3 270M", t) == f"Gemma 3 270M 4/10 passed (40%, 95% CI {100 * lo:.0f}-{100 * hi:.0f}%)"
    assert tally_text("Gemma 3 270M", t) == "Gemma 3 270M 4/10 passed (40%, 95% CI 17-69%)"
    assert tally_text("x", Tally()) == "x no checked answers"


def test_head_to_head_is_a_paired_exact_test() -> None:
    rows = [
        CheckRow(BIG, SMALL, "math", "number", True, False, 9),
        CheckRow(SMALL, BIG, "math", "number", False, True, 3),  # the other orientation adds up too
        CheckRow(SMALL, BIG, "json", "json", True, False, 1),
        CheckRow(BIG, SMALL, "json", "json", True, True, 4),
        CheckRow(BIG, SMALL, "json", "json", False, False, 5),
        CheckRow(BIG, SMALL, "json", "json", None, True, 7),  # one side unchecked: counts for SMALL only, not paired
    ]
    s = summarize_checks(rows, models=(BIG, SMALL))
    assert s.head_to_head == HeadToHead(BIG, SMALL, first_only=12, second_only=1, both=4, neither=5)
    assert s.head_to_head.p_value == pytest.approx(binom_test_two_sided(12, 13))
    assert s.overall[BIG] == Tally(run=22, passed=16)
    assert s.overall[SMALL] == Tally(run=29, passed=12)
    # Asking for the other order flips the paired view consistently.
    flipped = summarize_checks(rows, models=(SMALL, BIG)).head_to_head
    assert flipped == HeadToHead(SMALL, BIG, first_only=1, second_only=12, both=4, neither=5)


def test_malformed_or_partial_checks_json_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with VoteStore(path) as store:
        for i, checks in enumerate([{"type": "number", "passed": True, "detail": "ok"}, {"type": "number", "passed": False, "detail": "x"}]):
            rec = BattleRecord("demo", BIG, SMALL, side(BIG, checks), side(SMALL, None), Vote.A, "paced", category="math", uuid=f"u{i}")
            store.record_vote(rec, FACTS)
        rec = BattleRecord("demo", BIG, SMALL, side(BIG, {"type": "number"}), side(SMALL, None), Vote.A, "paced", category="math", uuid="u-nopassed")
        store.record_vote(rec, FACTS)
    conn = sqlite3.connect(path)
    with conn:  # e.g. a row edited by hand or merged from a broken file
        conn.execute("UPDATE battles SET checks_b = '{not json' WHERE uuid = 'u0'")
    conn.close()
    with VoteStore(path, create=False) as store:
        s = summarize_checks(aggregate_checks(store, Filters()), models=(BIG, SMALL))
    assert s.overall == {BIG: Tally(run=2, passed=1)}


def test_query_is_grouped_and_uses_the_stats_filters() -> None:
    sql, params = checks_sql(Filters(matchup="demo", category="math", voter="ann"))
    assert "GROUP BY" in sql and "json_extract" in sql
    where, where_params = Filters(matchup="demo", category="math", voter="ann").where()
    assert where in sql and params == where_params


# ------------------------------------------------------------------------------------------------------------ arena stats


def test_arena_stats_prints_checks_and_category_verdicts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "--config", "/nonexistent/models.yaml", "stats", "--matchup", "demo", "--rounds", "0"]) == 0
    out = capsys.readouterr().out
    exp = recount(Filters(matchup="demo"))
    labels = {BIG: "Gemma 3 270M", SMALL: "SmolLM2 135M"}
    line = next(l for l in out.splitlines() if l.startswith("Objective checks"))
    for model in (BIG, SMALL):
        run, passed = exp.overall[model]
        assert tally_text(labels[model], Tally(run, passed)) in line
    assert line.index("Gemma 3 270M") < line.index("SmolLM2 135M")  # big first
    for category in ("math", "json"):
        cat_line = next(l for l in out.splitlines() if l.strip().startswith(f"{category}:") and "passed" in l)
        run, passed = exp.by_category[category][BIG]
        assert f"Gemma 3 270M {passed}/{run} passed" in cat_line
    assert "where both answers were checked" in out
    # Per-category verdicts in plain words, one per category, including code (votes but no checks).
    assert "Per category (Bonferroni over 3 categories" in out
    verdict_lines = out.split("Per category")[1].split("\n\n")[0].strip().splitlines()[1:]
    assert [l.split(":")[0].strip() for l in verdict_lines] == ["code", "json", "math"]
    assert all(("wins" in l or "No decided" in l) for l in verdict_lines)


def test_arena_stats_json_has_objective_checks(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", str(db), "--config", "/nonexistent/models.yaml", "stats", "--json", "--rounds", "0", "--voter", "bob"]
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    by_matchup = {r["matchup"]: r for r in payload["reports"]}
    assert set(by_matchup) == {"demo", "other"}
    for matchup, report in by_matchup.items():
        exp = recount(Filters(matchup=matchup, voter="bob"))
        checks = report["objective_checks"]
        assert {m: [v["run"], v["passed"]] for m, v in checks["models"].items()} == exp.overall
        for v in checks["models"].values():
            assert v["pass_rate"] == pytest.approx(v["passed"] / v["run"])
            assert v["ci95"] == pytest.approx(list(wilson(v["passed"], v["run"])))  # type: ignore[arg-type]
        assert checks["models"][BIG]["label"] == "Gemma 3 270M"
        h = checks["head_to_head"]
        assert [h["first_only"], h["second_only"], h["both"], h["neither"]] == exp.paired
        assert set(checks["check_types"]) <= {"number", "json"}
        assert report["categories"]["math"]["verdict"]


def test_arena_stats_without_checks_prints_no_checks_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.db"
    with VoteStore(path) as store:
        store.record_vote(BattleRecord("demo", BIG, SMALL, side(BIG, None), side(SMALL, None), Vote.A, "paced"), FACTS)
    assert main(["--db", str(path), "--config", "/nonexistent/models.yaml", "stats", "--rounds", "0"]) == 0
    out = capsys.readouterr().out
    assert "Objective checks" not in out and "Per category" not in out  # only "uncategorized": nothing per category
    assert main(["--db", str(path), "--config", "/nonexistent/models.yaml", "stats", "--json", "--rounds", "0"]) == 0
    checks = json.loads(capsys.readouterr().out)["reports"][0]["objective_checks"]
    assert checks["models"] == {} and checks["head_to_head"] is None
