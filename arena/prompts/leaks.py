"""Identity leaks: does an answer name a model family or its maker? (A flagged vote is excluded from stats by default.)

Policy, in two tiers, because many model names are also ordinary words:

1. Always flagged, anywhere in the text (case-insensitive, word boundaries): names that are not ordinary words, or
   ordinary words written in a model-specific form:
     Qwen*, SmolLM*, DeepSeek*, Mixtral*, ChatGPT, GPT / GPT-4 / GPT-J (but not "GPT partition"), OpenAI,
     Anthropic (capitalized only: "the anthropic principle" is physics), Claude (capitalized, not a first name:
     "Claude Monet", "Jean-Claude" are skipped; "Claude 3", "Claude Sonnet" count), Gemini with a version or tier
     ("Gemini 1.5", "Gemini Pro", "Google Gemini"; a bare "Gemini" may be the zodiac sign), DeepMind, Meta AI,
     Mistral AI / Mistral-7B / "Mistral Small", LLaMA (that spelling) / Llama 3 / llama-2 / CodeLlama / TinyLlama
     (not "llama.cpp", not "llamas"), Gemma 2 / gemma-3-270m / CodeGemma, Phi-3 / "Phi 4" (a bare "phi" is the
     Greek letter), Yi-34B / Yi-Large / 01.AI, Falcon-7B / "Falcon 180B" / Falcon3 (not "Falcon 9", a rocket),
     Vicuna, StableLM, InternLM, Baichuan, ChatGLM, Nemotron, OLMo, Grok (capitalized); Chinese names of Qwen
     (通义千问, 千问) and DeepSeek (深度求索).
2. Flagged only in a self-identification sentence (one containing "I am", "I'm", "my name", "call me", "I was
   trained/created/developed... by", "as an AI/language model", "a language model trained by", "Je suis", "Ich bin",
   "Soy", "Я", "我是", "私は", ...), and only
   capitalized or ALL-CAPS: the ambiguous names (Llama, Gemma, Mistral, Phi, Yi, Falcon, Gemini, Bard, Claude,
   Alpaca, Orca, Zephyr, Hermes, Granite, Copilot, Command R) and the makers (Google, Microsoft, Meta, Alibaba,
   Hugging Face, NVIDIA, IBM, Cohere, xAI, Baidu, TII). So "I am Gemma, made by Google" is flagged, while "llamas
   live in the Andes", "the mistral wind", "Falcon 9", "Microsoft Excel" and "Gemma Arterton" in an ordinary
   sentence are not.

The result is canonical names ("Llama", not "LLaMA-2"), each once, in order of first appearance. Residual false
positives (a human named Claude with a lowercase word after it, "I'm using Microsoft Word") are accepted: a flag only
marks a vote for review, it never deletes it.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

# Tier 1: (canonical name, pattern). Patterns carry their own case rules.
_ALWAYS: list[tuple[str, re.Pattern[str]]] = [
    ("Qwen", re.compile(r"\bqwen\w*|通义千问|千问", _I)),
    ("SmolLM", re.compile(r"\bsmol-?lm\w*", _I)),
    ("DeepSeek", re.compile(r"\bdeep-?seek\w*|深度求索", _I)),
    ("Mixtral", re.compile(r"\bmixtral\w*", _I)),
    ("ChatGPT", re.compile(r"\bchat-?gpt\w*", _I)),
    ("GPT", re.compile(r"\bgpt(?:-?\d[\w.]*|-j\b|-neo\w*|\b)(?!\s+(?:partition|disk|header|table))", _I)),
    ("OpenAI", re.compile(r"\bopenai\b", _I)),
    ("Anthropic", re.compile(r"\bAnthropic\b")),
    ("Claude", re.compile(r"(?<![-\w])Claude\b(?!\s+(?!Sonnet|Opus|Haiku|Instant)[A-Z][a-z])|\bclaude-\d")),
    ("Gemini", re.compile(r"\bGoogle\s+Gemini\b|\bgemini[-\s]+(?:\d|pro\b|ultra\b|nano\b|flash\b|advanced\b)", _I)),
    ("Google DeepMind", re.compile(r"\b(?:google\s+)?deep\s?mind\b", _I)),
    ("Meta", re.compile(r"\bMeta\s+AI\b|\bMETA\s+AI\b")),
    ("Mistral", re.compile(r"\bmistral(?:[-\s]?\d|[-\s](?:ai|small|medium|large|nemo|instruct|tiny)\b)", _I)),
    # "LLaMA" is case-sensitive (that spelling is the model); "llama-2" / "Llama 3" are not.
    ("Llama", re.compile(r"\bLLaMA\b|\bMeta(?:['\u2019]s)?\s+Llama\b|(?i:\bllama[-\s]?\d)|(?i:\b(?:code|tiny|open)-?llama\b)")),
    ("Gemma", re.compile(r"\bgemma[-\s]?\d|\b(?:code|pali|shield|recurrent)gemma\b", _I)),
    ("Phi", re.compile(r"(?i:\bphi-\d)|\bPhi\s?\d(?:\.\d)?\b|\bPHI-?\d")),
    ("Yi", re.compile(r"\byi-(?:\d|large\b|lightning\b|coder\b|vl\b|34b\b)|\b01\.AI\b", _I)),
    ("Falcon", re.compile(r"\bfalcon[-\s]?\d+(?:\.\d+)?[bB]\b|\bfalcon-?(?:3|h1|mamba|llm)\b", _I)),
    ("Vicuna", re.compile(r"\bvicuna\b", _I)),
    ("StableLM", re.compile(r"\bstable-?lm\w*", _I)),
    ("InternLM", re.compile(r"\binternlm\w*", _I)),
    ("Baichuan", re.compile(r"\bbaichuan\w*", _I)),
    ("ChatGLM", re.compile(r"\bchatglm\w*", _I)),
    ("Nemotron", re.compile(r"\bnemotron\w*", _I)),
    ("OLMo", re.compile(r"\bOLMo\b")),
    ("Grok", re.compile(r"\bGrok(?:-?\d)?\b")),
]

# Tier 2: names that count only inside a self-identification sentence. (canonical, spellings)
_SELF_ONLY: list[tuple[str, tuple[str, ...]]] = [
    ("Llama", ("Llama",)),
    ("Gemma", ("Gemma",)),
    ("Mistral", ("Mistral",)),
    ("Phi", ("Phi",)),
    ("Yi", ("Yi",)),
    ("Falcon", ("Falcon",)),
    ("Gemini", ("Gemini",)),
    ("Bard", ("Bard",)),
    ("Claude", ("Claude",)),
    ("Alpaca", ("Alpaca",)),
    ("Orca", ("Orca",)),
    ("Zephyr", ("Zephyr",)),
    ("Hermes", ("Hermes",)),
    ("Granite", ("Granite",)),
    ("Copilot", ("Copilot",)),
    ("Command R", ("Command R", "Command-R")),
    ("Google", ("Google",)),
    ("Microsoft", ("Microsoft",)),
    ("Meta", ("Meta",)),
    ("Alibaba", ("Alibaba",)),
    ("Hugging Face", ("Hugging Face", "HuggingFace")),
    ("NVIDIA", ("NVIDIA", "Nvidia")),
    ("IBM", ("IBM",)),
    ("Cohere", ("Cohere",)),
    ("xAI", ("xAI",)),
    ("Baidu", ("Baidu",)),
    ("TII", ("TII", "Technology Innovation Institute")),
]


def _spelling_pattern(spellings: tuple[str, ...]) -> re.Pattern[str]:
    forms: list[str] = []
    for s in spellings:
        forms += [re.escape(s), re.escape(s.upper())]
    return re.compile(r"(?<![\w-])(?:" + "|".join(dict.fromkeys(forms)) + r")(?![\w])")


_SELF_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(n, _spelling_pattern(s)) for n, s in _SELF_ONLY]

_IDENTITY_CUE = re.compile(
    r"\bI\s+am\b|\bI['\u2019]m\b|\bmy\s+name\b|\bcall\s+me\b|\bwho\s+I\s+am\b"
    r"|\bI\s+was\s+(?:\w+\s+){0,2}(?:created|developed|trained|built|made|designed|fine-?tuned|released|programmed)\b"
    r"|\b(?:language\s+model|AI\s+model|AI\s+assistant|assistant|LLM|chatbot|model)\s+(?:\w+\s+){0,3}"
    r"(?:created|developed|trained|built|made|designed|fine-?tuned|released|provided)\s+by\b"
    r"|\bas\s+an?\s+(?:AI|language\s+model|assistant|LLM|large\s+language\s+model)\b"
    # The same self-introduction in the multilingual suite's languages: "Je suis", "Ich bin", "Soy", "Я", "我是", "私は".
    r"|\b(?:je\s+suis|ich\s+bin|soy|sou|sono|я)\b|我是|私は",
    re.IGNORECASE,
)

# Sentences end at . ! ? followed by space, or at a line break; "01.AI" and "3.5" stay whole.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\n+")


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs, so positions in a sentence map back to the text."""
    out: list[tuple[int, str]] = []
    start = 0
    for m in _SENTENCE_SPLIT.finditer(text):
        out.append((start, text[start : m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return [(i, s) for i, s in out if s.strip()]


def find_leaks(text: str) -> list[str]:
    """Canonical model/maker names the text reveals, each once, in order of first appearance (see module policy)."""
    hits: dict[str, int] = {}

    def note(name: str, pos: int) -> None:
        if name not in hits or pos < hits[name]:
            hits[name] = pos

    for name, pattern in _ALWAYS:
        m = pattern.search(text)
        if m:
            note(name, m.start())

    for start, sentence in _sentences(text):
        if _IDENTITY_CUE.search(sentence):
            for name, pattern in _SELF_PATTERNS:
                for m in pattern.finditer(sentence):
                    # "Claude Monet" is a painter even right after "I am sure that".
                    if name == "Claude" and re.match(r"\s+(?!Sonnet|Opus|Haiku|Instant)[A-Z][a-z]", sentence[m.end():]):
                        continue
                    note(name, start + m.start())
                    break
    # "Google DeepMind" also matches the maker "Google" at the same spot: report it once.
    if "Google" in hits and hits.get("Google DeepMind") == hits["Google"]:
        del hits["Google"]
    return sorted(hits, key=lambda n: hits[n])


def has_leak(text: str) -> bool:
    return bool(find_leaks(text))
