"""models.yaml: the typed catalog (`types`) and its loader/validator (`loader`)."""

from arena.config.types import (
    Config,
    Defaults,
    DerivedSource,
    DisplayPolicy,
    HubSource,
    Matchup,
    ModelSpec,
    PackageSource,
    PathSource,
    RemoteSource,
    Sampling,
    Source,
)

__all__ = [
    "Config",
    "Defaults",
    "DerivedSource",
    "DisplayPolicy",
    "HubSource",
    "Matchup",
    "ModelSpec",
    "PackageSource",
    "PathSource",
    "RemoteSource",
    "Sampling",
    "Source",
]
