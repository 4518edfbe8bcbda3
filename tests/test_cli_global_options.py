"""Global options after the subcommand (`arena stats --db X`), and `arena export` agreeing with `arena stats` on leaks.

Through the real CLI in a subprocess, over a real SQLite vote database.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena.records import Vote
from arena.store import VoteStore
from arena.store.synthetic import BIG, FACTS, SMALL, make_record

REPO = Path(__file__).resolve().parent.parent


def arena(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ARENA_DB": str(cwd / "not-this.db"), "ARENA_CONFIG": "/nonexistent/models.yaml"}
    return subprocess.run([sys.executable, "-m", "arena", *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 votes; 12 identity leaks, all won by the small model, so including them moves the ratings."""
    path = tmp_path_factory.mktemp("globals") / "votes.db"
    rng = random.Random(3)
    with VoteStore(path) as store:
        for i in range(120):
            rec = make_record(i, rng, matchup="m1")
            rec.identity_leak, rec.leak_terms = False, []
            if i < 12:
                rec.identity_leak, rec.leak_terms = True, ["Qwen"]
                rec.outcome = Vote.A if rec.model_a == SMALL else Vote.B
            store.record_vote(rec, FACTS)
    return path


@pytest.mark.parametrize("where", ["before", "after", "both"])
def test_db_and_config_work_after_the_subcommand(db: Path, tmp_path: Path, where: str) -> None:
    opts = ["--db", str(db), "--config", "/nonexistent/other.yaml"]
    if where == "before":
        argv = [*opts, "stats", "--json", "--rounds", "0"]
    elif where == "after":
        argv = ["stats", "--json", "--rounds", "0", *opts]
    else:  # the one after the subcommand wins, as a person retyping it would expect
        argv = ["--db", str(tmp_path / "wrong.db"), "stats", "--json", "--rounds", "0", "--db", str(db)]
    out = arena(*argv, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["db"] == str(db) and data["reports"][0]["pair"]["n"] == 108


def test_export_db_after_the_subcommand_and_usage_errors(db: Path, tmp_path: Path) -> None:
    out = arena("export", "--db", str(db), "-f", "jsonl", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 108
    bad = arena("stats", "--db", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--db" in bad.stderr
    helped = arena("export", "--help", cwd=tmp_path)
    assert "--db FILE" in helped.stdout and "--include-leaks" in helped.stdout
    assert "left out unless --include-leaks" in " ".join(helped.stdout.split())


def fastchat_bt(battles: list[dict]) -> dict[str, float]:  # type: ignore[type-arg]
    """FastChat's compute_mle_elo (fastchat/serve/monitor/elo_analysis.py), re-done in numpy.

    Its construction: each decided battle counts twice for the winner, a tie or "tie (bothbad)" once for each side;
    logistic regression with features +log(10) / -log(10), no intercept, no penalty; rating = 1000 + 400 * coef.
    sklearn's solver starts at zero and the gradient always sums to zero, so the fit is the mean-1000 solution; here
    Newton's method on the same likelihood with the same start.
    """
    models = sorted({b["model_a"] for b in battles} | {b["model_b"] for b in battles})
    index = {m: i for i, m in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for b in battles:
        a, c = index[b["model_a"]], index[b["model_b"]]
        if b["winner"] == "model_a":
            wins[a, c] += 2
        elif b["winner"] == "model_b":
            wins[c, a] += 2
        else:
            wins[a, c] += 1
            wins[c, a] += 1
    theta = np.zeros(len(models))
    for _ in range(100):
        grad = np.zeros_like(theta)
        hess = np.zeros((len(models), len(models)))
        for i in range(len(models)):
            for j in range(len(models)):
                if i == j or wins[i, j] + wins[j, i] == 0:
                    continue
                p = 1 / (1 + math.exp(-(theta[i] - theta[j]) * math.log(10)))
                total = wins[i, j] + wins[j, i]
                grad[i] += (wins[i, j] - total * p) * math.log(10) / 2  # each pair visited twice
                grad[j] -= (wins[i, j] - total * p) * math.log(10) / 2
                w = total * p * (1 - p) * math.log(10) ** 2 / 2
                hess[i, i] += w
                hess[j, j] += w
                hess[i, j] -= w
                hess[j, i] -= w
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        theta += step
        if np.abs(step).max() < 1e-12:
            break
    theta -= theta.mean()
    return {m: 1000 + 400 * theta[index[m]] for m in models}


def test_fastchat_bt_on_the_default_export_equals_arena_stats(db: Path, tmp_path: Path) -> None:
    exported = arena("--db", str(db), "export", "-f", "fastchat", "-o", str(tmp_path / "battles.json"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    battles = json.loads((tmp_path / "battles.json").read_text())
    stats = arena("--db", str(db), "stats", "--json", "--rounds", "0", cwd=tmp_path)
    ours = {r["model"]: r["rating"] for r in json.loads(stats.stdout)["reports"][0]["bradley_terry"]["ratings"]}
    theirs = fastchat_bt(battles)
    assert len(battles) == 108 and set(ours) == set(theirs) == {BIG, SMALL}
    for model in ours:
        assert ours[model] == pytest.approx(theirs[model], abs=0.5)  # our tiny ridge: well under 1 Elo at 100+ votes
    # ... and with leaks included on both sides they agree again, and differ from the default.
    arena("--db", str(db), "export", "-f", "fastchat", "--include-leaks", "-o", str(tmp_path / "all.json"), cwd=tmp_path)
    leaky = fastchat_bt(json.loads((tmp_path / "all.json").read_text()))
    stats_all = arena("--db", str(db), "stats", "--json", "--rounds", "0", "--include-leaks", cwd=tmp_path)
    ours_all = {r["model"]: r["rating"] for r in json.loads(stats_all.stdout)["reports"][0]["bradley_terry"]["ratings"]}
    assert ours_all[SMALL] == pytest.approx(leaky[SMALL], abs=0.5)
    assert leaky[SMALL] - theirs[SMALL] > 10
