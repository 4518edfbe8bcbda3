"""Hugging Face models through a REAL huggingface_hub cache on disk (no network, no mocks).

huggingface_hub reads HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE when it is imported, so each case runs in a fresh
Python process with its own environment. HF_ENDPOINT points at a closed local port: any network access fails fast
instead of reaching the internet, which proves the cache path never touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.synthetic_gguf import write_synthetic_gguf

REPO_ROOT = Path(__file__).resolve().parent.parent
REPO_ID = "someone/Tiny-GGUF"
FILE = "tiny-F32.gguf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEAD_ENDPOINT = "http://127.0.0.1:9"  # discard port: connection refused


def populate_cache(hf_home: Path, gguf: Path) -> Path:
    """huggingface_hub's cache layout: blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>, refs/main."""
    repo_dir = hf_home / "hub" / ("models--" + REPO_ID.replace("/", "--"))
    etag = hashlib.sha256(gguf.read_bytes()).hexdigest()
    (repo_dir / "blobs").mkdir(parents=True)
    (repo_dir / "blobs" / etag).write_bytes(gguf.read_bytes())
    (repo_dir / "snapshots" / COMMIT).mkdir(parents=True)
    (repo_dir / "snapshots" / COMMIT / FILE).symlink_to(Path("../../blobs") / etag)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return repo_dir / "snapshots" / COMMIT / FILE


def run_py(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60)


DOWNLOAD = f"""
import json, sys
from arena.config.types import HubSource
from arena.errors import ModelError
from arena.models import hub
from arena.models.facts import read_facts
src = HubSource(repo={REPO_ID!r}, file=sys.argv[1] if len(sys.argv) > 1 else {FILE!r})
try:
    p = hub.download(src, model_id="tiny", offline={{offline}})
    print(json.dumps({{{{"path": str(p), "cached": str(hub.cached_path(src)), "params": read_facts(p).n_params}}}}))
except ModelError as e:
    print(json.dumps({{{{"error": e.render()}}}}))
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_gguf(tmp_path_factory.mktemp("hub-src") / FILE, n_layer=1)


def test_cached_file_is_found_offline(tmp_path: Path, tiny: Path) -> None:
    expected = populate_cache(tmp_path, tiny)
    proc = run_py(DOWNLOAD.format(offline=False), {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    out = json.loads(proc.stdout)
    assert out["path"] == str(expected) == out["cached"]
    assert out["params"] > 0


def test_cached_file_is_found_without_touching_the_network(tmp_path: Path, tiny: Path) -> None:
    """Not offline, but the endpoint is dead: the cache must answer first (Llama.from_pretrained would fail)."""
    expected = populate_cache(tmp_path, tiny)
    proc = run_py(DOWNLOAD.format(offline=False), {"HF_HOME": str(tmp_path), "HF_ENDPOINT": DEAD_ENDPOINT})
    assert json.loads(proc.stdout)["path"] == str(expected), proc.stderr


def test_hf_hub_cache_variable_is_honoured(tmp_path: Path, tiny: Path) -> None:
    expected = populate_cache(tmp_path / "elsewhere", tiny)
    proc = run_py(DOWNLOAD.format(offline=True), {"HF_HUB_CACHE": str(tmp_path / "elsewhere" / "hub"), "HF_HOME": str(tmp_path / "empty")})
    assert json.loads(proc.stdout)["path"] == str(expected), proc.stderr


def test_empty_cache_offline_gives_a_clear_error(tmp_path: Path) -> None:
    proc = run_py(DOWNLOAD.format(offline=False), {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    err = json.loads(proc.stdout)["error"]
    assert REPO_ID in err and FILE in err
    assert "HF_HUB_OFFLINE" in err and "arena pull tiny" in err


def test_offline_flag_without_env(tmp_path: Path) -> None:
    proc = run_py(DOWNLOAD.format(offline=True), {"HF_HOME": str(tmp_path), "HF_ENDPOINT": DEAD_ENDPOINT})
    err = json.loads(proc.stdout)["error"]
    assert "--offline" in err and REPO_ID in err


def test_no_network_and_no_cache(tmp_path: Path) -> None:
    proc = run_py(DOWNLOAD.format(offline=False), {"HF_HOME": str(tmp_path), "HF_ENDPOINT": DEAD_ENDPOINT})
    err = json.loads(proc.stdout)["error"]
    assert "unreachable" in err and REPO_ID in err and FILE in err, err


def test_file_missing_from_a_cached_repo_offline(tmp_path: Path, tiny: Path) -> None:
    populate_cache(tmp_path, tiny)
    code = DOWNLOAD.format(offline=False).replace("sys.argv[1] if len(sys.argv) > 1 else ", "'other-Q2_K.gguf' or ")
    proc = run_py(code, {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    err = json.loads(proc.stdout)["error"]
    assert "other-Q2_K.gguf" in err and "not in the Hugging Face cache" in err


def test_arena_pull_and_models_with_a_hub_model(tmp_path: Path, tiny: Path) -> None:
    """End to end through the CLI: a models.yaml with a hub model, served from the pre-populated cache."""
    expected = populate_cache(tmp_path / "hf", tiny)
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        f"  - id: tiny\n    name: Tiny\n    source: {{repo: {REPO_ID}, file: {FILE}}}\n"
        f"  - id: tiny-q2\n    name: Tiny Q2\n    source: {{derived: {{from: tiny, type: Q2_K}}}}\n"
        "matchups:\n  - {id: m, big: tiny-q2, small: tiny}\n"
    )
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "ARENA_HOME": str(tmp_path / "arena")}
    pull = run_py(f"from arena.cli.main import main; raise SystemExit(main(['--config', {str(cfg)!r}, 'pull', 'm', '--offline']))", env)
    if "llama_cpp" in pull.stderr and "No module named" in pull.stderr:
        pytest.skip("llama_cpp not installed")
    assert pull.returncode == 0, pull.stderr
    assert str(expected) in pull.stdout
    assert str(tmp_path / "arena" / "models" / "derived" / "tiny.Q2_K.gguf") in pull.stdout
    listing = run_py(f"from arena.cli.main import main; raise SystemExit(main(['--config', {str(cfg)!r}, 'models']))", env)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line.split() for line in listing.stdout.splitlines() if line.startswith("tiny")}
    assert rows["tiny"][3] == "F32" and rows["tiny"][4] == "32.00" and rows["tiny"][-1] == "present"
    assert rows["tiny-q2"][3] == "Q2_K" and rows["tiny-q2"][-1] == "present"
