"""Prompt-suite files: built-in suites validate, custom suites load, "all" combines with unique ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.errors import ConfigError
from arena.prompts.suite import (
    ALL,
    SUITES_DIR,
    builtin_suite_names,
    combine,
    load_all_builtin,
    load_suite,
    load_suite_file,
)
from arena.prompts.types import CATEGORIES, Check, Prompt, Suite


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CUSTOM = """\
id: mine
title: My prompts
description: a few of my own
prompts:
  - id: p-1
    category: cooking
    prompt: |
      Name a spice.
    notes: anything goes
  - id: p-2
    category: math
    prompt: What is 6*7?
    check: {type: number, answer: 42, tolerance: 0.5}
  - id: p-3
    category: json
    prompt: Give me a person.
    check:
      type: json
      shape:
        type: object
        required: [name]
        properties:
          name: {type: string, description: full name}
          age: {type: [integer, "null"]}
          tags: {type: array, items: {type: string, enum: [a, b]}}
"""


def test_custom_suite_is_typed(tmp_path: Path) -> None:
    suite = load_suite(str(write(tmp_path, CUSTOM)))
    assert (suite.id, suite.title, suite.description, suite.builtin) == ("mine", "My prompts", "a few of my own", False)
    assert suite.path == tmp_path / "mine.yaml"
    p1, p2, p3 = suite.prompts
    assert p1 == Prompt(id="p-1", category="cooking", prompt="Name a spice.", notes="anything goes", check=None)
    assert p2.check == Check(type="number", answer=42.0, tolerance=0.5)
    assert p3.check is not None and p3.check.type == "json"
    assert p3.check.shape == {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "description": "full name"},
            "age": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
    }


def test_number_check_default_tolerance(tmp_path: Path) -> None:
    text = "id: t\ntitle: T\nprompts:\n  - {id: a, category: math, prompt: '1+1?', check: {type: number, answer: 2}}\n"
    assert load_suite(str(write(tmp_path, text))).prompts[0].check == Check(type="number", answer=2.0)


def test_builtin_rules_apply_to_builtin_files_only(tmp_path: Path) -> None:
    path = write(tmp_path, "id: mine\ntitle: T\nprompts:\n  - {id: a, category: cooking, prompt: hi}\n")
    assert load_suite_file(path).prompts[0].category == "cooking"
    with pytest.raises(ConfigError, match="unknown category 'cooking'"):
        load_suite_file(path, builtin=True)
    with pytest.raises(ConfigError, match="must equal its file name"):
        load_suite_file(write(tmp_path, "id: other\ntitle: T\nprompts:\n  - {id: a, category: math, prompt: hi}\n", "x.yaml"), builtin=True)


def test_unknown_suite_name_suggests(tmp_path: Path) -> None:
    names = builtin_suite_names()
    if not names:
        pytest.skip("no built-in suites yet")
    typo = names[0][:-1] + "x"
    with pytest.raises(ConfigError) as info:
        load_suite(typo)
    assert info.value.exit_code == 2
    assert "Built-in suites:" in str(info.value) and ALL in str(info.value)


def test_reserved_id_all(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        load_suite(str(write(tmp_path, "id: all\ntitle: T\nprompts:\n  - {id: a, category: math, prompt: hi}\n")))


def test_combine_prefixes_only_colliding_ids() -> None:
    a = Suite("a", "A", (Prompt("x", "math", "1"), Prompt("only-a", "math", "2")))
    b = Suite("b", "B", (Prompt("x", "code", "3"),))
    combined = combine([a, b])
    assert combined.id == ALL
    assert [p.id for p in combined.prompts] == ["a/x", "only-a", "b/x"]
    assert [p.prompt for p in combined.prompts] == ["1", "2", "3"]


# -- the built-in suites (written by the prompts engineer) ----------------------------------------------------------


def builtin_params() -> list[str]:
    return builtin_suite_names() or ["<none yet>"]


@pytest.mark.parametrize("name", builtin_params())
def test_builtin_suite_validates(name: str) -> None:
    if name == "<none yet>":
        pytest.skip("no built-in suites in arena/prompts/suites yet")
    suite = load_suite(name)
    assert suite.id == name and suite.builtin and suite.path == SUITES_DIR / f"{name}.yaml"
    assert suite.prompts
    assert all(p.category in CATEGORIES for p in suite.prompts)


def test_all_combines_every_builtin_with_unique_ids() -> None:
    suites = load_all_builtin()
    if not suites:
        pytest.skip("no built-in suites yet")
    combined = load_suite(ALL)
    ids = [p.id for p in combined.prompts]
    assert len(ids) == len(set(ids)) == sum(len(s.prompts) for s in suites)
    assert len({s.id for s in suites}) == len(suites)
