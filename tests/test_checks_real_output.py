"""Objective checks on REAL model output: the two demo GGUF models (llama.cpp, in process) answer built-in math and JSON
prompts with a fixed seed, and the checker must judge that messy text without crashing and consistently with its own
extraction functions. Tiny models mostly fail these checks; what is tested is the checker, not the models.

The last test keeps a few real answers observed from these models (seed 1234) as regression cases.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from arena.battle.round import sampling_to_params
from arena.models.backend import ModelBackend
from arena.engine.types import Failed, Finished, TextDelta
from arena.prompts.checks import (
    MISSING,
    extract_final_number,
    extract_json,
    run_check,
    validate_shape,
)
from arena.prompts.suite import load_suite
from arena.prompts.types import Check, CheckResult, Prompt

SEED = 1234
MAX_TOKENS = 48  # enough for a short JSON value or a final number; keeps the test quick on 2 cores
PROMPT_IDS = ("math-002", "math-003", "json-001", "json-003")
MODELS = ("gemma3-270m", "smollm2-135m")


@pytest.fixture(scope="module")
def prompts() -> dict[str, Prompt]:
    found = {**load_suite("math").by_id(), **load_suite("json").by_id()}
    return {pid: found[pid] for pid in PROMPT_IDS}


@pytest.fixture(scope="module")
def real_answers(demo_config, prompts: dict[str, Prompt]) -> dict[tuple[str, str], tuple[str, str]]:
    """(model, prompt id) -> (answer text, finish reason), generated once per module by the real engines."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for model_id in MODELS:
        # One thread: generation here is sequential, and llama.cpp's spinning worker threads slow down ~10x when the
        # two cores are shared with other processes (measured: 3.6 s with 1 thread vs 52 s with 2 under load).
        engine = ModelBackend(demo_config, threads=1).engine_for(demo_config.model(model_id))
        engine.load()
        try:
            params = dataclasses.replace(sampling_to_params(demo_config.sampling_for(model_id), SEED), max_tokens=MAX_TOKENS)
            for pid, prompt in prompts.items():
                text, reason = "", ""
                for event in engine.chat([{"role": "user", "content": prompt.prompt}], params):
                    if isinstance(event, TextDelta):
                        text += event.text
                    elif isinstance(event, Finished):
                        reason = event.reason
                    elif isinstance(event, Failed):
                        pytest.fail(f"{model_id} failed on {pid}: {event.error}")
                out[(model_id, pid)] = (text, reason)
        finally:
            engine.unload()
    return out


def assert_consistent(check: Check, answer: str, result: CheckResult) -> None:
    """The verdict agrees with what the extraction functions find in the same text."""
    assert isinstance(result, CheckResult)
    assert isinstance(result.passed, bool)
    assert isinstance(result.detail, str) and result.detail.strip()
    if check.type == "number":
        assert check.answer is not None
        found = extract_final_number(answer)
        if found is None:
            assert not result.passed and result.detail.startswith("no number found")
            return
        assert math.isfinite(found.value)
        candidates = [found.value] + ([found.value / 100] if found.percent else [])
        assert result.passed == any(abs(c - check.answer) <= check.tolerance for c in candidates)
        assert result.detail.startswith("got ")  # names what was found
        assert result.extra["got"] == found.value and result.extra["text"] == found.text
    else:
        assert check.shape is not None
        value, error = extract_json(answer, prefer_type=check.shape.get("type"))
        if value is MISSING:
            assert not result.passed and result.detail == error
            return
        problem = validate_shape(value, check.shape)
        assert result.passed == (problem is None)
        if problem is not None:
            assert result.detail == problem and problem.startswith("$")  # names where the shape broke
        else:
            assert result.detail.startswith("parsed, shape ok")


@pytest.mark.parametrize("model_id", MODELS)
@pytest.mark.parametrize("pid", PROMPT_IDS)
def test_checks_on_real_answers_are_well_formed(real_answers, prompts, model_id: str, pid: str) -> None:
    answer, reason = real_answers[(model_id, pid)]
    assert reason in ("stop", "length")
    assert answer.strip(), f"{model_id} gave an empty answer to {pid}"
    check = prompts[pid].check
    assert check is not None
    result = run_check(check, answer)
    assert_consistent(check, answer, result)
    assert run_check(check, answer) == result  # pure: same text, same verdict


def test_checks_survive_every_prefix_of_real_answers(real_answers, prompts) -> None:
    """A stopped or truncated stream is a prefix of an answer: cut-off JSON, half numbers, open fences."""
    for (model_id, pid), (answer, _) in real_answers.items():
        check = prompts[pid].check
        assert check is not None
        for end in range(0, len(answer) + 1, 3):
            assert_consistent(check, answer[:end], run_check(check, answer[:end]))


# Real answers seen from the demo models on built-in prompts (seed 1234, 120 tokens), kept verbatim.
OBSERVED = [
    (  # gemma3-270m on math-001: a base model rambling through multiple-choice options; the last number counts
        "math-001",
        ("A. $53\nB. $40\nC. $27\nD. $23\nnext year, we will be in our 16th grade math class. A teacher gave a student a "
        "worksheet to practice multiplication tables and asked the student to multiply 13 by 8 30 times. She used the same "
        "method with 5 and 8, as well as 40 times. The answer was 27\n. What is the answer to this question?\n$27 50 40 30 27"),
        False,
        "got 27, expected 12.4",
    ),
    (  # smollm2-135m on math-003: a thousands separator in the prompt echo, ends mid-sentence
        "math-003",
        ("To find 487 \u00d7 396 - 12,345, you need to multiply the result of the previous calculation by the difference "
        "between your current answer and 1.\n\n487 * 396 = 18088\n-12,345 = 18088\nTo find your new answer you add your "
        "original answer back in place of 487 \u00d7 396 - 12. This will give you the result exactly with a remainder of 3 "
        "for 487,"),
        False,
        "got 487, expected 180507",
    ),
    (  # smollm2-135m on json-002: a fenced object where an array was asked for
        "json-002",
        ('Here\'s a JSON example of your list:\n```json\n{\n    "city": {\n        "country" : "USA",\n        '
        '"population_millions" : 1.5,\n        "capital" : "New York City"\n    },\n    "population_millions": [1234, 8069]\n}\n```'),
        False,
        "$: expected array, got object",
    ),
    (  # smollm2-135m on json-001: cut off by max_tokens inside an open ```json fence, with a missing comma
        "json-001",
        ('Here\'s a JSON representation of the contract:\n```json\n{\n  "contract_type": "SIGNED_COPIE",\n  "customer_id": '
        '"1234567890-Lena-Okafor-Brightwater-Analytics"\n  "contact_email": null,\n  "company_address": {\n    "zip": '
        '"000-123-4567",\n    "country": "USA",\n    "businesses_listed: no"\n  },\n  "signature_id": "'),
        False,
        "no parseable JSON found: Expecting ',' delimiter: line 4 column 3 (char 103)",
    ),
    (  # gemma3-270m on json-003: echoes the prompt's template {"id": <integer>, ...}, which is not JSON
        "json-003",
        ('Classify the sentiment of each review as "positive", "negative" or "neutral". Reply with only a JSON array\nof '
        'objects {"id": <integer>, "sentiment": <label>} in the same order.\n\n1. "It\'s very easy to use, and it blends '
        'great."\n2. "I love this blender so much I will never buy another blender again! It was worth every penny!"'),
        False,
        "no parseable JSON found: Expecting value: line 1 column 8 (char 7)",
    ),
]


@pytest.mark.parametrize(("pid", "answer", "passed", "detail"), OBSERVED, ids=[o[0] for o in OBSERVED])
def test_observed_real_outputs(pid: str, answer: str, passed: bool, detail: str) -> None:
    prompt = {**load_suite("math").by_id(), **load_suite("json").by_id()}[pid]
    assert prompt.check is not None
    result = run_check(prompt.check, answer)
    assert (result.passed, result.detail) == (passed, detail)
    assert_consistent(prompt.check, answer, result)
