"""`ladders:` in models.yaml: the typed result, the located refusals `arena check` prints, and `arena pull LADDER`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arena.config.loader import load_config
from arena.config.types import DerivedSource, HubSource
from arena.errors import ConfigError
from arena.paths import repo_models_yaml

REPO = Path(__file__).resolve().parent.parent

MODELS = """\
version: 1
models:
  - {id: big-q2, source: {remote: {base_url: "http://127.0.0.1:9/v1", model: a}}}
  - {id: big-q4, source: {remote: {base_url: "http://127.0.0.1:9/v1", model: b}}}
  - {id: small-q8, source: {remote: {base_url: "http://127.0.0.1:9/v1", model: c}}}
  - {id: tiny-q8, source: {remote: {base_url: "http://127.0.0.1:9/v1", model: d}}}
matchups:
  - {id: pair, big: big-q2, small: small-q8}
"""


def write(tmp_path: Path, ladders: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(MODELS + ladders, encoding="utf-8")
    return path


def refusal(tmp_path: Path, ladders: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, ladders))
    return info.value


def test_a_ladder_loads_with_its_models_in_order(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
ladders:
  - id: lad
    models: [big-q4, big-q2, small-q8]
    description: three
    budget_gb: 4
"""))
    lad = config.ladders["lad"]
    assert lad.models == ("big-q4", "big-q2", "small-q8")
    assert (lad.description, lad.budget_gb, lad.line) == ("three", 4.0, 10)


def test_no_ladders_key_means_none(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).ladders == {}


@pytest.mark.parametrize(
    "ladders, line, field, words",
    [
        ("ladders:\n  - {id: lad, models: [big-q2, big-q4, smal-q8]}\n", 10, "ladders[0].models[2]", ["no model has the id 'smal-q8'", "small-q8"]),
        ("ladders:\n  - {id: lad, models: [big-q2, big-q4, big-q2]}\n", 10, "ladders[0].models[2]", ["listed twice", "models[0]"]),
        ("ladders:\n  - {id: lad, models: [big-q2, small-q8]}\n", 10, "ladders[0].models", ["at least 3 models", "has 2"]),
        ("ladders:\n  - {id: pair, models: [big-q2, big-q4, small-q8]}\n", 10, "ladders[0].id", ["already the id of a matchup"]),
        ("ladders:\n  - {id: lad, models: [big-q2, big-q4, small-q8]}\n  - {id: lad, models: [big-q2, big-q4, tiny-q8]}\n", 11,
         "ladders[1].id", ["used twice", "line 10"]),
        ("ladders:\n  - {id: lad, models: big-q2}\n", 10, "ladders[0].models", ["expected a list"]),
        ("ladders:\n  - {id: lad, contenders: [big-q2]}\n", 10, "ladders[0].contenders", ["unknown key"]),
    ],
)
def test_mistakes_name_line_field_and_fix(tmp_path: Path, ladders: str, line: int, field: str, words: list[str]) -> None:
    text = refusal(tmp_path, ladders).render()
    assert f"line {line}" in text and field in text, text
    for word in words:
        assert word in text, text
    assert "Fix:" in text


def test_remote_and_local_models_mix_in_a_ladder(tmp_path: Path, smollm_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(MODELS.replace("models:\n", f"models:\n  - {{id: local, source: {{path: \"{smollm_path}\"}}}}\n", 1)
                    + "ladders:\n  - {id: lad, models: [local, big-q2, small-q8]}\n", encoding="utf-8")
    assert load_config(path).ladders["lad"].models == ("local", "big-q2", "small-q8")


def test_shipped_ladders_are_real_and_offline_demo_is_derived() -> None:
    config = load_config(repo_models_yaml())
    assert len(config.ladders) >= 2
    demo = config.ladders["demo-ladder"]
    derived = [config.model(m).source for m in demo.models if isinstance(config.model(m).source, DerivedSource)]
    assert {s.type for s in derived} >= {"Q8_0", "Q4_0"}  # legacy types: they apply to Gemma-3-270M's 640-wide rows
    assert all(not isinstance(config.model(m).source, HubSource) for m in demo.models)
    qwen = config.ladders["qwen2.5-14b-ladder"]
    files = {config.model(m).source.file for m in qwen.models}  # type: ignore[union-attr]
    assert {"Qwen2.5-14B-Instruct-Q2_K.gguf", "Qwen2.5-14B-Instruct-Q3_K_M.gguf", "Qwen2.5-14B-Instruct-Q4_K_M.gguf",
            "Qwen2.5-7B-Instruct-Q8_0.gguf", "Qwen2.5-3B-Instruct-Q8_0.gguf"} == files


def run_arena(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "ARENA_HOME": str(env_home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "arena", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_check_counts_ladders_and_refuses_a_bad_one(tmp_path: Path) -> None:
    ok = run_arena("--config", str(repo_models_yaml()), "check", env_home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    config = load_config(repo_models_yaml())
    assert f"{len(config.matchups)} matchups, {len(config.ladders)} ladders" in ok.stdout
    bad = write(tmp_path, "ladders:\n  - {id: lad, models: [big-q2, big-q44, small-q8]}\n")
    run = run_arena("check", str(bad), env_home=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "ladders[0].models[1]" in run.stderr and "big-q4" in run.stderr


def test_pull_a_ladder_pulls_every_model(tmp_path: Path) -> None:
    """Remote models need no download: `arena pull LADDER` walks all of them and says so, one line each."""
    path = write(tmp_path, "ladders:\n  - {id: lad, models: [big-q2, big-q4, small-q8, tiny-q8]}\n")
    run = run_arena("--config", str(path), "pull", "lad", env_home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert [line.split(":")[0] for line in run.stdout.splitlines()] == ["big-q2", "big-q4", "small-q8", "tiny-q8"]


def test_play_and_tui_name_a_ladder_or_refuse_clearly(tmp_path: Path) -> None:
    path = write(tmp_path, "ladders:\n  - {id: lad, models: [big-q2, big-q4, small-q8]}\n")
    db = tmp_path / "v.db"
    for argv, message in [
        (["play", "--ladder", "ladd"], "There is no ladder 'ladd'"),
        (["tui", "--ladder", "lad", "--matchup", "pair"], "--matchup and --ladder"),
    ]:
        run = run_arena("--config", str(path), "--db", str(db), *argv, env_home=tmp_path)
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert "lad" in run_arena("--config", str(path), "play", "--ladder", "ladd", env_home=tmp_path).stderr  # did you mean
    assert not db.exists()


def test_build_app_opens_a_ladder_without_a_suite(tmp_path: Path) -> None:
    from arena.cli.main import build_parser
    from arena.cli.cmd_tui import build_app

    path = write(tmp_path, "ladders:\n  - {id: lad, models: [big-q2, big-q4, small-q8]}\n")
    args = build_parser().parse_args(["--config", str(path), "--db", str(tmp_path / "v.db"), "play", "--ladder", "lad"])
    app = build_app(args)
    try:
        assert app.initial_ladder == "lad" and app.initial_matchup is None
    finally:
        app.store.close()
