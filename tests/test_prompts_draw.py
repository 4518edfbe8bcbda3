"""Seeded, resumable prompt order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from arena.prompts.draw import draw_order, next_prompt, suite_seed
from arena.prompts.types import Prompt, Suite

REPO = Path(__file__).resolve().parent.parent


def make_suite(n: int = 20, categories: tuple[str, ...] = ("math", "code")) -> Suite:
    prompts = tuple(Prompt(id=f"p-{i:03d}", category=categories[i % len(categories)], prompt=f"q{i}") for i in range(n))
    return Suite(id="s", title="S", prompts=prompts)


def ids(prompts: list[Prompt]) -> list[str]:
    return [p.id for p in prompts]


def test_order_is_a_deterministic_permutation() -> None:
    suite = make_suite()
    a = draw_order(suite, 1234)
    assert ids(a) == ids(draw_order(suite, 1234))
    assert sorted(ids(a)) == sorted(p.id for p in suite.prompts)
    assert ids(a) != [p.id for p in suite.prompts], "the order should be shuffled"
    assert ids(a) != ids(draw_order(suite, 1235))


def test_category_filter_is_the_full_order_filtered() -> None:
    suite = make_suite()
    full = draw_order(suite, 7)
    assert ids(draw_order(suite, 7, "math")) == [p.id for p in full if p.category == "math"]
    assert draw_order(suite, 7, "poetry") == []


def test_adding_a_prompt_keeps_the_relative_order_of_the_others() -> None:
    suite = make_suite(20)
    bigger = Suite(id="s", title="S", prompts=suite.prompts + (Prompt(id="p-new", category="math", prompt="new"),))
    before = ids(draw_order(suite, 99))
    after = [i for i in ids(draw_order(bigger, 99)) if i != "p-new"]
    assert after == before


def test_first_prompt_is_roughly_uniform_over_seeds() -> None:
    suite = make_suite(5)
    firsts = Counter(draw_order(suite, seed)[0].id for seed in range(3000))
    assert set(firsts) == {p.id for p in suite.prompts}
    # Each of 5 prompts should lead ~600 times; 3 sigma is about 66.
    assert all(480 <= n <= 720 for n in firsts.values()), firsts


def test_next_prompt_resumes_after_voted_ids() -> None:
    suite = make_suite(6)
    order = draw_order(suite, 42)
    voted: set[str] = set()
    seen = []
    while (p := next_prompt(suite, 42, voted)) is not None:
        seen.append(p.id)
        voted.add(p.id)
    assert seen == ids(order)
    # A new session that knows 3 votes continues with the 4th prompt of the same order.
    assert next_prompt(suite, 42, set(ids(order)[:3])) == order[3]
    # Votes for ids no longer in the suite are ignored.
    assert next_prompt(suite, 42, {"gone-1"}) == order[0]
    math_first = next_prompt(suite, 42, set(), category="math")
    assert math_first is not None and math_first.category == "math"
    assert next_prompt(suite, 42, {p.id for p in suite.prompts}, category="math") is None


def test_suite_seed_stable_and_distinct() -> None:
    s = suite_seed("big-q2k-vs-small-q8", "math")
    assert s == suite_seed("big-q2k-vs-small-q8", "math")
    assert 0 <= s < 2**63
    assert s != suite_seed("big-q2k-vs-small-q8", "code")
    assert s != suite_seed("other", "math")
    # Concatenation ambiguity: ("ab", "c") and ("a", "bc") must not collide.
    assert suite_seed("ab", "c") != suite_seed("a", "bc")


def test_suite_seed_is_identical_in_other_processes() -> None:
    # Python's hash() differs per process; the seed must not.
    code = "from arena.prompts.draw import suite_seed; print(suite_seed('m1', 'math'))"
    outs = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
        outs.add(int(out.stdout))
    assert outs == {suite_seed("m1", "math")}


def test_works_on_the_builtin_suites() -> None:
    from arena.prompts.suite import load_suite

    suite = load_suite("all")
    seed = suite_seed("matchup", suite.id)
    order = draw_order(suite, seed)
    assert len(order) == len(suite.prompts) == len({p.id for p in order})
    # A mixed session interleaves categories instead of playing suite files in sequence.
    first_20 = {p.category for p in order[:20]}
    assert len(first_20) >= 4
