"""Safe, line-aware YAML reading shared by models.yaml and prompt-suite files.

Why not `yaml.safe_load`: a person who mistypes a field needs the line number and the field path, so we compose the
document into nodes (which carry start marks) and validate those. Reading is also hardened, because these files are
user input and may come from elsewhere: size cap before parsing, strict UTF-8, no anchors/aliases (billion-laughs
expansion), no custom tags (`!!python/...`), no duplicate keys (YAML would silently keep the last), bounded nesting.
Every problem becomes a `ConfigError` with one paragraph: "FILE, line N, field.path: what. Fix: how."
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from arena.errors import ConfigError

MAX_BYTES = 1_000_000  # models.yaml and suites are a few KB; anything bigger is a mistake or an attack
MAX_DEPTH = 40  # the deepest legitimate structure is a JSON-check shape; recursion in PyYAML must stay far from Python's limit

_T = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_T + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
TAG_STR, TAG_INT, TAG_FLOAT, TAG_BOOL, TAG_NULL = (_T + n for n in ("str", "int", "float", "bool", "null"))


def suggest(word: str, choices: Iterable[str]) -> str:
    """' Did you mean "x"?' when a close match exists, else ''."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
        elif len(word) >= 3:  # abbreviations difflib scores low: temp -> temperature
            close = [c for c in options if c.lower().startswith(word.lower())][:1]
    return f' Did you mean "{close[0]}"?' if close else ""


def _line_of(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _where(path: Path, line: int | None, field: str | None) -> str:
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line}")
    if field:
        parts.append(field)
    return ", ".join(parts)


def config_error(path: Path, line: int | None, field: str | None, message: str, fix: str) -> ConfigError:
    # One paragraph: the message must not carry newlines (values quoted from the file might).
    text = f"{_where(path, line, field)}: {message}"
    return ConfigError(" ".join(text.split()), " ".join(fix.split()))


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader whose composer refuses anchors, aliases, non-plain tags and deep nesting while composing.

    Refusing anchors at compose time (instead of merely not expanding them) means an alias bomb is rejected at its first
    `&`, before any work proportional to its expansion is done.
    """

    def __init__(self, stream: str, source: Path) -> None:
        super().__init__(stream)
        self.source = source
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        event = self.peek_event()
        line = _line_of(event.start_mark)
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            raise config_error(
                self.source,
                line,
                None,
                "YAML anchors and aliases (&name, *name, <<: *name) are not supported in this file; "
                "they are refused so that a small file cannot expand into a huge one",
                "write the repeated values out in full (shared sampling settings go under defaults.sampling)",
            )
        tag = getattr(event, "tag", None)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and tag not in (None, "!") and tag not in _PLAIN_TAGS:
            shown = tag.replace(_T, "!!")
            raise config_error(
                self.source,
                line,
                None,
                f"the YAML tag '{shown}' is not allowed: this file holds plain data only "
                "(tags such as !!python/object could run code, so they are refused)",
                "remove the tag and write a plain string, number, list or mapping",
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise config_error(
                    self.source, line, None, f"the document is nested more than {MAX_DEPTH} levels deep", "flatten it"
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise config_error(path, 1, None, "the file is UTF-16 encoded", "save it as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise config_error(
            path,
            line,
            None,
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8 (in most editors: 'Save with encoding', UTF-8)",
        ) from None


_SYNTAX_HINTS = (
    ("found character '\\t'", "a tab character; YAML indents with spaces only"),
    ("mapping values are not allowed", "a ':' where YAML did not expect one (a value containing ': ' must be quoted, or the indentation is off)"),
    ("expected <block end>", "this line's indentation does not line up with the lines above it"),
    ("could not find expected ':'", "a line is missing its ':' or a quote is not closed"),
    ("found unexpected end of stream", "a quote or bracket is never closed"),
    ("expected ',' or '}'", "a {...} mapping is not closed, or a value in it needs quotes"),
    ("expected ',' or ']'", "a [...] list is not closed, or a value in it needs quotes"),
)


def _plain_words(detail: str) -> str:
    for needle, words in _SYNTAX_HINTS:
        if needle in detail:
            return words + " "
    return ""


def read_document(path: Path, what: str) -> MappingNode:
    """Read `path` and compose its single YAML document; the top level must be a mapping.

    `what` names the kind of file in messages ("models.yaml", "prompt suite").
    """
    try:
        if path.is_dir():
            raise config_error(path, None, None, f"this {what} path is a directory, not a file", "give the path of a .yaml file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise config_error(
                path, None, None, f"the file is {size:,} bytes; a {what} larger than {MAX_BYTES:,} bytes is refused", "check that this is the right file"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)  # stat can lie (pipes, /proc): never read more than the cap
    except FileNotFoundError:
        raise config_error(path, None, None, f"{what} not found", "check the path, or pass another file with --config") from None
    except PermissionError:
        raise config_error(path, None, None, f"cannot read this {what}: permission denied", "fix the file's permissions") from None
    except OSError as exc:
        raise config_error(path, None, None, f"cannot read this {what}: {exc.strerror or exc}", "check the path") from None
    if len(data) > MAX_BYTES:
        raise config_error(path, None, None, f"the file is larger than {MAX_BYTES:,} bytes and is refused", "check that this is the right file")
    text = _decode(path, data)
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text, path)  # the reader rejects control characters already here
        node = loader.get_single_node()
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = _line_of(mark)
        col = f"column {mark.column + 1}" if mark is not None else None
        detail = " ".join(p for p in (exc.context, exc.problem) if p)
        opened = exc.context_mark if exc.problem_mark is not None else None
        if opened is not None and opened.line != mark.line:
            # "unclosed {" is noticed lines later; the opening line is where the fix usually goes.
            detail += f"; the structure it complains about starts on line {opened.line + 1}"
        if "expected a single document" in detail:
            raise config_error(path, line, None, "the file contains more than one YAML document ('---')", "keep one document per file") from None
        raise config_error(
            path,
            line,
            col,
            f"YAML syntax error: {_plain_words(detail)}({detail})",
            "check indentation and quoting near that line (indent with spaces, never tabs; quote values that contain ': ' or ' #' or start with '*', '&', '!', '?', '@' or '`')",
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise config_error(
            path, line, None, f"the file contains a character YAML does not allow (code point 0x{exc.character:04x})" if isinstance(exc.character, int) else "the file contains a character YAML does not allow", "delete it or save the file as plain UTF-8 text"
        ) from None
    except yaml.YAMLError as exc:
        raise config_error(path, None, None, f"YAML error: {exc}", "check the file's syntax") from None
    except RecursionError:
        raise config_error(path, None, None, "the document is nested too deeply", "flatten it") from None
    except Exception as exc:  # PyYAML internals on odd input: still one paragraph, never a traceback
        raise config_error(path, None, None, f"the file could not be parsed as YAML ({type(exc).__name__}: {exc})", "check the file's syntax") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise config_error(path, None, None, f"the {what} is empty", f"write a {what} (see the comment at the top of the shipped models.yaml or arena/prompts/types.py)")
    if not isinstance(node, MappingNode):
        raise config_error(path, _line_of(node.start_mark), None, f"the top level of a {what} must be a mapping of 'key: value' lines, not {describe(node)}", "see the documented format")
    return node


def describe(node: Node) -> str:
    """A short human description of what a node holds, for 'expected X, got Y'."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    assert isinstance(node, ScalarNode)
    kind = {TAG_INT: "the number", TAG_FLOAT: "the number", TAG_BOOL: "the boolean", TAG_NULL: "an empty value"}.get(node.tag, "the text")
    if node.tag == TAG_NULL:
        return kind
    value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{kind} '{value}'"


_constructor = yaml.constructor.SafeConstructor()


def plain(node: Node) -> Any:
    """Python value of an (alias-free, already depth-checked) node."""
    return _constructor.construct_document(node)


@dataclass
class Doc:
    """Typed accessors over composed nodes that raise a located ConfigError on any mismatch."""

    path: Path

    def fail(self, node: Node | None, field: str, message: str, fix: str) -> NoReturn:
        raise config_error(self.path, _line_of(node.start_mark) if node is not None else None, field, message, fix)

    @staticmethod
    def line(node: Node) -> int:
        return int(node.start_mark.line) + 1

    @staticmethod
    def is_null(node: Node | None) -> bool:
        return node is None or (isinstance(node, ScalarNode) and node.tag == TAG_NULL)

    def mapping(
        self,
        node: Node,
        field: str,
        allowed: Collection[str],
        required: Collection[str] = (),
        *,
        hints: dict[str, str] | None = None,
    ) -> dict[str, Node]:
        """Keys of a mapping node -> value nodes, after checking unknown, duplicate and missing keys.

        `hints`: a specific fix for keys people are known to write (e.g. api_key -> api_key_env).
        """
        if not isinstance(node, MappingNode):
            self.fail(node, field, f"expected a mapping (key: value lines), got {describe(node)}", f"write {field} as indented 'key: value' lines")
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == TAG_NULL:
                self.fail(key_node, field, "a key must be plain text", "write keys as simple words")
            key = str(key_node.value)
            sub = f"{field}.{key}" if field else key
            if hints and key in hints:
                self.fail(key_node, sub, f"'{key}' is not allowed here", hints[key])
            if key not in allowed:
                valid = ", ".join(sorted(allowed))
                self.fail(key_node, sub, f"unknown key '{key}'.{suggest(key, allowed)} Valid keys here: {valid}", "rename or remove the key")
            if key in out:
                self.fail(key_node, sub, f"the key '{key}' appears twice (first on line {self.line(out[key])})", "keep one of them")
            out[key] = value_node
        missing = [k for k in required if k not in out or self.is_null(out[k])]
        if missing:
            names = ", ".join(f"'{k}'" for k in missing)
            self.fail(node, field, f"missing required {'key' if len(missing) == 1 else 'keys'} {names}", f"add {names} to {field or 'the top level'}")
        return out

    def sequence(self, node: Node, field: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, field, f"expected a list (lines starting with '- '), got {describe(node)}", f"write {field} as a list")
        return list(node.value)

    def string(self, node: Node, field: str, *, coerce: bool = False, allow_empty: bool = False) -> str:
        """Text value. `coerce`: also accept a number and keep its exact spelling (e.g. params: 7 -> "7")."""
        if isinstance(node, ScalarNode) and (node.tag == TAG_STR or (coerce and node.tag in (TAG_INT, TAG_FLOAT))):
            value = str(node.value)
            if not allow_empty and not value.strip():
                self.fail(node, field, "the value is empty", "write a value or remove the key")
            return value
        self.fail(node, field, f"expected text, got {describe(node)}", "write a text value (quote it if it looks like a number or yes/no)")

    def optional_string(self, node: Node | None, field: str, *, coerce: bool = False) -> str | None:
        return None if node is None or self.is_null(node) else self.string(node, field, coerce=coerce)

    def integer(self, node: Node, field: str, *, minimum: int | None = None, maximum: int | None = None, why: str = "") -> int:
        if not (isinstance(node, ScalarNode) and node.tag == TAG_INT):
            self.fail(node, field, f"expected a whole number, got {describe(node)}", "write a whole number without quotes")
        value = int(plain(node))
        self._range(node, field, value, minimum, maximum, why, inclusive_min=True)
        return value

    def number(
        self,
        node: Node,
        field: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        min_inclusive: bool = True,
        why: str = "",
    ) -> float:
        if not (isinstance(node, ScalarNode) and node.tag in (TAG_INT, TAG_FLOAT)):
            self.fail(node, field, f"expected a number, got {describe(node)}", "write a number without quotes")
        value = float(plain(node))
        if not math.isfinite(value):
            self.fail(node, field, f"{node.value} is not a finite number", "write a finite number")
        self._range(node, field, value, minimum, maximum, why, inclusive_min=min_inclusive)
        return value

    def _range(self, node: Node, field: str, value: float, lo: float | None, hi: float | None, why: str, *, inclusive_min: bool) -> None:
        too_low = lo is not None and (value < lo if inclusive_min else value <= lo)
        too_high = hi is not None and value > hi
        if too_low or too_high:
            if lo is not None and hi is not None:
                span = f"between {_num(lo)} and {_num(hi)}" if inclusive_min else f"greater than {_num(lo)} and at most {_num(hi)}"
            elif lo is not None:
                span = f"at least {_num(lo)}" if inclusive_min else f"greater than {_num(lo)}"
            else:
                span = f"at most {_num(hi)}"
            reason = f" ({why})" if why else ""
            self.fail(node, field, f"{node.value} is out of range: it must be {span}{reason}", f"set {field.rsplit('.', 1)[-1]} to a value {span}")

    def boolean(self, node: Node, field: str) -> bool:
        if not (isinstance(node, ScalarNode) and node.tag == TAG_BOOL):
            self.fail(node, field, f"expected true or false, got {describe(node)}", "write true or false")
        return bool(plain(node))

    def choice(self, node: Node, field: str, choices: Collection[str]) -> str:
        value = self.string(node, field)
        if value not in choices:
            listed = ", ".join(choices)
            self.fail(node, field, f"unknown value '{value}'.{suggest(value, choices)} Valid values: {listed}", f"use one of: {listed}")
        return value

    def identifier(self, node: Node, field: str, pattern: re.Pattern[str], rule: str) -> str:
        value = self.string(node, field, coerce=True)
        if not pattern.fullmatch(value):
            self.fail(node, field, f"the id '{value}' is not valid: {rule}", "rename it, e.g. " + _slug(value))
        return value


def _num(x: float | None) -> str:
    assert x is not None
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", value.lower()).strip("-._")
    return f"'{slug or 'my-id'}'"
