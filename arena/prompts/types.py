"""Typed prompt suites. Suite files are YAML, one suite per file:

    id: math                      # suite id (lowercase, digits, '-'); unique among suites
    title: Math word problems
    description: ...              # optional
    prompts:
      - id: math-001              # unique within the suite
        category: math            # one of CATEGORIES (custom suites may use any lowercase word)
        prompt: |
          A train leaves ...
        notes: "Reference: 42 km." # optional, for the voter
        check:                    # optional objective check (never shown before the vote)
          type: number            # the final number in the answer must equal `answer` (within `tolerance`)
          answer: 42
          tolerance: 0.001        # optional, absolute
      - id: json-003
        category: json
        prompt: ...
        check:
          type: json              # the answer must contain one JSON value of this shape
          shape:                  # JSON-schema subset: type, properties, required, items, enum
            type: object
            required: [name, tags]
            properties: {name: {type: string}, tags: {type: array, items: {type: string}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATEGORIES: tuple[str, ...] = (
    "reasoning",
    "math",
    "code",
    "json",
    "knowledge",
    "summarization",
    "creative",
    "multilingual",
)
UNCATEGORIZED = "uncategorized"


@dataclass(frozen=True)
class Check:
    type: str  # "number" | "json"
    answer: float | None = None  # for "number"
    tolerance: float = 1e-6  # for "number"
    shape: dict[str, Any] | None = None  # for "json"


@dataclass(frozen=True)
class Prompt:
    id: str
    category: str
    prompt: str
    notes: str | None = None
    check: Check | None = None


@dataclass(frozen=True)
class Suite:
    id: str
    title: str
    prompts: tuple[Prompt, ...]
    description: str = ""
    path: Path | None = None
    builtin: bool = False

    def by_id(self) -> dict[str, Prompt]:
        return {p.id: p for p in self.prompts}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of an objective check on one answer: passed, and a short human reason ("parsed, shape ok", "got 41")."""

    passed: bool
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
