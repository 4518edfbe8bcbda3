"""Ladder votes through export and merge: FastChat's battle format round-trips a ladder (Bradley-Terry computed the
FastChat way on our export equals `arena stats --models` to 0.05 Elo after centring), and merged stores rank alike."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from arena.cli.main import main
from arena.store import VoteStore
from arena.store.synthetic_ladder import LADDER, ladder_facts, ladder_record, seed_ladder, truth

FOUR = {k: LADDER[k] for k in ("qwen2.5-14b-q4_k_m", "qwen2.5-14b-q2_k", "qwen2.5-7b-q8_0", "qwen2.5-3b-q8_0")}
MODELS = list(FOUR)


@pytest.fixture(scope="module")
def ladder_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fastchat") / "votes.db"
    with VoteStore(path) as store:
        seed_ladder(store, 6000, seed=11, ladder=FOUR)
        # plus a matchup's own votes between two of the ladder's models: pooled into the same ranking
        rng = random.Random(12)
        for i in range(6000, 6400):
            store.record_vote(ladder_record(i, rng, truth(FOUR), pair=(MODELS[0], MODELS[2]), matchup="14b-vs-7b"), ladder_facts(FOUR))
    return path


def _ours(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    # identity leaks included: `arena export` writes every vote
    argv = ["--db", str(path), "stats", "--models", ",".join(MODELS), "--json", "--rounds", "0", "--include-leaks"]
    assert main(argv) == 0
    return {m["id"]: m["rating"] for m in json.loads(capsys.readouterr().out)["ladder"]["models"]}


def _export(path: Path, out: Path) -> list[dict]:
    assert main(["--db", str(path), "export", "--format", "fastchat", "-o", str(out)]) == 0
    return json.loads(out.read_text())


def _centred(ratings: dict[str, float]) -> dict[str, float]:
    mean = sum(ratings.values()) / len(ratings)
    return {m: r - mean for m, r in ratings.items()}


def fastchat_construction_bt(battles: list[dict]) -> dict[str, float]:
    """FastChat's elo_analysis.compute_elo_mle_with_tie construction, solved without regularization by IRLS in numpy:
    every battle twice; features +log(10) for model_a, -log(10) for model_b; Y = 1 for model_a wins in both copies and
    for a tie ("tie" or "tie (bothbad)") in the first copy only; logistic regression without intercept; 400 * coef."""
    models = list(dict.fromkeys([b["model_a"] for b in battles] + [b["model_b"] for b in battles]))
    index = {m: k for k, m in enumerate(models)}
    n = len(battles)
    x = np.zeros((2 * n, len(models)))
    y = np.zeros(2 * n)
    for k, b in enumerate(battles):
        for copy in (0, 1):
            row = k + copy * n
            x[row, index[b["model_a"]]] = math.log(10)
            x[row, index[b["model_b"]]] = -math.log(10)
            if b["winner"] == "model_a" or (copy == 0 and b["winner"] in ("tie", "tie (bothbad)")):
                y[row] = 1.0
    w = np.zeros(len(models))
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        hess = x.T @ (x * (p * (1 - p))[:, None])
        step = np.linalg.lstsq(hess, x.T @ (y - p), rcond=None)[0]  # singular along "all ratings + c": min-norm step
        w += step
        if np.abs(step).max() < 1e-12:
            break
    return {m: 400 * w[index[m]] + 1000 for m in models}


def test_fastchat_export_round_trips_the_ladder(ladder_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    battles = _export(ladder_db, tmp_path / "battles.json")
    assert len(battles) == 6400 and {b["winner"] for b in battles} == {"model_a", "model_b", "tie", "tie (bothbad)"}
    ours = _centred(_ours(ladder_db, capsys))
    theirs = _centred(fastchat_construction_bt(battles))
    assert set(ours) == set(theirs) == set(MODELS)
    for m in MODELS:
        assert ours[m] == pytest.approx(theirs[m], abs=0.05)


def test_merge_keeps_ladder_votes(ladder_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # split the same votes over two stores, merge, and the ladder ranking is the one of the original store
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    with VoteStore(ladder_db) as src, VoteStore(first) as a, VoteStore(second) as b:
        facts = src.models()
        from arena.store.votes import vote_to_record

        for k, vote in enumerate(src.iter_votes()):
            (a if k % 2 else b).record_vote(vote_to_record(vote), facts)
    assert main(["--db", str(first), "merge", str(second)]) == 0
    capsys.readouterr()
    assert _ours(first, capsys) == pytest.approx(_ours(ladder_db, capsys), abs=1e-9)
