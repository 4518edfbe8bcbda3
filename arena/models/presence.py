"""Is a catalog model's file on this machine yet, and if not, what would `arena pull` do? The one answer to that question.

`arena check` (notes), the matchup picker (a tag per model) and `arena models` (the STATUS column) all ask here, so the
three can never disagree. Cheap on purpose: no hashing, no header parsing, no network (the Hugging Face cache is looked
up on disk). Where the file would be is `arena.models.resolve.local_path`, the same rule `arena pull` writes by.
"""

from __future__ import annotations

from enum import Enum

from arena.config.types import Config, DerivedSource, ModelSpec, PackageSource, PathSource, RemoteSource
from arena.models.resolve import is_present, package_dir


class Presence(Enum):
    """Where a model stands on this machine. The value is the short tag the picker shows."""

    ON_DISK = "on disk"
    REMOTE = "remote"  # served by a remote server: nothing to keep locally
    NOT_DOWNLOADED = "not downloaded"  # hub (or a file a package should ship): `arena pull` downloads it
    NOT_BUILT = "not built yet"  # derived: `arena pull` quantizes it locally
    NOT_ASSEMBLED = "not assembled yet"  # package with assemble: `arena pull` builds it from the installed package
    PACKAGE_NOT_INSTALLED = "not installed"  # the Python package that ships the model is missing

    @property
    def usable(self) -> bool:
        """Nothing to fetch or build before the model can be loaded."""
        return self in (Presence.ON_DISK, Presence.REMOTE)

    @property
    def status(self) -> str:
        """The word `arena models` prints in its STATUS column."""
        if self is Presence.REMOTE:
            return "remote"
        return "present" if self is Presence.ON_DISK else "absent"


def presence(spec: ModelSpec, config: Config) -> Presence:
    """Where `spec` stands on this machine (see Presence)."""
    src = spec.source
    if isinstance(src, RemoteSource):
        return Presence.REMOTE
    try:
        if is_present(spec, config):
            return Presence.ON_DISK
    except (OSError, ValueError, ImportError):  # an unreadable dir or a broken package spec: absent here; `arena check` says why
        pass
    if isinstance(src, DerivedSource):
        return Presence.NOT_BUILT
    if isinstance(src, PackageSource):
        if package_dir(src.package) is None:
            return Presence.PACKAGE_NOT_INSTALLED
        return Presence.NOT_ASSEMBLED if src.assemble else Presence.NOT_DOWNLOADED
    return Presence.NOT_DOWNLOADED


def missing_note(spec: ModelSpec, config: Config) -> str | None:
    """A one-line note for `arena check` when the model's file is absent, else None. Never an error: a missing
    hub/package/derived file is normal (it is pulled or built on demand)."""
    if isinstance(spec.source, PathSource):
        return None  # the config loader already refused a path that does not exist
    state = presence(spec, config)
    if state.usable:
        return None
    src = spec.source
    if state is Presence.NOT_BUILT and isinstance(src, DerivedSource):
        return f"{spec.id}: not built yet (requantize {src.from_model} to {src.type}): run arena pull {spec.id}"
    if state is Presence.PACKAGE_NOT_INSTALLED and isinstance(src, PackageSource):
        return f"{spec.id}: not downloaded yet (Python package {src.package} is not installed): run arena pull {spec.id}"
    if state is Presence.NOT_ASSEMBLED and isinstance(src, PackageSource):
        return f"{spec.id}: not assembled yet (from package {src.package}): run arena pull {spec.id}"
    return f"{spec.id}: not downloaded yet: run arena pull {spec.id}"
