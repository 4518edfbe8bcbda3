"""Load and validate prompt-suite YAML files (format: arena/prompts/types.py) with the models.yaml machinery.

Built-in suites live in arena/prompts/suites/<id>.yaml. The pseudo-suite "all" merges every built-in suite; prompt ids
that collide across suites are prefixed "<suite>/<id>" so that votes keep pointing at one prompt.
"""

from __future__ import annotations

import re
from pathlib import Path
from yaml.nodes import MappingNode, Node, SequenceNode

from arena.config.yamlsafe import Doc, plain, read_document, suggest
from arena.errors import ConfigError
from arena.prompts.types import CATEGORIES, Check, Prompt, Suite

SUITES_DIR = Path(__file__).resolve().parent / "suites"
ALL = "all"

SUITE_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
SUITE_ID_RULE = "use lowercase letters, digits and '-', at most 64 characters"
PROMPT_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
PROMPT_ID_RULE = "use lowercase letters, digits, '.', '_' and '-', at most 80 characters"
CUSTOM_CATEGORY_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")

SUITE_KEYS = ("id", "title", "description", "prompts")
PROMPT_KEYS = ("id", "category", "prompt", "notes", "check")
CHECK_TYPES = ("number", "json")
CHECK_KEYS = ("type", "answer", "tolerance", "shape")
SHAPE_KEYS = ("type", "properties", "required", "items", "enum", "description")
SHAPE_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
MAX_PROMPT_CHARS = 20_000  # a prompt must fit a small model's context with room to answer


def builtin_suite_names() -> list[str]:
    """Ids of the built-in suites (file stems), sorted."""
    if not SUITES_DIR.is_dir():
        return []
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml") if p.is_file())


def load_suite_file(path: Path, *, builtin: bool = False) -> Suite:
    """Validate one suite file. Built-in suites must use CATEGORIES and have an id equal to the file name."""
    return suite_from_node(path, read_document(path, "prompt suite"), builtin=builtin)


def suite_from_node(path: Path, root: MappingNode, *, builtin: bool = False) -> Suite:
    """Validate an already composed suite document."""
    return _SuiteBuilder(Doc(path), builtin).build(root)


def load_all_builtin() -> list[Suite]:
    return [load_suite_file(SUITES_DIR / f"{name}.yaml", builtin=True) for name in builtin_suite_names()]


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by id, "all" (every built-in suite combined), or a path to a suite YAML file."""
    names = builtin_suite_names()
    if name_or_path == ALL:
        return combine(load_all_builtin())
    if name_or_path in names:
        return load_suite_file(SUITES_DIR / f"{name_or_path}.yaml", builtin=True)
    path = Path(name_or_path).expanduser()
    if path.exists() or "/" in name_or_path or path.suffix.lower() in (".yaml", ".yml"):
        return load_suite_file(path)
    listed = ", ".join([*names, ALL]) if names else ALL
    raise ConfigError(
        f"unknown prompt suite '{name_or_path}'.{suggest(name_or_path, [*names, ALL])} Built-in suites: {listed}",
        "use one of those names, or give the path of a suite .yaml file (format: see arena/prompts/types.py)",
    )


def combine(suites: list[Suite]) -> Suite:
    """One suite holding every prompt; ids that occur in more than one suite become '<suite>/<id>'."""
    counts: dict[str, int] = {}
    for s in suites:
        for p in s.prompts:
            counts[p.id] = counts.get(p.id, 0) + 1
    prompts: list[Prompt] = []
    for s in suites:
        for p in s.prompts:
            if counts[p.id] > 1:
                p = Prompt(id=f"{s.id}/{p.id}", category=p.category, prompt=p.prompt, notes=p.notes, check=p.check)
            prompts.append(p)
    return Suite(
        id=ALL,
        title="All built-in suites",
        prompts=tuple(prompts),
        description="Every built-in suite: " + ", ".join(s.id for s in suites),
        path=None,
        builtin=True,
    )


class _SuiteBuilder:
    def __init__(self, doc: Doc, builtin: bool) -> None:
        self.doc = doc
        self.builtin = builtin

    def build(self, root: MappingNode) -> Suite:
        d = self.doc
        top = d.mapping(root, "", SUITE_KEYS, required=("id", "title", "prompts"))
        suite_id = d.identifier(top["id"], "id", SUITE_ID_RE, SUITE_ID_RULE)
        if suite_id == ALL:
            d.fail(top["id"], "id", "'all' is reserved for the combination of every built-in suite", "choose another id")
        if self.builtin and suite_id != d.path.stem:
            d.fail(top["id"], "id", f"a built-in suite's id must equal its file name ('{d.path.stem}'), got '{suite_id}'", f"set id: {d.path.stem} or rename the file")
        title = d.string(top["title"], "title", coerce=True)
        description = d.optional_string(top.get("description"), "description", coerce=True) or ""
        items = d.sequence(top["prompts"], "prompts")
        if not items:
            d.fail(top["prompts"], "prompts", "the suite has no prompts", "add at least one prompt")
        prompts: list[Prompt] = []
        seen: dict[str, Node] = {}
        for i, item in enumerate(items):
            field = f"prompts[{i}]"
            prompt = self.prompt(item, field)
            if prompt.id in seen:
                d.fail(item, f"{field}.id", f"the prompt id '{prompt.id}' is used twice (first on line {d.line(seen[prompt.id])})", "give every prompt its own id (ids are stored with votes)")
            seen[prompt.id] = item
            prompts.append(prompt)
        return Suite(id=suite_id, title=title, prompts=tuple(prompts), description=description, path=d.path, builtin=self.builtin)

    def prompt(self, node: Node, field: str) -> Prompt:
        d = self.doc
        m = d.mapping(node, field, PROMPT_KEYS, required=("id", "category", "prompt"))
        pid = d.identifier(m["id"], f"{field}.id", PROMPT_ID_RE, PROMPT_ID_RULE)
        category = d.string(m["category"], f"{field}.category")
        if self.builtin and category not in CATEGORIES:
            d.fail(m["category"], f"{field}.category", f"unknown category '{category}'.{suggest(category, CATEGORIES)} Built-in suites use: {', '.join(CATEGORIES)}", "use one of those categories")
        if not CUSTOM_CATEGORY_RE.fullmatch(category):
            d.fail(m["category"], f"{field}.category", f"the category '{category}' is not one lowercase word", f"use a lowercase word such as {', '.join(CATEGORIES[:4])}")
        text = d.string(m["prompt"], f"{field}.prompt", coerce=True, allow_empty=True)
        if not text.strip():
            d.fail(m["prompt"], f"{field}.prompt", "the prompt text is empty", "write the question or task the two models should answer")
        if len(text) > MAX_PROMPT_CHARS:
            d.fail(m["prompt"], f"{field}.prompt", f"the prompt is {len(text):,} characters long (limit {MAX_PROMPT_CHARS:,})", "shorten it: both models must fit it in their context with room to answer")
        notes = d.optional_string(m.get("notes"), f"{field}.notes", coerce=True)
        check = None
        if "check" in m and not d.is_null(m["check"]):
            check = self.check(m["check"], f"{field}.check")
        return Prompt(id=pid, category=category, prompt=text.strip("\n"), notes=notes, check=check)

    def check(self, node: Node, field: str) -> Check:
        d = self.doc
        m = d.mapping(node, field, CHECK_KEYS, required=("type",))
        ctype = d.choice(m["type"], f"{field}.type", CHECK_TYPES)
        if ctype == "number":
            if "answer" not in m or d.is_null(m["answer"]):
                d.fail(node, field, "a number check needs 'answer': the number the final answer must equal", "add answer: 42 (and optionally tolerance: 0.01)")
            if "shape" in m:
                d.fail(m["shape"], f"{field}.shape", "'shape' belongs to json checks, not number checks", "remove it, or set type: json")
            answer = d.number(m["answer"], f"{field}.answer")
            tolerance = 1e-6
            if "tolerance" in m:
                tolerance = d.number(m["tolerance"], f"{field}.tolerance", minimum=0.0, why="an absolute difference")
            return Check(type="number", answer=answer, tolerance=tolerance)
        for key in ("answer", "tolerance"):
            if key in m:
                d.fail(m[key], f"{field}.{key}", f"'{key}' belongs to number checks, not json checks", "remove it, or set type: number")
        if "shape" not in m or d.is_null(m["shape"]):
            d.fail(node, field, "a json check needs 'shape': the JSON-schema subset (type, properties, required, items, enum) the answer must match", "add e.g. shape: {type: object, required: [name]}")
        self.shape(m["shape"], f"{field}.shape")
        shape = plain(m["shape"])
        assert isinstance(shape, dict)
        # The checker is the authority on what it can evaluate; agree with it (when present) rather than drift.
        try:
            from arena.prompts.checks import shape_problems
        except ImportError:
            shape_problems = None
        if shape_problems is not None:
            problems = shape_problems(shape, f"{field}.shape")
            if problems:
                d.fail(m["shape"], f"{field}.shape", f"the checker cannot use this shape: {problems[0]}", "fix the shape (JSON-schema subset: type, properties, required, items, enum)")
        return Check(type="json", shape=shape)

    def shape(self, node: Node, field: str) -> None:
        """Validate a JSON-schema subset node recursively (so a typo'd 'propeties' is caught, not silently ignored)."""
        d = self.doc
        m = d.mapping(node, field, SHAPE_KEYS)
        stypes: set[str] | None = None  # None: any type
        if "type" in m:
            tnode = m["type"]
            if isinstance(tnode, SequenceNode):  # type: [string, "null"]
                listed = d.sequence(tnode, f"{field}.type")
                if not listed:
                    d.fail(tnode, f"{field}.type", "the list of types is empty", f"list one or more of: {', '.join(SHAPE_TYPES)}")
                stypes = {d.choice(t, f"{field}.type[{i}]", SHAPE_TYPES) for i, t in enumerate(listed)}
            else:
                stypes = {d.choice(tnode, f"{field}.type", SHAPE_TYPES)}
        stype = None if stypes is None or "object" in stypes else "/".join(sorted(stypes))
        if "description" in m:
            d.string(m["description"], f"{field}.description", coerce=True, allow_empty=True)
        props: dict[str, Node] = {}
        if "properties" in m:
            if stype not in (None, "object"):
                d.fail(m["properties"], f"{field}.properties", f"'properties' only applies to type object, but type is {stype}", "remove it or set type: object")
            pm = m["properties"]
            if not isinstance(pm, MappingNode):
                d.fail(pm, f"{field}.properties", "expected a mapping of property name -> shape", "write properties: {name: {type: string}}")
            for k, v in pm.value:
                name = d.string(k, f"{field}.properties", coerce=True)
                if name in props:
                    d.fail(k, f"{field}.properties.{name}", f"the property '{name}' appears twice", "keep one")
                props[name] = v
                self.shape(v, f"{field}.properties.{name}")
        if "required" in m:
            if stype not in (None, "object"):
                d.fail(m["required"], f"{field}.required", f"'required' only applies to type object, but type is {stype}", "remove it or set type: object")
            for i, r in enumerate(d.sequence(m["required"], f"{field}.required")):
                name = d.string(r, f"{field}.required[{i}]", coerce=True)
                if props and name not in props:
                    d.fail(r, f"{field}.required[{i}]", f"'{name}' is required but not listed under properties.{suggest(name, props)}", "add it to properties or fix the name")
        if "items" in m:
            if stypes is not None and "array" not in stypes:
                d.fail(m["items"], f"{field}.items", f"'items' only applies to type array, but type is {'/'.join(sorted(stypes))}", "remove it or set type: array")
            self.shape(m["items"], f"{field}.items")
        if "enum" in m:
            values = d.sequence(m["enum"], f"{field}.enum")
            if not values:
                d.fail(m["enum"], f"{field}.enum", "the enum list is empty: no value could match", "list the allowed values")
            for i, v in enumerate(values):
                if not isinstance(plain(v), (str, int, float, bool, type(None))):
                    d.fail(v, f"{field}.enum[{i}]", "enum values must be plain strings, numbers, booleans or null", "simplify the value")


def is_builtin_path(path: Path) -> bool:
    """A file inside the built-in suites directory is held to the built-in rules (CATEGORIES, id == file name)."""
    return path.resolve().parent == SUITES_DIR
