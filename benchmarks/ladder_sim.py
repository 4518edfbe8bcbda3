"""Ladder simulation: how many votes informative pair drawing saves over uniform drawing.

Synthetic voters with known true Bradley-Terry ratings for 5 models (a quant ladder: one family at four quants and a
smaller model) vote on the pairs that arena.stats.pair_choice.choose_pair draws, or on uniformly drawn pairs (the
baseline, same seeds). Every CHECK votes we compute the ratings' 95% bootstrap CIs exactly as `arena stats --ladder`
does (arena.stats.bradley_terry.fit) and record the first vote count at which the mean CI width is at most the target.
The factor reported is median(votes, uniform) / median(votes, informative) over the runs; "fewer votes" =
1 - 1/factor. Not a test: numbers only (DESIGN.md: benchmarks print ratios against a baseline from the same run).

Run: .venv/bin/python benchmarks/ladder_sim.py                 (a few minutes on 2 busy cores)
     .venv/bin/python benchmarks/ladder_sim.py --runs 4 --target 150 --neighbour-target 250   (quick)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.stats.bradley_terry import fit  # noqa: E402
from arena.stats.counts import AggRow  # noqa: E402
from arena.stats.pair_choice import choose_pair  # noqa: E402

# A plausible ladder (Elo scale): the big model loses little at Q4/Q3 and collapses at Q2; a smaller model at Q8_0.
TRUE = {
    "14b-q4_k_m": 1120.0,
    "14b-q3_k_m": 1080.0,
    "14b-q2_k": 850.0,
    "14b-iq2_xxs": 700.0,
    "7b-q8_0": 1050.0,
}
TIE = 0.15  # share of votes that are ties / both bad


def vote(a: str, b: str, rng: random.Random) -> str:
    if rng.random() < TIE:
        return "tie"
    p = 1.0 / (1.0 + 10 ** ((TRUE[b] - TRUE[a]) / 400.0))
    return "A" if rng.random() < p else "B"


def neighbour_width(samples: np.ndarray, point: np.ndarray) -> float:
    """Mean 95% CI width of the differences between models adjacent in the point ranking."""
    order = np.argsort(-point)
    diffs = samples[:, order[:-1]] - samples[:, order[1:]]
    low, high = np.percentile(diffs, [2.5, 97.5], axis=0)
    return float(np.mean(high - low))


def run(policy: str, seed: int, targets: dict[str, float], check: int, cap: int, rounds: int) -> dict[str, int]:
    """Votes until each metric first reaches its target (cap if never)."""
    rng = random.Random(seed)
    models = list(TRUE)
    candidates = [(a, b) for k, a in enumerate(models) for b in models[k + 1 :]]
    tally: dict[tuple[str, str, str], int] = {}
    reached: dict[str, int] = {}
    for n in range(1, cap + 1):
        if policy == "informative":
            rows = [AggRow(a, b, o, "c", c) for (a, b, o), c in tally.items()]
            a, b = choose_pair(models, rows, candidates, rng)
        else:
            a, b = candidates[rng.randrange(len(candidates))]
        if rng.random() < 0.5:
            a, b = b, a  # random sides, as in the arena
        key = (a, b, vote(a, b, rng))
        tally[key] = tally.get(key, 0) + 1
        if n % check == 0:
            result = fit([AggRow(a, b, o, "c", c) for (a, b, o), c in tally.items()], models, rounds=rounds, seed=seed)
            bounds = result.interval()
            if bounds is None or result.samples is None or len(result.models) != len(models):
                continue
            widths = {"ratings": float(np.mean(bounds[1] - bounds[0])), "neighbours": neighbour_width(result.samples, result.point)}
            for metric, width in widths.items():
                if metric not in reached and width <= targets[metric]:
                    reached[metric] = n
            if len(reached) == len(targets):
                break
    return {metric: reached.get(metric, cap) for metric in targets}


def design_bound(contrasts: str) -> float:
    """Votes factor of the best possible fixed allocation over uniform (A-optimal design at the TRUE ratings).

    Computed by exponentiated-gradient descent on the allocation simplex; an upper limit for any drawing rule that
    does not know the truth."""
    models = list(TRUE)
    n = len(models)
    r = np.array([TRUE[m] for m in models]) * np.log(10) / 400
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    x = np.zeros((len(pairs), n))
    for k, (i, j) in enumerate(pairs):
        x[k, i], x[k, j] = 1.0, -1.0
    p = 1 / (1 + np.exp(-(x @ r)))
    v = p * (1 - p)
    if contrasts == "ratings":
        c = np.eye(n) - 1.0 / n
    else:
        order = np.argsort(-r)
        c = np.zeros((n - 1, n))
        c[np.arange(n - 1), order[:-1]], c[np.arange(n - 1), order[1:]] = 1.0, -1.0

    def objective(w: np.ndarray) -> float:
        cov = np.linalg.inv((x * (w * v)[:, None]).T @ x + np.full((n, n), 1.0 / n))
        return float(np.sqrt(np.einsum("ka,ab,kb->k", c, cov, c)).mean())

    w = np.full(len(pairs), 1.0 / len(pairs))
    uniform = objective(w)
    for _ in range(3000):  # multiplicative weights with a numerical gradient: small problem, no scipy needed
        base = objective(w)
        grad = np.array([(objective(w + 1e-6 * np.eye(len(pairs))[k]) - base) / 1e-6 for k in range(len(pairs))])
        w = w * np.exp(-0.5 * grad / (np.abs(grad).max() + 1e-12))
        w /= w.sum()
    return (uniform / objective(w)) ** 2  # SE ~ 1/sqrt(votes)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=12, help="seeds per policy (default 12)")
    p.add_argument("--target", type=float, default=120.0, help="mean 95%% CI width of the ratings to reach, Elo (default 120)")
    p.add_argument("--neighbour-target", type=float, default=200.0, help="mean 95%% CI width of neighbour differences (default 200)")
    p.add_argument("--check", type=int, default=20, help="votes between CI checks (default 20)")
    p.add_argument("--cap", type=int, default=6000, help="give up after this many votes (default 6000)")
    p.add_argument("--rounds", type=int, default=200, help="bootstrap rounds per check (default 200)")
    args = p.parse_args(argv)
    targets = {"ratings": args.target, "neighbours": args.neighbour_target}
    print(f"true ratings: {TRUE}; ties {TIE:.0%}; {args.runs} runs per policy, same seeds")
    print(f"targets (mean 95% CI width, Elo): ratings {targets['ratings']:.0f}, neighbour differences {targets['neighbours']:.0f}")
    needed: dict[str, dict[str, list[int]]] = {m: {"uniform": [], "informative": []} for m in targets}
    start = time.perf_counter()
    for seed in range(args.runs):
        for policy in ("uniform", "informative"):
            for metric, n in run(policy, 1000 + seed, targets, args.check, args.cap, args.rounds).items():
                needed[metric][policy].append(n)
        print("  seed", seed, {m: (v["uniform"][-1], v["informative"][-1]) for m, v in needed.items()}, flush=True)
    for metric, by_policy in needed.items():
        uni, inf = statistics.median(by_policy["uniform"]), statistics.median(by_policy["informative"])
        factor = uni / inf
        print(
            f"{metric}: median votes uniform {uni:.0f}, informative {inf:.0f}: factor {factor:.2f} "
            f"({100 * (1 - 1 / factor):.0f}% fewer votes); best possible allocation: factor {design_bound(metric):.2f}"
        )
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
