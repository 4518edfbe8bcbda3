"""`arena models`, `arena quantize`, `arena pull`, `arena prepare-demo` through the real CLI entry point."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from arena.cli.main import main
from arena.models.facts import read_facts
from arena.paths import repo_models_yaml
from tests.support.synthetic_gguf import write_synthetic_gguf


@pytest.fixture()
def catalog(tmp_path: Path) -> Path:
    write_synthetic_gguf(tmp_path / "tiny.gguf", n_layer=1)
    (tmp_path / "damaged.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 64)
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - {id: tiny, name: Tiny, source: {path: tiny.gguf}}\n"
        "  - {id: tiny-q4, name: Tiny Q4, source: {derived: {from: tiny, type: Q4_K_M}}}\n"
        "  - {id: big, name: Big One, params: 14B, quant: Q2_K, source: {repo: nobody/Big-GGUF, file: big-Q2_K.gguf}}\n"
        "  - {id: far, name: Far, source: {remote: {base_url: 'http://127.0.0.1:9/v1', model: m}}}\n"
        "matchups:\n  - {id: pair, big: tiny-q4, small: tiny, budget_gb: 1}\n"
    )
    return cfg


def rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}


def test_models_table(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(catalog), "models"]) == 0
    table = rows(capsys.readouterr().out)
    assert table["ID"] == ["ID", "ARCH", "PARAMS", "QUANT", "BPW", "SIZE", "CTX", "STATUS"]
    facts = read_facts(catalog.parent / "tiny.gguf")
    assert table["tiny"][1:5] == ["llama", f"{facts.n_params / 1e3:.1f}K", "F32", "32.00"]
    assert table["tiny"][-1] == "present"
    assert table["tiny-q4"][2:4] == ["-", "Q4_K_M"] and table["tiny-q4"][-1] == "absent"
    assert table["big"][2:4] == ["14B", "Q2_K"] and table["big"][-1] == "absent"
    assert table["far"][-1] == "remote"
    assert table["pair"][1:3] == ["tiny-q4", "tiny"]


def test_models_reports_a_damaged_file(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = catalog.read_text().replace("source: {path: tiny.gguf}", "source: {path: damaged.gguf}")
    catalog.write_text(text)
    assert main(["--config", str(catalog), "models"]) == 1
    cap = capsys.readouterr()
    assert rows(cap.out)["tiny"][-1] == "damaged"
    assert "damaged.gguf" in cap.err and "Fix:" in cap.err


def test_quantize_by_id_and_pull(catalog: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    out = tmp_path / "out" / "tiny.Q2_K.gguf"
    assert main(["--config", str(catalog), "quantize", "tiny", "q2_k", "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert read_facts(out).file_type == "Q2_K"
    assert main(["--config", str(catalog), "quantize", "tiny", "Q2_K", "-o", str(out)]) == 0
    assert "reused existing file" in capsys.readouterr().out
    # pull builds the derived model of the matchup into the arena models dir
    assert main(["--config", str(catalog), "pull", "pair", "--offline"]) == 0
    assert main(["--config", str(catalog), "models"]) == 0
    assert rows(capsys.readouterr().out)["tiny-q4"][-1] == "present"


def test_quantize_a_path_defaults_next_to_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    src = write_synthetic_gguf(tmp_path / "m.gguf", n_layer=1)
    q = tmp_path / "m.Q4_0.gguf"
    assert main(["quantize", str(src), "Q4_0"]) == 0
    assert q.is_file() and read_facts(q).file_type == "Q4_0"
    q2 = tmp_path / "m.Q4_0.Q3_K_S.gguf"
    assert main(["quantize", str(q), "Q3_K_S"]) == 0
    assert "requantizing compounds" in capsys.readouterr().out and q2.is_file()


def test_usage_errors(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(catalog), "pull", "tiny-q"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(["--config", str(catalog), "quantize", "tiny", "Q7_X"]) == 2
    assert "Unknown quantization type" in capsys.readouterr().err
    assert main(["--config", str(catalog), "prepare-demo"]) == 2
    assert "no 'demo' matchup" in capsys.readouterr().err
    assert main(["--config", str(catalog), "pull", "big", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "nobody/Big-GGUF" in err and "arena pull big" in err


def test_prepare_demo_is_offline_and_fast_the_second_time(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(repo_models_yaml())
    assert main(["--config", cfg, "prepare-demo"]) == 0
    first = capsys.readouterr().out
    paths = [Path(line.split(": ", 1)[1].split(" (")[0]) for line in first.splitlines()]
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    assert {read_facts(p).architecture for p in paths} == {"gemma3", "llama"}
    start = time.perf_counter()
    assert main(["--config", cfg, "prepare-demo"]) == 0
    assert time.perf_counter() - start < 1.0
    assert capsys.readouterr().out == first
