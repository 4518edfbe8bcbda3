"""Objective checks of one answer: the final number of a math answer, the JSON value of a JSON answer.

Checks are run after a round and stored on the vote (never shown before it). They are judged on free model text, so
extraction is deliberately forgiving about *where* the value is (chatty preambles, markdown fences, trailing
explanations) and strict about *what* it is (the number must match, the JSON must parse and fit the shape).

Public API:
    run_check(check, answer) -> CheckResult
    extract_final_number(text) -> FoundNumber | None
    extract_json(text, prefer_type=None) -> (value, error)      # value is _MISSING when nothing parsed
    validate_shape(value, shape) -> str | None                  # first violation, "$.tags[2]: expected string, got number"
    shape_problems(shape) -> list[str]                          # is a shape itself well-formed (for suite loaders)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from arena.prompts.types import Check, CheckResult

# ---------------------------------------------------------------------------------------------------------------- numbers

# One number as people and models write it: optional sign (ASCII or Unicode minus), optional currency, digits with
# thousands separators ("1,234,567") or plain, decimals, a simple fraction ("3/4"), an exponent, a percent sign.
# A comma followed by one or two digits is a decimal comma ("8,95 EUR" in a Spanish answer); with three digits it
# stays a thousands separator ("1,234"), which is the common reading in English answers.
# The look-behind keeps "x2", "Q4_K", "3-5" (a range: 5 is positive) and "v1.2" from yielding spurious numbers; it is
# ASCII-only on purpose, since CJK text glues numbers to words ("面积是60平方厘米").
_NUMBER_RE = re.compile(
    r"""
    (?<![A-Za-z0-9_./])
    (?P<sign>[-+\u2212])?
    (?:[$\u20ac\u00a3\u00a5]\s?)?
    (?P<num>(?<!\d,)\d+,\d{1,2}(?!\d)(?!,\d)|(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
    (?!,\d{3})
    (?:/(?P<den>\d+(?:\.\d+)?)(?![\d/]))?
    (?:[eE](?P<exp>[-+]?\d+)\b)?
    (?P<pct>\s?%)?
    """,
    re.VERBOSE,
)

_BOXED_RE = re.compile(r"\\boxed\s*\{")
# "Answer: 42", "**Final answer:** 42", "The answer is 42", "answer = 42", and the same marker in the suite's other
# languages ("Respuesta: 8,95", "Ответ: 16", "答案：60"); the last marker wins (models revise).
_ANSWER_RE = re.compile(
    r"(?:\b(?:answer|respuesta|r[ée]ponse|resposta|risposta|antwort|ответ|jawaban|cevap)\b|答案|解答|答)"
    r"(?:\s*\*\*|\s*__)?\s*(?:is\b|was\b|es\b|est\b|ist\b|:|：|=|是)\s*(?:\*\*|__)?\s*[:：]?",
    re.IGNORECASE,
)
# A bold span whose content is just a number, optionally "x = " before it and a short unit after it: "**42 km**".
_BOLD_RE = re.compile(r"\*\*([^*\n]{1,40})\*\*")
_BOLD_NUMBER_RE = re.compile(
    r"^\s*(?:[A-Za-z]\w{0,10}\s*=\s*)?(?:[-+\u2212]?\s?[$\u20ac\u00a3\u00a5]?\s?[\d.])[^=]{0,25}$"
)


@dataclass(frozen=True)
class FoundNumber:
    value: float
    text: str  # as written, e.g. "1,234" or "75%"
    percent: bool  # written with a % sign
    method: str  # boxed | answer | bold | equals | last


def _parse_match(m: re.Match[str]) -> FoundNumber | None:
    raw = m.group("num")
    num = raw.replace(",", ".") if re.fullmatch(r"\d+,\d{1,2}", raw) else raw.replace(",", "")
    try:
        value = float(num)
        if m.group("den") is not None:
            den = float(m.group("den"))
            if den == 0:
                return None
            value /= den
        if m.group("exp") is not None:
            value *= 10.0 ** int(m.group("exp"))
    except (ValueError, OverflowError):
        return None
    if m.group("sign") in ("-", "\u2212"):
        value = -value
    if not math.isfinite(value):
        return None
    return FoundNumber(value, m.group(0).strip(), m.group("pct") is not None, "")


def _numbers(text: str) -> list[tuple[int, FoundNumber]]:
    out: list[tuple[int, FoundNumber]] = []
    for m in _NUMBER_RE.finditer(text):
        found = _parse_match(m)
        if found is not None:
            out.append((m.start(), found))
    return out


def _with(found: FoundNumber, method: str) -> FoundNumber:
    return FoundNumber(found.value, found.text, found.percent, method)


def _balanced_braces(text: str, start: int) -> str | None:
    """Content of the {...} group that opens just before `start` (after '\\boxed{'), nesting-aware."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None


def _latex_to_plain(s: str) -> str:
    # \frac{3}{4} -> 3/4, \dfrac too; drop \text{...} units, \, thin spaces and \% escapes.
    s = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"\1/\2", s)
    s = re.sub(r"\\text\s*\{[^{}]*\}", " ", s)
    s = s.replace("\\%", "%").replace("\\,", "").replace("\\!", "").replace("{,}", ",")
    return s


def _segment_number(segment: str) -> FoundNumber | None:
    """The number a short answer segment states: the value after its last '=' if there is one, else its first number.

    "Answer: 6 x 7 = 42" -> 42; "Answer: 42 km (6 x 7)" -> 42.
    """
    nums = _numbers(segment)
    if not nums:
        return None
    eq = segment.rfind("=")
    if eq >= 0:
        after = [n for pos, n in nums if pos > eq]
        if after:
            return after[0]
    return nums[0][1]


def extract_final_number(text: str) -> FoundNumber | None:
    """The final answer a free-text reply states, by decreasing reliability of the signal.

    1. the last \\boxed{...};  2. the last "answer: X" / "the answer is X" marker (its line, or the next line if empty);
    3. the last bold span that is just a number ("**42 km**");  4. on the last line holding a number: the value after
    its last '=' when nothing numeric follows outside parentheses ("x = 42 (rounded)"), else the line's last number.
    """
    # 1. \boxed{...}
    boxes = [m.end() for m in _BOXED_RE.finditer(text)]
    for start in reversed(boxes):
        inner = _balanced_braces(text, start)
        if inner is not None:
            found = _segment_number(_latex_to_plain(inner))
            if found is not None:
                return _with(found, "boxed")

    plain = _latex_to_plain(text)

    # 2. answer markers
    for m in reversed(list(_ANSWER_RE.finditer(plain))):
        rest = plain[m.end():]
        lines = rest.split("\n")
        segment = lines[0]
        if not segment.strip(" *_$\t") and len(lines) > 1:
            segment = next((ln for ln in lines[1:] if ln.strip()), "")
        found = _segment_number(segment.replace("**", " "))
        if found is not None:
            return _with(found, "answer")

    # 3. bold numbers
    for m in reversed(list(_BOLD_RE.finditer(plain))):
        content = m.group(1)
        # "**1.** Add ..." and "**2**: then ..." are list labels, not answers.
        if re.fullmatch(r"\s*\d+[.)]\s*", content) or plain[m.end():].lstrip(" ").startswith((":", ")")):
            continue
        if _BOLD_NUMBER_RE.match(content):
            found = _segment_number(content)
            if found is not None:
                return _with(found, "bold")

    # 4. last numeric line
    for line in reversed(plain.splitlines()):
        nums = _numbers(line)
        if not nums:
            continue
        no_paren = re.sub(r"\([^()]*\)", lambda p: " " * len(p.group(0)), line)
        eq = no_paren.rfind("=")
        if eq >= 0:
            after = [n for pos, n in _numbers(no_paren) if pos > eq]
            if len(after) == 1:
                return _with(after[0], "equals")
        outside = _numbers(no_paren)
        return _with((outside or nums)[-1][1], "last")
    return None


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return format(x, ".10g")


def _check_number(check: Check, answer: str) -> CheckResult:
    if check.answer is None:
        return CheckResult(False, "number check has no expected answer")
    expected = float(check.answer)
    found = extract_final_number(answer)
    if found is None:
        return CheckResult(False, f"no number found, expected {_fmt(expected)}", {"expected": expected})
    tol = max(float(check.tolerance), 0.0)
    # A value written as a percent matches either convention of the suite: "25%" is 25 (percent) or 0.25 (a share).
    candidates = [found.value] + ([found.value / 100.0] if found.percent else [])
    passed = any(abs(c - expected) <= tol for c in candidates)
    shown = found.text if found.percent or "/" in found.text else _fmt(found.value)
    extra = {"got": found.value, "expected": expected, "method": found.method, "text": found.text}
    if passed:
        return CheckResult(True, f"got {shown}, as expected", extra)
    return CheckResult(False, f"got {shown}, expected {_fmt(expected)}", extra)


# ------------------------------------------------------------------------------------------------------------------ json

SHAPE_TYPES: frozenset[str] = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
SHAPE_KEYS: frozenset[str] = frozenset({"type", "properties", "required", "items", "enum", "description"})

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _scan_values(text: str) -> list[Any]:
    """Every top-level JSON object/array embedded in `text`, in order (values nested in a found one are skipped)."""
    decoder = json.JSONDecoder()
    out: list[Any] = []
    i = 0
    n = len(text)
    while i < n:
        j = min((k for k in (text.find("{", i), text.find("[", i)) if k >= 0), default=-1)
        if j < 0:
            break
        try:
            value, end = decoder.raw_decode(text, j)
        except ValueError:
            i = j + 1
            continue
        out.append(value)
        i = end
    return out


def _type_matches(value: Any, prefer_type: str | list[str] | None) -> bool:
    if prefer_type is None:
        return True
    types = [prefer_type] if isinstance(prefer_type, str) else list(prefer_type)
    return _json_type(value) in types or ("number" in types and _json_type(value) == "integer")


def extract_json(text: str, prefer_type: str | list[str] | None = None) -> tuple[Any, str | None]:
    """Find the JSON value an answer gives. Returns (value, None) or (MISSING, reason).

    Order: fenced blocks (```json first, then other fences) whose whole content parses; then the top-level {...} / [...]
    values embedded in the text, preferring the first whose type is `prefer_type` (so a citation like "[1]" in the
    preamble does not hide the object that follows), else the first one.
    """
    fences = list(_FENCE_RE.finditer(text))
    fences.sort(key=lambda m: 0 if m.group(1).lower() in ("json", "jsonc", "json5") else 1)
    fence_error: str | None = None
    for m in fences:
        body = m.group(2).strip()
        if not body:
            continue
        try:
            return json.loads(body), None
        except ValueError as e:
            if fence_error is None and m.group(1).lower().startswith("json"):
                fence_error = f"```json block does not parse: {e}"
    stripped = text.strip()
    if stripped and stripped[0] not in "{[":
        # A bare scalar answer ("42", "true") is valid JSON too: accept it only when it is the whole answer.
        try:
            return json.loads(stripped), None
        except ValueError:
            pass
    values = _scan_values(text)
    if not values:
        if fence_error:
            return MISSING, fence_error
        if "{" in text or "[" in text:
            start = min(k for k in (text.find("{"), text.find("[")) if k >= 0)
            try:
                json.loads(text[start:])
            except ValueError as e:
                return MISSING, f"no parseable JSON found: {e}"
        return MISSING, "no JSON found in the answer"
    for v in values:
        if _type_matches(v, prefer_type):
            return v, None
    return values[0], None


def _child(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def validate_shape(value: Any, shape: dict[str, Any], path: str = "$") -> str | None:
    """The first way `value` violates `shape` (a JSON-schema subset), as "path: what", or None if it fits."""
    expected = shape.get("type")
    if expected is not None:
        types = [expected] if isinstance(expected, str) else list(expected)
        actual = _json_type(value)
        ok = actual in types
        if not ok and actual == "integer" and "number" in types:
            ok = True
        if not ok and actual == "number" and "integer" in types and float(value).is_integer():
            ok = True  # JSON does not distinguish 3 from 3.0
        if not ok:
            return f"{path}: expected {' or '.join(types)}, got {actual}"
    if "enum" in shape:
        # Compare types too: Python's == treats True as 1, so `true` would otherwise pass for enum [1].
        if not any(value == e and _json_type(value) == _json_type(e) for e in shape["enum"]):
            allowed = ", ".join(json.dumps(e, ensure_ascii=False) for e in shape["enum"])
            return f"{path}: {json.dumps(value, ensure_ascii=False)[:60]} is not one of [{allowed}]"
    if isinstance(value, dict):
        for key in shape.get("required", []):
            if key not in value:
                return f"{_child(path, key)}: required key missing"
        for key, sub in (shape.get("properties") or {}).items():
            if key in value:
                problem = validate_shape(value[key], sub, _child(path, key))
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(shape.get("items"), dict):
        for i, item in enumerate(value):
            problem = validate_shape(item, shape["items"], f"{path}[{i}]")
            if problem:
                return problem
    return None


def shape_problems(shape: Any, path: str = "shape") -> list[str]:
    """Why a shape is not a well-formed member of the supported subset (empty list: fine). For suite loaders."""
    if not isinstance(shape, dict):
        return [f"{path}: must be a mapping, got {type(shape).__name__}"]
    problems: list[str] = []
    unknown = sorted(set(shape) - SHAPE_KEYS)
    if unknown:
        problems.append(f"{path}: unsupported keys {unknown} (supported: {sorted(SHAPE_KEYS)})")
    t = shape.get("type")
    if t is not None:
        types = [t] if isinstance(t, str) else t
        if not isinstance(types, list) or not types or any(x not in SHAPE_TYPES for x in types):
            problems.append(f"{path}.type: {t!r} is not one of {sorted(SHAPE_TYPES)}")
    if "properties" in shape:
        props = shape["properties"]
        if not isinstance(props, dict):
            problems.append(f"{path}.properties: must be a mapping")
        else:
            for k, sub in props.items():
                problems += shape_problems(sub, f"{path}.properties.{k}")
    if "required" in shape:
        req = shape["required"]
        if not isinstance(req, list) or not all(isinstance(k, str) for k in req):
            problems.append(f"{path}.required: must be a list of strings")
        elif isinstance(shape.get("properties"), dict):
            missing = [k for k in req if k not in shape["properties"]]
            if missing:
                problems.append(f"{path}.required: {missing} not declared in properties")
    if "items" in shape:
        problems += shape_problems(shape["items"], f"{path}.items")
    if "enum" in shape and (not isinstance(shape["enum"], list) or not shape["enum"]):
        problems.append(f"{path}.enum: must be a non-empty list")
    return problems


def _check_json(check: Check, answer: str) -> CheckResult:
    shape = check.shape or {}
    value, error = extract_json(answer, prefer_type=shape.get("type"))
    if value is MISSING:
        return CheckResult(False, error or "no JSON found in the answer")
    problem = validate_shape(value, shape)
    only_json = _is_only_json(answer)
    extra = {"only_json": only_json}
    if problem:
        return CheckResult(False, problem, extra)
    return CheckResult(True, "parsed, shape ok" + ("" if only_json else " (JSON surrounded by prose)"), extra)


def _is_only_json(answer: str) -> bool:
    """True if the answer is nothing but the JSON value (optionally in one fence): what "reply with JSON only" asked."""
    s = answer.strip()
    m = re.fullmatch(r"```[ \t]*[A-Za-z0-9_+-]*[^\n]*\n(.*?)```", s, re.DOTALL)
    if m:
        s = m.group(1).strip()
    try:
        json.loads(s)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------------------------------- dispatch


def run_check(check: Check, answer: str) -> CheckResult:
    """Run one objective check on an answer's text. Never raises on model output; unknown check types fail softly."""
    if check.type == "number":
        return _check_number(check, answer)
    if check.type == "json":
        return _check_json(check, answer)
    return CheckResult(False, f"unknown check type {check.type!r}")
