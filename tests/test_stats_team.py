"""Team statistics for one pair (arena.stats.team), from votes written to a real SQLite file and read back by
arena.store.team: orientation of side votes to models, the latest-vote rule, per-voter verdicts (the project's own
machinery on each voter's votes), agreement and the pooled clustered numbers against scikit-learn / statsmodels /
krippendorff computed from the raw votes, and what counts as the same item."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import krippendorff
import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from arena.records import BattleRecord, SideRecord, Vote
from arena.stats.counts import AggRow
from arena.stats.pair import summarize_pair
from arena.stats.team import OUTCOMES, TeamVote, build_team_report, item_key, oriented
from arena.stats.verdict import verdict
from arena.store import Filters, VoteStore
from arena.store.synthetic import BIG, FACTS, SMALL
from arena.store.synthetic_team import MATCHUP, seed_team, team_records
from arena.store.team import iter_team_votes, voters

VOTERS = ["ann", "bob", "cy", "dee", "eve", None]


@pytest.fixture(scope="module")
def team_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("team") / "votes.db"
    counts = {"ann": 50, "bob": 40, "cy": 35, "dee": 30, "eve": 20, None: 12}
    records = team_records(VOTERS, counts, prompts=20, seed=5, voter_sd=0.7, prompt_sd=1.5)
    with VoteStore(path) as store:
        seed_team(store, records)
    return path


def _raw(db: Path) -> list[dict]:  # type: ignore[type-arg]
    with VoteStore(db) as store:
        return list(store.iter_votes(Filters(matchup=MATCHUP)))


def _outcome(vote: dict) -> str:  # type: ignore[type-arg]
    """Brute force, straight from the stored row: which model the vote favoured."""
    if vote["outcome"] in ("tie", "both_bad"):
        return vote["outcome"]
    winner = vote["model_a"] if vote["outcome"] == "A" else vote["model_b"]
    return "big" if winner == vote["big_model"] else "small"


def _latest(raw: list[dict]) -> dict[tuple, str]:  # type: ignore[type-arg]
    """Each voter's latest vote per prompt text, brute force (raw is in time order)."""
    out: dict[tuple, str] = {}  # type: ignore[type-arg]
    for v in raw:
        prompt = next(m["content"] for m in v["conversation_a"] if m["role"] == "user")
        out[(v["voter"], prompt)] = _outcome(v)
    return out


def _report(db: Path, **kw):  # type: ignore[no-untyped-def]
    with VoteStore(db) as store:
        return build_team_report(iter_team_votes(store, Filters(matchup=MATCHUP)), BIG, SMALL, {BIG: "Big", SMALL: "Small"}, **kw)


def test_store_reads_every_vote_and_voter(team_db: Path) -> None:
    with VoteStore(team_db) as store:
        assert voters(store, Filters(matchup=MATCHUP)) == {None: 12, "ann": 50, "bob": 40, "cy": 35, "dee": 30, "eve": 20}
        assert voters(store, Filters(matchup=MATCHUP, voter="bob")) == {"bob": 40}
        assert sum(1 for _ in iter_team_votes(store, Filters(matchup=MATCHUP))) == 187


def test_per_voter_tallies_and_verdicts_reuse_the_pair_machinery(team_db: Path) -> None:
    raw = _raw(team_db)
    report = _report(team_db, rounds=0)
    assert [v.voter for v in report.voters] == ["ann", "bob", "cy", "dee", "eve", None]  # most votes first
    for result in report.voters:
        mine = [v for v in raw if v["voter"] == result.voter]
        tally = Counter(_outcome(v) for v in mine)
        s = result.pair
        assert (s.big_wins, s.small_wins, s.ties, s.both_bad) == (tally["big"], tally["small"], tally["tie"], tally["both_bad"])
        assert s.left_wins == sum(v["outcome"] == "A" for v in mine)
        # The same summary and verdict `arena stats --voter NAME` would compute, corrected over the 6 voters shown.
        rows = Counter((v["model_a"], v["model_b"], v["outcome"]) for v in mine)
        expected = summarize_pair([AggRow(a, b, o, "x", n) for (a, b, o), n in rows.items()], BIG, SMALL, comparisons=6)
        assert s == expected
        assert result.verdict == verdict(expected, "Big", "Small")
        assert s.alpha == pytest.approx(0.05 / 6)


def test_agreement_equals_references_on_latest_votes(team_db: Path) -> None:
    raw = _raw(team_db)
    latest = _latest(raw)
    report = _report(team_db, rounds=0)
    ag = report.agreement
    prompts = sorted({p for _, p in latest})
    assert ag.items == len(prompts)
    assert ag.repeats == len(raw) - len(latest)
    for (a, b), pair in ag.pairs.items():
        shared = [p for p in prompts if (a, p) in latest and (b, p) in latest]
        assert pair.shared == len(shared)
        first, second = [latest[(a, p)] for p in shared], [latest[(b, p)] for p in shared]
        assert pair.agreed == sum(x == y for x, y in zip(first, second))
        assert pair.kappa == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    everyone = [p for p in prompts if all((v, p) in latest for v in VOTERS)]
    table = np.array([[sum(latest[(v, p)] == c for v in VOTERS) for c in OUTCOMES] for p in everyone])
    assert ag.fleiss is not None and ag.fleiss.items == len(everyone) > 0
    assert ag.fleiss.kappa == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)
    data = np.array([[OUTCOMES.index(latest[(v, p)]) if (v, p) in latest else np.nan for p in prompts] for v in VOTERS])
    assert ag.krippendorff is not None
    assert ag.krippendorff.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-12)


def test_pooled_numbers_equal_statsmodels_on_the_raw_votes(team_db: Path) -> None:
    raw = _raw(team_db)
    report = _report(team_db, rounds=500, seed=3)
    names = {v: k for k, v in enumerate(VOTERS)}
    for measure, keep, score in (
        (report.ties_half, lambda o: True, {"big": 1.0, "small": 0.0, "tie": 0.5, "both_bad": 0.5}),
        (report.decided, lambda o: o in ("big", "small"), {"big": 1.0, "small": 0.0}),
    ):
        votes = [(names[v["voter"]], score[_outcome(v)]) for v in raw if keep(_outcome(v))]
        y = np.array([s for _, s in votes])
        groups = np.array([g for g, _ in votes])
        iid = sm.OLS(y, np.ones((len(y), 1))).fit()
        cr = sm.OLS(y, np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        assert measure.votes == len(y) and measure.clusters == 6
        assert measure.estimate == pytest.approx(float(y.mean()), abs=1e-12)
        assert measure.iid_se == pytest.approx(float(iid.bse[0]), rel=1e-9)
        assert measure.cluster_se == pytest.approx(float(cr.bse[0]), rel=1e-9)
        lo, hi = cr.conf_int()[0]
        assert measure.cluster_ci == pytest.approx((max(0.0, lo), min(1.0, hi)), abs=1e-9)
        assert measure.design_effect == pytest.approx((cr.bse[0] / iid.bse[0]) ** 2, rel=1e-9)
        assert measure.bootstrap_ci is not None and measure.bootstrap_rounds == 500 and measure.seed == 3
    # The pooled share of decided votes is the plain share over everybody's decided votes.
    big_wins = sum(v.pair.big_wins for v in report.voters)
    assert report.decided.estimate == pytest.approx(big_wins / sum(v.pair.decided for v in report.voters))
    assert report.ties_half.caution and "6 voters" in report.ties_half.caution


def test_latest_vote_counts_when_a_voter_repeats_an_item() -> None:
    def v(voter: str, item: str, outcome: str, t: str, left: str = BIG) -> TeamVote:
        right = SMALL if left == BIG else BIG
        return TeamVote(voter, item_key(item), left, right, outcome, (t, "u" + t))

    votes = [
        v("ann", "p1", "A", "2025-01-01"),  # big better ...
        v("ann", "p1", "A", "2025-01-03", left=SMALL),  # ... then, later, small better: this one counts
        v("ann", "p1", "tie", "2025-01-02"),  # an earlier vote arriving late in the stream changes nothing
        v("bob", "p1", "B", "2025-01-02", left=BIG),  # small better
    ]
    report = build_team_report(votes, BIG, SMALL, rounds=0)
    pair = report.agreement.pairs[("ann", "bob")]
    assert (pair.shared, pair.agreed, report.agreement.repeats) == (1, 1, 2)
    assert report.voters[0].pair.n == 3  # every vote still counts in the tally
    assert report.decided.votes == 3 and report.ties_half.votes == 4


def test_orientation_and_other_pairs() -> None:
    assert oriented(TeamVote("a", "i", BIG, SMALL, "A", ("t", "u")), BIG, SMALL) == "big"
    assert oriented(TeamVote("a", "i", SMALL, BIG, "A", ("t", "u")), BIG, SMALL) == "small"
    assert oriented(TeamVote("a", "i", SMALL, BIG, "B", ("t", "u")), BIG, SMALL) == "big"
    assert oriented(TeamVote("a", "i", SMALL, BIG, "both_bad", ("t", "u")), BIG, SMALL) == "both_bad"
    assert oriented(TeamVote("a", "i", BIG, "other", "A", ("t", "u")), BIG, SMALL) is None
    with pytest.raises(ValueError):
        oriented(TeamVote("a", "i", BIG, SMALL, "C", ("t", "u")), BIG, SMALL)


def test_degenerate_teams_say_why() -> None:
    def v(voter: str | None, item: str, outcome: str, k: int) -> TeamVote:
        return TeamVote(voter, item_key(item), BIG, SMALL, outcome, (f"2025-01-01T00:00:{k:02d}", str(k)))

    # One voter: per-voter row, no agreement pairs, no clustered interval.
    solo = build_team_report([v(None, "p1", "A", 1), v(None, "p2", "B", 2)], BIG, SMALL, rounds=10)
    assert solo.n_voters == 1 and not solo.agreement.pairs and solo.agreement.krippendorff is None
    assert solo.decided.cluster_ci is None and "at least 2 voters" in (solo.decided.caution or "")
    # Two voters who never rated the same prompt; and two who both said "big better" on every shared prompt.
    apart = build_team_report([v("ann", "p1", "A", 1), v("bob", "p2", "A", 2)], BIG, SMALL, rounds=10)
    pair = apart.agreement.pairs[("ann", "bob")]
    assert pair.kappa is None and pair.note == "no shared items"
    assert apart.agreement.krippendorff is not None and apart.agreement.krippendorff.alpha is None
    same = build_team_report([v("ann", "p1", "A", 1), v("bob", "p1", "A", 2), v("ann", "p2", "A", 3), v("bob", "p2", "A", 4)], BIG, SMALL, rounds=10)
    pair = same.agreement.pairs[("ann", "bob")]
    assert pair.rate == 1.0 and pair.kappa is None and pair.note == "both voted big on all 2 shared items: chance agreement is 100%"
    data = same.to_dict()
    assert not any(isinstance(x, float) and math.isnan(x) for x in _leaves(data))  # never NaN in JSON


def _leaves(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _leaves(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaves(v)]
    return [obj]


def _record(voter: str, prompt: str, suite: str | None, k: int, outcome: Vote = Vote.A) -> BattleRecord:
    def side(model: str) -> SideRecord:
        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}, {"role": "assistant", "content": "x"}]
        return SideRecord(model, msgs, {}, [1], [{}], ["stop"])

    return BattleRecord(
        matchup_id="m", big_model=BIG, small_model=SMALL, side_a=side(BIG), side_b=side(SMALL), outcome=outcome,
        display_policy="paced", suite_id=suite, prompt_id="code-001" if suite else None, voter=voter,
        tstamp=f"2025-01-01T00:00:{k:02d}.000+00:00",
    )  # fmt: skip


def test_an_item_is_the_prompt_text_whatever_suite_drew_it(tmp_path: Path) -> None:
    """`--suite code` and `--suite all` store different suite ids for one prompt; a typed prompt has none."""
    db = tmp_path / "v.db"
    with VoteStore(db) as store:
        store.record_vote(_record("ann", "Write is_balanced.", "code", 1), FACTS)
        store.record_vote(_record("bob", "Write is_balanced.", "all", 2), FACTS)
        store.record_vote(_record("cy", "Write is_balanced.", None, 3), FACTS)
        store.record_vote(_record("cy", "Write is_balanced. ", None, 4), FACTS)  # other text: another item
        store.conn.execute("UPDATE battles SET conversation_a = 'not json' WHERE voter = 'cy' AND tstamp LIKE '%:04.000%'")
        items = [v.item for v in iter_team_votes(store, Filters(matchup="m"))]
    assert items[0] == items[1] == items[2] == item_key("Write is_balanced.")
    assert items[3] is None  # a row whose conversation cannot be read is never matched with another


def test_json_keeps_names_exact() -> None:
    name = "ann\x1b]0;pwned\x07"
    votes = [TeamVote(name, item_key("p"), BIG, SMALL, "A", ("1", "a")), TeamVote("bob", item_key("p"), BIG, SMALL, "B", ("2", "b"))]
    data = build_team_report(votes, BIG, SMALL, rounds=0).to_dict()
    assert {v["voter"] for v in data["voters"]} == {name, "bob"}
    assert data["agreement"]["pairs"][0]["voters"] in ([name, "bob"], ["bob", name])


def test_synthetic_team_is_deterministic_and_shares_prompts() -> None:
    a = team_records(["x", "y"], 30, prompts=10, seed=4)
    b = team_records(["x", "y"], 30, prompts=10, seed=4)
    assert [(r.voter, r.outcome, r.side_a.model_id, r.side_a.messages[1]["content"]) for r in a] == [
        (r.voter, r.outcome, r.side_a.model_id, r.side_a.messages[1]["content"]) for r in b
    ]
    assert Counter(r.voter for r in a) == {"x": 30, "y": 30}
    per_voter = {v: Counter(r.prompt_id for r in a if r.voter == v) for v in ("x", "y")}
    assert all(set(c) == {f"t{j:03d}" for j in range(10)} and max(c.values()) == 3 for c in per_voter.values())
