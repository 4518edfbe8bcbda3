"""`arena plan`: which memory-matched pairs and ladders are worth running in a given amount of RAM.

Sources of candidates: the catalog (models.yaml) and GGUF files already on this machine that the catalog does not name
(the Hugging Face cache, the directories of `path` sources, arena's models dir). For each candidate, the RAM it needs:
- file on disk: the RAM preflight's estimate from its header (weights + KV cache at n_ctx + compute buffers), exact
  to the preflight's own accuracy;
- not on disk: weights = the file's size from the Hub listing (online) or parameters x typical bits/weight of the quant
  (offline; arena.models.compare.TYPICAL_BPW), plus KV cache and buffers taken from a model of the same family and
  size that is on disk (same architecture: same KV and buffers), else a rough allowance (ALLOWANCE_*), marked "~".
A pair needs both models plus the app's RUNTIME_OVERHEAD, exactly as the preflight adds them before a matchup loads.
Pairs worth running: the same family, the bigger model at fewer bits per weight (arena.models.compare), memory-matched
within the tolerance, and fitting the RAM. Ladders: three or more models of a family whose largest two fit together.
No network unless `online` (then only listings of the catalog's Hub repos, with a short timeout).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.config.types import Config, DerivedSource, HubSource, ModelSpec, PackageSource, PathSource, RemoteSource
from arena.errors import ArenaError, UsageError
from arena.models.compare import MEMORY_TOLERANCE, Comparison, Contender, parse_params, typical_bpw
from arena.models.facts import GGUFFacts, read_facts
from arena.models.preflight import RUNTIME_OVERHEAD, estimate_memory

DEFAULT_N_CTX = 4096  # for files the catalog does not name (ModelSpec's default)
# Rough KV cache + compute buffers for a model not on disk and without an on-disk sibling: base + per billion params,
# at n_ctx 4096, scaled linearly with n_ctx. Fitted to the preflight's formula applied to Qwen2.5 3B / 7B / 72B
# (36/28/80 layers, 2/4/8 KV heads of 128, 152k vocabulary): 0.54 / 0.67 / 1.9 GB at n_ctx 4096.
ALLOWANCE_BASE = 0.45e9
ALLOWANCE_PER_B = 0.02e9
# The quants people usually publish, harsh to light (bartowski / unsloth / lmstudio-community naming).
COMMON_QUANTS = ("IQ2_M", "Q2_K", "IQ3_XXS", "IQ3_M", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")
_QUANT_SUFFIX = re.compile(r"[-_.]((?:I?Q\d\w*)|F16|BF16|F32)$", re.IGNORECASE)


def parse_ram(text: str) -> int:
    """'16G' / '16GB' = 16 x 10^9 bytes; '16GiB' = 16 x 2^30; also M/MB/MiB and T; a bare number is GB."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B?)\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"--ram {text!r} is not an amount of memory", "give e.g. --ram 16G (16 x 10^9 bytes) or --ram 16GiB")
    unit = (m.group(2) or "G").upper()
    binary = m.group(3).upper().startswith("I")
    power = "KMGT".index(unit) + 1
    return int(float(m.group(1)) * ((1024**power) if binary else (1000**power)))


@dataclass
class Need:
    """RAM one model needs: the preflight's parts; `exact` when read from the file's header."""

    weights: int
    kv_cache: int
    compute: int
    n_ctx: int
    exact: bool
    basis: str  # "file header", "same-size sibling on disk", "rough allowance"

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute


@dataclass
class Candidate:
    id: str  # catalog id, or "file:<name>" for a GGUF the catalog does not name
    name: str
    family: str | None
    params_label: str | None
    quant: str | None
    n_params: int | None
    bpw: float | None
    bpw_body: float | None
    source: str
    path: Path | None
    on_disk: bool
    in_catalog: bool
    need: Need | None  # None: unknown (no params/quant labels and no file)
    pull_bytes: int | None = None  # what `arena pull` downloads; 0 when nothing; None: unknown
    pull_action: str | None = None  # "download" / "assemble from package" / "quantize locally" / None (on disk)
    pull_basis: str | None = None  # "hub listing" / "estimate"
    fallback_note: str | None = None  # a derived K-quant that llama.cpp will partly quantize with wider types

    def contender(self) -> Contender:
        measured = self.on_disk
        return Contender(
            id=self.id, name=self.label, n_params=self.n_params, bpw=self.bpw, bpw_body=self.bpw_body,
            file_size=self.need.weights if self.need else None, memory=self.need.total if self.need else None,
            quant=self.quant, measured=measured,
        )  # fmt: skip

    @property
    def label(self) -> str:
        return f"{self.name} {self.quant}" if self.quant and self.quant not in self.name else self.name

    def to_dict(self) -> dict[str, Any]:
        need = self.need
        return {
            "id": self.id, "name": self.name, "family": self.family, "params": self.n_params, "quant": self.quant,
            "bits_per_weight": self.bpw, "non_embedding_bits_per_weight": self.bpw_body, "source": self.source,
            "path": str(self.path) if self.path else None, "on_disk": self.on_disk, "in_catalog": self.in_catalog,
            "memory": None if need is None else {
                "weights": need.weights, "kv_cache": need.kv_cache, "compute": need.compute, "total": need.total,
                "n_ctx": need.n_ctx, "exact": need.exact, "basis": need.basis,
            },
            "pull": {"bytes": self.pull_bytes, "action": self.pull_action, "basis": self.pull_basis},
            "note": self.fallback_note,
        }  # fmt: skip


@dataclass
class Pair:
    big: Candidate
    small: Candidate
    comparison: Comparison
    needed: int  # both models + RUNTIME_OVERHEAD
    fits: bool
    matchup: str | None = None  # the catalog matchup, if the pair is one

    @property
    def pull_bytes(self) -> int | None:
        sizes = [c.pull_bytes for c in (self.big, self.small)]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    @property
    def exact(self) -> bool:
        return all(c.need is not None and c.need.exact for c in (self.big, self.small))

    def to_dict(self) -> dict[str, Any]:
        return {
            "matchup": self.matchup, "big": self.big.id, "small": self.small.id, "needed": self.needed,
            "runtime_overhead": RUNTIME_OVERHEAD, "exact": self.exact, "fits": self.fits, "pull_bytes": self.pull_bytes,
            "comparison": self.comparison.to_dict(),
        }  # fmt: skip


@dataclass
class Ladder:
    family: str
    models: list[str]
    peak_needed: int  # the two largest together + RUNTIME_OVERHEAD
    fits: bool
    origin: str  # "catalog ladder <id>" or "family"
    pull_bytes: int | None = None
    exact: bool = True  # every member's need read from its file

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "models": self.models, "peak_needed": self.peak_needed, "fits": self.fits,
                "origin": self.origin, "pull_bytes": self.pull_bytes, "exact": self.exact}  # fmt: skip


@dataclass
class LookFor:
    repo: str
    stem: str  # the publisher's file name without the quant, e.g. "Qwen2.5-7B-Instruct"
    family: str | None
    have: list[str]  # quants the catalog names from this repo
    patterns: list[str]  # file names to look for
    listing: list[tuple[str, int | None]] | None = None  # real .gguf files and sizes (online), None offline
    listing_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo, "stem": self.stem, "family": self.family, "have": self.have, "look_for": self.patterns,
            "listing": None if self.listing is None else [{"file": f, "size": s} for f, s in self.listing],
            "listing_error": self.listing_error,
        }  # fmt: skip


@dataclass
class Plan:
    ram: int
    ram_source: str  # "--ram" / "available (MemAvailable)"
    offline: bool
    offline_reason: str | None
    tolerance: float
    candidates: list[Candidate]
    matchups: list[Pair]  # the catalog's matchups, fitting or not
    pairs: list[Pair]  # other pairs worth running that fit
    ladders: list[Ladder]
    look_for: list[LookFor]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ram": self.ram, "ram_source": self.ram_source, "offline": self.offline, "offline_reason": self.offline_reason,
            "tolerance": self.tolerance, "runtime_overhead": RUNTIME_OVERHEAD,
            "models": [c.to_dict() for c in self.candidates],
            "matchups": [p.to_dict() for p in self.matchups], "pairs": [p.to_dict() for p in self.pairs],
            "ladders": [ladder.to_dict() for ladder in self.ladders], "look_for": [x.to_dict() for x in self.look_for],
            "notes": self.notes,
        }  # fmt: skip


# -- candidates ------------------------------------------------------------------------------------------------------


def _exact_need(facts: GGUFFacts, n_ctx: int) -> Need:
    e = estimate_memory(facts, n_ctx)
    return Need(e.weights, e.kv_cache, e.compute, n_ctx, True, "file header")


def _family_of(facts: GGUFFacts) -> str | None:
    base = facts.metadata.get("general.basename")
    return base.lower() if isinstance(base, str) and base.strip() else facts.architecture


def _from_catalog(spec: ModelSpec, config: Config) -> tuple[Candidate, GGUFFacts | None]:
    from arena.models.resolve import describe, describe_source

    facts = None
    path = None
    try:
        resolved = describe(spec, config)
        facts, path = resolved.facts, resolved.path
    except ArenaError:  # a damaged file: planned from the labels; `arena check` explains the damage
        pass
    quant = (facts.quant_type if facts else None) or spec.quant
    if isinstance(spec.source, DerivedSource):
        quant = quant or spec.source.type.upper()
    cand = Candidate(
        id=spec.id, name=spec.name, family=spec.family, params_label=spec.params_label, quant=quant,
        n_params=facts.n_params if facts else parse_params(spec.params_label),
        bpw=facts.bits_per_weight if facts else typical_bpw(quant),
        bpw_body=facts.non_embedding_bits_per_weight if facts else None,
        source=describe_source(spec), path=path, on_disk=facts is not None, in_catalog=True,
        need=_exact_need(facts, spec.n_ctx) if facts else None,
    )  # fmt: skip
    if facts is not None:
        cand.pull_bytes, cand.pull_action = 0, None
    elif isinstance(spec.source, HubSource):
        cand.pull_action = "download"
    elif isinstance(spec.source, PackageSource):
        cand.pull_bytes, cand.pull_action = 0, "assemble from the installed package"
    elif isinstance(spec.source, DerivedSource):
        cand.pull_bytes, cand.pull_action = 0, f"quantize {spec.source.from_model} locally"
        from arena.models.contenders import derived_fallback_note

        cand.fallback_note = derived_fallback_note(spec, config)
        if cand.fallback_note:  # the type's typical bits/weight would be a claim the file will not honour
            cand.bpw = None
    return cand, facts


def _gguf_files(config: Config) -> Iterable[Path]:
    """GGUF files on this machine in the places arena looks: the HF cache, `path` sources' directories, the models dir."""
    from arena.paths import models_dir

    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
        for repo in info.repos:
            for revision in repo.revisions:
                for f in revision.files:
                    if f.file_name.lower().endswith(".gguf"):
                        yield Path(f.file_path)
    except Exception:  # no cache dir yet (CacheNotFound) or an unreadable one: nothing cached to plan with
        pass
    dirs = {models_dir()}
    for spec in config.models.values():
        if isinstance(spec.source, PathSource):
            p = Path(spec.source.path).expanduser()
            dirs.add((p if p.is_absolute() else config.path.parent / p).parent)
    for d in dirs:
        if d.is_dir():
            yield from (p for p in d.rglob("*.gguf") if not p.name.startswith("."))


def _uncatalogued(config: Config, known: set[Path]) -> list[tuple[Candidate, GGUFFacts]]:
    out: list[tuple[Candidate, GGUFFacts]] = []
    seen: set[Path] = set()
    for path in _gguf_files(config):
        try:
            real = path.resolve()
        except OSError:
            continue
        if real in known or real in seen:
            continue
        seen.add(real)
        try:
            facts = read_facts(path)
        except ArenaError:
            continue  # damaged or partial: not a candidate
        n_ctx = min(DEFAULT_N_CTX, facts.context_length or DEFAULT_N_CTX)
        name = facts.name or path.stem
        cand = Candidate(
            id=f"file:{path.name}", name=name, family=_family_of(facts), params_label=None, quant=facts.quant_type,
            n_params=facts.n_params, bpw=facts.bits_per_weight, bpw_body=facts.non_embedding_bits_per_weight,
            source=f"path:{path}", path=path, on_disk=True, in_catalog=False, need=_exact_need(facts, n_ctx),
            pull_bytes=0,
        )  # fmt: skip
        out.append((cand, facts))
    return out


def _estimate_needs(cands: list[Candidate], config: Config, disk_facts: dict[str, GGUFFacts]) -> None:
    """Fill `need` for candidates not on disk: weights from the listing or the labels, KV + buffers from a sibling."""
    for cand in cands:
        if cand.need is not None:
            continue
        spec = config.models.get(cand.id)
        n_ctx = spec.n_ctx if spec else DEFAULT_N_CTX
        weights = cand.pull_bytes if cand.pull_action == "download" and cand.pull_basis == "hub listing" else None
        if weights is None and cand.n_params and cand.bpw:
            weights = int(cand.n_params * cand.bpw / 8)
        if weights is None and cand.fallback_note and spec is not None and isinstance(spec.source, DerivedSource):
            base = disk_facts.get(spec.source.from_model)
            weights = base.file_size if base is not None else None  # fallbacks keep it near its source's size
        if weights is None:
            continue
        sibling = next(
            (disk_facts[o.id] for o in cands if o.on_disk and o.id in disk_facts and o.family and o.family == cand.family
             and o.params_label and o.params_label == cand.params_label),
            None,
        )  # fmt: skip
        if sibling is not None:
            e = estimate_memory(sibling, n_ctx)
            cand.need = Need(weights, e.kv_cache, e.compute, n_ctx, False, "same-size sibling on disk")
        else:
            billions = (cand.n_params or 0) / 1e9
            extra = int((ALLOWANCE_BASE + ALLOWANCE_PER_B * billions) * n_ctx / DEFAULT_N_CTX)
            cand.need = Need(weights, extra // 2, extra - extra // 2, n_ctx, False, "rough allowance")
        if cand.pull_action == "download" and cand.pull_bytes is None:
            cand.pull_bytes, cand.pull_basis = weights, "estimate"


# -- the Hub -----------------------------------------------------------------------------------------------------------


def offline_reason(force_offline: bool = False, probe: Callable[[], bool] | None = None) -> str | None:
    """Why the plan works without the network, or None when the Hub can be listed."""
    from huggingface_hub import constants

    if force_offline:
        return "--offline was given"
    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE=1"
    from arena.models.hub import _endpoint_reachable

    if not (probe or (lambda: _endpoint_reachable(timeout_s=2.0)))():
        return f"the Hub ({constants.ENDPOINT}) is unreachable"
    return None


LISTING_TIMEOUT_S = 10.0  # for all listings together


def list_gguf_files(repo: str, revision: str | None = None) -> list[tuple[str, int | None]]:
    """The repo's .gguf files and sizes (one request per 1000 files). Raises on any failure."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    files = []
    for entry in HfApi().list_repo_tree(repo, revision=revision, recursive=True):
        if isinstance(entry, RepoFile) and entry.path.lower().endswith(".gguf"):
            files.append((entry.path, entry.size))
    return sorted(files)


def stem_of(file_name: str) -> str:
    """'Qwen2.5-7B-Instruct-Q2_K.gguf' -> 'Qwen2.5-7B-Instruct' (publishers end names with the quant)."""
    stem = file_name.rsplit("/", 1)[-1]
    stem = stem[:-5] if stem.lower().endswith(".gguf") else stem
    return _QUANT_SUFFIX.sub("", stem)


def _quant_of(file_name: str) -> str | None:
    stem = file_name.rsplit("/", 1)[-1]
    stem = stem[:-5] if stem.lower().endswith(".gguf") else stem
    m = _QUANT_SUFFIX.search(stem)
    return m.group(1).upper() if m else None


def _listings(
    repos: list[tuple[str, str | None]], listing: Callable[[str, str | None], list[tuple[str, int | None]]], timeout_s: float
) -> dict[str, list[tuple[str, int | None]] | BaseException]:
    """Run the listings in parallel daemon threads under one deadline. Why threads: huggingface_hub passes
    `timeout=None` per request and retries timeouts with backoff, so a Hub that accepts connections and never answers
    would hang the plan; a daemon thread left waiting does not keep the process alive."""
    import threading
    import time

    results: dict[str, list[tuple[str, int | None]] | BaseException] = {}

    def work(repo: str, revision: str | None) -> None:
        try:
            results[repo] = listing(repo, revision)
        except BaseException as exc:  # noqa: BLE001 - reported per repo
            results[repo] = exc

    threads = [threading.Thread(target=work, args=r, daemon=True, name=f"list {r[0]}") for r in repos]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    for repo, _ in repos:
        results.setdefault(repo, TimeoutError(f"no answer within {timeout_s:g} s"))
    return dict(results)


def _look_for(
    config: Config,
    family: str | None,
    listing: Callable[[str, str | None], list[tuple[str, int | None]]] | None,
    timeout_s: float = LISTING_TIMEOUT_S,
) -> list[LookFor]:
    repos: dict[tuple[str, str], list[ModelSpec]] = {}
    for spec in config.models.values():
        if isinstance(spec.source, HubSource) and (family is None or spec.family == family):
            repos.setdefault((spec.source.repo, stem_of(spec.source.file)), []).append(spec)
    listed: dict[str, Any] = {}
    if listing is not None:
        wanted = {repo: specs[0].source.revision for (repo, _), specs in repos.items() if isinstance(specs[0].source, HubSource)}
        listed = _listings(list(wanted.items()), listing, timeout_s)
    out = []
    for (repo, stem), specs in repos.items():
        have = sorted({(s.quant or _quant_of(s.source.file) or "?").upper() for s in specs if isinstance(s.source, HubSource)})
        patterns = [f"{stem}-{q}.gguf" for q in COMMON_QUANTS if q not in have]
        item = LookFor(repo, stem, specs[0].family, have, patterns)
        result = listed.get(repo)
        if isinstance(result, BaseException):  # a listing is a bonus; say why it is missing
            text = str(result).splitlines()[0] if str(result) else ""
            item.listing_error = f"{type(result).__name__}: {text}".rstrip(": ")
        elif result is not None:
            item.listing = result
        out.append(item)
    return out


# -- pairs and ladders -------------------------------------------------------------------------------------------------


def _pair(big: Candidate, small: Candidate, ram: int, tolerance: float, matchup: str | None = None) -> Pair | None:
    if big.need is None or small.need is None:
        return None
    needed = big.need.total + small.need.total + RUNTIME_OVERHEAD
    return Pair(big, small, Comparison(big.contender(), small.contender(), tolerance), needed, needed <= ram, matchup)


def _ladders(config: Config, cands: list[Candidate], ram: int, family: str | None) -> list[Ladder]:
    by_id = {c.id: c for c in cands}
    out: list[Ladder] = []

    def peak(members: list[Candidate]) -> int:
        totals = sorted((c.need.total for c in members if c.need), reverse=True)
        return sum(totals[:2]) + RUNTIME_OVERHEAD

    def exact(members: list[Candidate]) -> bool:
        return all(c.need is not None and c.need.exact for c in members)

    def pull(members: list[Candidate]) -> int | None:
        sizes = [c.pull_bytes for c in members]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    for ladder_id, ladder in (getattr(config, "ladders", None) or {}).items():
        ids = list(getattr(ladder, "models", None) or (ladder if isinstance(ladder, (list, tuple)) else []))
        members = [by_id[i] for i in ids if i in by_id and by_id[i].need is not None]
        fam = next((m.family for m in members if m.family), None) or str(ladder_id)
        if members and (family is None or fam == family):
            out.append(Ladder(fam, [m.id for m in members], peak(members), peak(members) <= ram, f"catalog ladder {ladder_id}", pull(members), exact(members)))

    families = sorted({c.family for c in cands if c.family and (family is None or c.family == family)})
    for fam in families:
        members = sorted(
            (c for c in cands if c.family == fam and c.need is not None and c.n_params),
            key=lambda c: (-(c.n_params or 0), c.bpw or 0),
        )
        # Drop the largest until the two largest fit together: the ladder this RAM can run.
        while len(members) >= 3 and peak(members) > ram:
            members = sorted(members, key=lambda c: -c.need.total if c.need else 0)[1:]
            members.sort(key=lambda c: (-(c.n_params or 0), c.bpw or 0))
        sizes = {c.params_label or round((c.n_params or 0) / 1e8) for c in members}
        if len(members) >= 3 and len(sizes) >= 2 and peak(members) <= ram:
            out.append(Ladder(fam, [m.id for m in members], peak(members), True, "family", pull(members), exact(members)))
    return out


def build_plan(
    config: Config,
    ram: int,
    *,
    ram_source: str = "--ram",
    family: str | None = None,
    tolerance: float = MEMORY_TOLERANCE,
    offline: str | None = "not asked to list the Hub",
    listing: Callable[[str, str | None], list[tuple[str, int | None]]] | None = None,
    listing_timeout_s: float = LISTING_TIMEOUT_S,
) -> Plan:
    """The plan for `ram` bytes. `offline` is the reason the Hub is not listed (None: online, `listing` is used)."""
    cands: list[Candidate] = []
    disk_facts: dict[str, GGUFFacts] = {}
    known_paths: set[Path] = set()
    for spec in config.models.values():
        if isinstance(spec.source, RemoteSource):
            continue  # nothing loads here
        cand, facts = _from_catalog(spec, config)
        cands.append(cand)
        if facts is not None and cand.path is not None:
            disk_facts[cand.id] = facts
            known_paths.add(cand.path.resolve())
    for cand, facts in _uncatalogued(config, known_paths):
        cands.append(cand)
        disk_facts[cand.id] = facts

    look_for = _look_for(config, family, listing if offline is None else None, listing_timeout_s)
    sizes = {(x.repo, f): s for x in look_for for f, s in (x.listing or [])}
    for cand in cands:
        spec = config.models.get(cand.id)
        if cand.pull_action == "download" and spec is not None and isinstance(spec.source, HubSource):
            size = sizes.get((spec.source.repo, spec.source.file))
            if size is not None:
                cand.pull_bytes, cand.pull_basis = size, "hub listing"
    _estimate_needs(cands, config, disk_facts)
    if family is not None:
        cands = [c for c in cands if c.family == family]
    by_id = {c.id: c for c in cands}

    matchups: list[Pair] = []
    for m in config.matchups.values():
        if m.big in by_id and m.small in by_id:
            pair = _pair(by_id[m.big], by_id[m.small], ram, tolerance, matchup=m.id)
            if pair is not None:
                matchups.append(pair)
    in_catalog = {(p.big.id, p.small.id) for p in matchups}
    pairs: list[Pair] = []
    for a, b in itertools.permutations(cands, 2):
        if (a.id, b.id) in in_catalog or not a.family or a.family != b.family:
            continue
        pair = _pair(a, b, ram, tolerance)
        if pair is not None and pair.fits and pair.comparison.intended and pair.comparison.memory_matched:
            pairs.append(pair)
    pairs.sort(key=lambda p: -p.needed)  # the most RAM-hungry first: the most the machine can compare
    notes = []
    if any(c.need is not None and not c.need.exact for c in cands):
        notes.append(
            "~ marks estimates for models not on disk: weights from the Hub listing or parameters x typical bits/weight "
            "of the quant, KV cache and buffers from a same-size model on disk or a rough allowance; exact once pulled."
        )
    return Plan(
        ram, ram_source, offline is not None, offline, tolerance, cands, matchups, pairs,
        _ladders(config, cands, ram, family), look_for, notes,
    )  # fmt: skip
