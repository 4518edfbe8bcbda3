"""Peeking after every vote: the anytime-valid verdict keeps its error rate, the fixed-n p-value does not.

A smaller, seeded run of benchmarks/peeking.py. It fails if the verdict is switched to a fixed-n rule (the first
assertion) or if the simulation stops finding the fixed-n problem (the second).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena.stats.intervals import binom_test_two_sided
from arena.stats.sequential import verdict_reached

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def peeking():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("peeking_bench", REPO / "benchmarks" / "peeking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_false_verdict_rates_under_peeking(peeking) -> None:  # type: ignore[no-untyped-def]
    tables = (peeking.fixed_n_table(500), peeking.anytime_table(500))
    rates = peeking.null_rates(3000, 500, np.random.default_rng(11), tables)
    assert rates["anytime_fpr"] <= 0.06
    assert rates["fixed_n_fpr"] > 0.10


def test_simulated_first_looks_match_the_real_functions(peeking) -> None:  # type: ignore[no-untyped-def]
    """Replay a few simulated matchups vote by vote with the real p-value and verdict functions."""
    tables = (peeking.fixed_n_table(300), peeking.anytime_table(300))
    seed, sims, votes = 5, 40, 300
    looks = peeking.simulate(sims, votes, 0.55, np.random.default_rng(seed), tables)
    u = np.random.default_rng(seed).random((sims, votes), dtype=np.float32)  # the same draws
    decided = 1.0 - peeking.TIE - peeking.BOTH_BAD
    for row in range(sims):
        first_fixed = first_any = 0
        big = dec = 0
        for vote in range(votes):
            if u[row, vote] < decided:
                dec += 1
                big += int(u[row, vote] < decided * 0.55)
            if dec and not first_fixed and binom_test_two_sided(big, dec) < 0.05:
                first_fixed = vote + 1
            if dec and not first_any and verdict_reached(max(big, dec - big), dec):
                first_any = vote + 1
        assert (looks.fixed_n[row], looks.anytime[row]) == (first_fixed, first_any)


def test_quick_run_ends_with_one_json_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "peeking.py"), "--quick", "--sims", "1000", "--max-votes", "200"],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    )  # fmt: skip
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(last) == {"fixed_n_fpr", "anytime_fpr", "simulations", "max_votes"}
    assert last["simulations"] == 1000 and last["max_votes"] == 200
    assert last["anytime_fpr"] < last["fixed_n_fpr"]
