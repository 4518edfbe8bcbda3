"""Identity-leak detection: model and maker names in answers, without flagging ordinary words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from arena.prompts.leaks import find_leaks, has_leak

LEAKS = [
    ("I am Qwen, a large language model created by Alibaba Cloud.", ["Qwen", "Alibaba"]),
    ("I'm Gemma, an open model made by Google DeepMind.", ["Gemma", "Google DeepMind"]),
    ("Hello! I'm SmolLM2, a compact assistant trained by Hugging Face.", ["SmolLM", "Hugging Face"]),
    ("As an AI language model developed by OpenAI, I cannot browse the web.", ["OpenAI"]),
    ("I am Phi, developed by Microsoft Research.", ["Phi", "Microsoft"]),
    ("I'm a large language model, trained by Google.", ["Google"]),
    ("I was created by Meta and my name is Llama.", ["Meta", "Llama"]),
    ("This answer was generated with Llama-3.1-8B-Instruct.", ["Llama"]),
    ("Based on LLaMA weights, fine-tuned further.", ["Llama"]),
    ("Unlike ChatGPT, I try to be concise.", ["ChatGPT"]),
    ("GPT-4 would say otherwise.", ["GPT"]),
    ("qwen2.5-7b-instruct-q4_k_m.gguf", ["Qwen"]),
    ("DeepSeek-R1 reasons step by step.", ["DeepSeek"]),
    ("Mixtral 8x7B is a mixture of experts; Mistral-7B is dense.", ["Mixtral", "Mistral"]),
    ("Mistral AI released it in Paris.", ["Mistral"]),
    ("Claude 3 and Claude Sonnet are made by Anthropic.", ["Claude", "Anthropic"]),
    ("My name is Claude.", ["Claude"]),
    ("Gemini 1.5 Pro handles long context.", ["Gemini"]),
    ("You are talking to Meta AI.", ["Meta"]),
    ("Phi-3-mini is small.", ["Phi"]),
    ("Yi-34B comes from 01.AI.", ["Yi"]),
    ("Falcon-180B was trained by TII.", ["Falcon"]),
    ("I am Falcon, created by the Technology Innovation Institute.", ["Falcon", "TII"]),
]


@pytest.mark.parametrize(("text", "expected"), LEAKS)
def test_leaks_found(text: str, expected: list[str]) -> None:
    assert find_leaks(text) == expected


CLEAN = [
    "Llamas live in the Andes. A llama can carry about a quarter of its weight.",
    "I love llamas; the llama is a camelid.",
    "Run it with llama.cpp or llama-cpp-python.",
    "The mistral is a cold wind that blows through the Rhône valley.",
    "SpaceX's Falcon 9 landed on the drone ship.",
    "A falcon dives faster than any other bird.",
    "Claude Monet painted water lilies; Claude Debussy wrote La Mer.",
    "Jean-Claude is my neighbour.",
    "The golden ratio phi is about 1.618, and Euler's phi(12) = 4. The alchemist held a phial.",
    "Gemma Arterton starred in the film.",
    "Open the spreadsheet in Microsoft Excel and sort column B.",
    "Google Maps shows the route; Meta-analysis pools several studies.",
    "Convert the disk to a GPT partition table first.",
    "The anthropic principle is a philosophical argument in cosmology.",
    "People born under Gemini are said to be curious.",
    "I am happy to help! Here is your summary.",
    "Yi Jing is another spelling of I Ching.",
    "The orca is a toothed whale.",
    "I'm not sure whether the mistral wind is cold in summer.",
]


@pytest.mark.parametrize("text", CLEAN)
def test_no_false_positive(text: str) -> None:
    assert find_leaks(text) == []
    assert not has_leak(text)


def test_case_insensitive_for_distinctive_names_and_each_name_once() -> None:
    assert find_leaks("QWEN says hi. qwen again. Qwen!") == ["Qwen"]
    assert find_leaks("smollm and DEEPSEEK") == ["SmolLM", "DeepSeek"]


def test_order_of_first_appearance() -> None:
    assert find_leaks("Compared with GPT-4o and Qwen2, I am Gemma.") == ["GPT", "Qwen", "Gemma"]


def test_builtin_prompts_and_reference_notes_do_not_leak() -> None:
    # A prompt that itself names a model would make every answer look like a leak.
    suites = Path(__file__).resolve().parent.parent / "arena" / "prompts" / "suites"
    offenders = []
    for path in sorted(suites.glob("*.yaml")):
        for p in yaml.safe_load(path.read_text(encoding="utf-8"))["prompts"]:
            if find_leaks(p["prompt"]) or find_leaks(p.get("notes") or ""):
                offenders.append(p["id"])
    assert offenders == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我是通义千问，由阿里云开发的语言模型。", ["Qwen"]),
        ("Je suis Mistral, un modèle de langage.", ["Mistral"]),
        ("Ich bin Gemma, ein Modell von Google.", ["Gemma", "Google"]),
        ("Я Llama, языковая модель.", ["Llama"]),
        ("Le mistral souffle fort en Provence.", []),
    ],
)
def test_self_identification_in_other_languages(text: str, expected: list[str]) -> None:
    assert find_leaks(text) == expected
