"""Where Quant Arena keeps things on disk. Nothing is created at import time; callers create what they write."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "quant-arena"

ENV_DB = "ARENA_DB"
ENV_HOME = "ARENA_HOME"  # one override for all arena data (models dir, default DB); tests point it at a tmp dir
ENV_CONFIG = "ARENA_CONFIG"


def data_dir() -> Path:
    """Platform user data dir (e.g. ~/.local/share/quant-arena), or $ARENA_HOME."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    override = os.environ.get(ENV_DB)
    if override:
        return Path(override).expanduser()
    return data_dir() / "votes.db"


def models_dir() -> Path:
    """Where assembled demo models and derived (requantized) models are written."""
    return data_dir() / "models"


def repo_models_yaml() -> Path:
    """The models.yaml shipped at the repository root (next to the package)."""
    return Path(__file__).resolve().parent.parent / "models.yaml"


def default_config_path() -> Path:
    """$ARENA_CONFIG, else ./models.yaml if present, else the repository's models.yaml."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    local = Path.cwd() / "models.yaml"
    if local.is_file():
        return local
    return repo_models_yaml()
