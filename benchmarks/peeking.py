"""Peeking benchmark: how often does "look after every vote, stop when it says so" declare a difference that is not there?

Simulates matchups vote by vote (big wins, small wins, tie, both bad) and looks after EVERY vote, the way people use
the statistics screen. For matchups with no true difference it reports the false "significant" rate of
  (a) stopping at the first look where the fixed-n exact binomial p < 0.05 (what `arena stats --fixed-n` shows), and
  (b) stopping at the first anytime-valid verdict (arena.stats.sequential, what `arena stats` shows);
and for true preferences of 55/60/65% of decided votes, the median number of votes until the anytime-valid verdict.
It also prints what the guarantee costs: the width of the anytime-valid 95% sequence over Wilson's 95% interval.

Run: .venv/bin/python benchmarks/peeking.py            (~30 s: 20,000 null matchups x 500 votes, 10,000 per preference)
     .venv/bin/python benchmarks/peeking.py --quick    (~10 s, 10,000 null matchups, 2,000 per preference)

Pure numpy: the per-look test is a lookup in tables of critical win counts computed once by the real functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.stats.intervals import binom_test_two_sided, wilson  # noqa: E402
from arena.stats.sequential import ALPHA, T_OPT, confidence_sequence, critical_wins  # noqa: E402

TIE, BOTH_BAD = 0.20, 0.10  # shares of all votes; the rest are decided (big or small)
PREFERENCES = (0.55, 0.60, 0.65)


def fixed_n_table(max_decided: int, alpha: float = ALPHA) -> np.ndarray:
    """table[d] = the largest minority count m with exact two-sided p < alpha at d decided votes (-1: none)."""
    table = np.full(max_decided + 1, -1, dtype=np.int64)
    for d in range(1, max_decided + 1):
        lo, hi = -1, d // 2 + 1  # p(m) rises with m up to d/2: the last m with p < alpha (lo: yes, hi: no)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if binom_test_two_sided(mid, d) < alpha:
                lo = mid
            else:
                hi = mid
        table[d] = lo
    return table


def anytime_table(max_decided: int, alpha: float = ALPHA) -> np.ndarray:
    """table[d] = the largest minority count at which the anytime-valid verdict holds (d - critical_wins(d)); -1: none."""
    table = np.full(max_decided + 1, -1, dtype=np.int64)
    for d in range(1, max_decided + 1):
        c = critical_wins(d, alpha)
        if c is not None:
            table[d] = d - c
    return table


@dataclass(frozen=True)
class Looks:
    """Per simulated matchup: the vote (1-based) of the first look with a verdict, or 0 if none within the horizon."""

    fixed_n: np.ndarray
    anytime: np.ndarray
    max_votes: int


def simulate(
    sims: int,
    max_votes: int,
    big_share: float,
    rng: np.random.Generator,
    tables: tuple[np.ndarray, np.ndarray],
    chunk: int = 2000,
) -> Looks:
    """Simulate `sims` matchups of `max_votes` votes; the big model wins `big_share` of decided votes."""
    decided = 1.0 - TIE - BOTH_BAD
    p_big = decided * big_share
    fixed_tab, any_tab = tables
    first_fixed = np.zeros(sims, dtype=np.int64)
    first_any = np.zeros(sims, dtype=np.int64)
    for start in range(0, sims, chunk):
        rows = min(chunk, sims - start)
        u = rng.random((rows, max_votes), dtype=np.float32)
        big = np.cumsum(u < p_big, axis=1, dtype=np.int32)
        dec = np.cumsum(u < decided, axis=1, dtype=np.int32)  # u < p_big is big, p_big <= u < decided is small
        minority = np.minimum(big, dec - big)
        for table, out in ((fixed_tab, first_fixed), (any_tab, first_any)):
            hit = minority <= table[dec]
            any_hit = hit.any(axis=1)
            out[start : start + rows] = np.where(any_hit, hit.argmax(axis=1) + 1, 0)
    return Looks(first_fixed, first_any, max_votes)


def null_rates(sims: int, max_votes: int, rng: np.random.Generator, tables: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    looks = simulate(sims, max_votes, 0.5, rng, tables)
    return {
        "fixed_n_fpr": float((looks.fixed_n > 0).mean()),
        "anytime_fpr": float((looks.anytime > 0).mean()),
    }


def median_votes(looks: np.ndarray) -> tuple[float | None, float]:
    """Median vote of the first verdict (None if under half the runs got one) and the share that got one."""
    reached = float((looks > 0).mean())
    if reached < 0.5:
        return None, reached
    filled = np.where(looks > 0, looks, np.iinfo(np.int64).max)
    return float(np.median(filled)), reached


def fixed_n_for_power(share: float, table: np.ndarray, power: float = 0.8) -> int | None:
    """The fewest decided votes a fixed-n design (planned in advance, one look) needs for `power` at this share."""
    for d in range(1, table.size):
        m = int(table[d])
        if m < 0:
            continue
        i = np.arange(d + 1)
        # Binomial(d, share) pmf in log space by the ratio pmf(i+1)/pmf(i) = (d - i)/(i + 1) * share/(1 - share).
        log_pmf = np.concatenate(([d * np.log1p(-share)], d * np.log1p(-share) + np.cumsum(np.log((d - i[:-1]) / (i[:-1] + 1)) + np.log(share / (1 - share)))))
        pmf = np.exp(log_pmf)
        if pmf[: m + 1].sum() + pmf[d - m :].sum() >= power:
            return d
    return None


def width_costs(ns: tuple[int, ...] = (50, 100, 200, 500, 1000, 5000), share: float = 0.6) -> list[tuple[int, float, float]]:
    """(n, anytime width, Wilson width) at the given share of decided votes."""
    out = []
    for n in ns:
        k = round(share * n)
        lo, hi = confidence_sequence(k, n) or (0.0, 1.0)
        wlo, whi = wilson(k, n) or (0.0, 1.0)
        out.append((n, hi - lo, whi - wlo))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer simulations (< 2 min)")
    p.add_argument("--sims", type=int, help="null matchups (default 20,000; --quick 10,000)")
    p.add_argument("--max-votes", type=int, default=500, help="votes per null matchup, a look after each (default 500)")
    p.add_argument("--seed", type=int, default=20261203)
    args = p.parse_args(argv)
    sims = args.sims or (10_000 if args.quick else 20_000)
    pref_sims, pref_votes = (2_000, 4_000) if args.quick else (10_000, 6_000)
    rng = np.random.default_rng(args.seed)
    log: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731

    t0 = time.perf_counter()
    top = max(args.max_votes, pref_votes)
    tables = (fixed_n_table(top), anytime_table(top))
    log(f"Critical-value tables up to {top} decided votes: {time.perf_counter() - t0:.1f} s (alpha {ALPHA}, t_opt {T_OPT})")
    log(f"Vote mix: {100 * TIE:.0f}% ties, {100 * BOTH_BAD:.0f}% both bad, the rest decided; a look after every vote.")

    t1 = time.perf_counter()
    rates = null_rates(sims, args.max_votes, rng, tables)
    log(f"\nNo true difference, {sims:,} matchups x {args.max_votes} votes ({time.perf_counter() - t1:.1f} s):")
    log(f"  (a) stop at the first fixed-n p < 0.05:        {100 * rates['fixed_n_fpr']:.1f}% falsely 'significant'")
    log(f"  (b) stop at the first anytime-valid verdict:    {100 * rates['anytime_fpr']:.1f}% (guaranteed <= {100 * ALPHA:.0f}%)")
    log(f"  ratio (a)/(b): {rates['fixed_n_fpr'] / max(rates['anytime_fpr'], 1e-9):.1f}x")

    log(f"\nTrue preference, {pref_sims:,} matchups each, up to {pref_votes:,} votes: votes until the anytime-valid verdict")
    log("  share   median votes (all / decided)   reached within horizon   fixed-n design, 80% power (decided)")
    decided_share = 1.0 - TIE - BOTH_BAD
    for share in PREFERENCES:
        looks = simulate(pref_sims, pref_votes, share, rng, tables)
        med, reached = median_votes(looks.anytime)
        text = "n/a" if med is None else f"{med:,.0f} / ~{med * decided_share:,.0f}"
        planned = fixed_n_for_power(share, tables[0])
        log(f"  {100 * share:.0f}%     {text:<30} {100 * reached:>5.1f}%                   {planned if planned else '-'}")

    log("\nWhat it costs: width of the anytime-valid 95% sequence / Wilson 95% interval, at 60% of n decided votes")
    for n, w_any, w_wil in width_costs():
        log(f"  n = {n:>5}: {100 * w_any:.1f} / {100 * w_wil:.1f} points = {w_any / w_wil:.2f}x")
    log(f"\nTotal {time.perf_counter() - t0:.1f} s")
    print(json.dumps({"fixed_n_fpr": round(rates["fixed_n_fpr"], 4), "anytime_fpr": round(rates["anytime_fpr"], 4), "simulations": sims, "max_votes": args.max_votes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
