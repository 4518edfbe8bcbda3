"""Quantizing real (synthetic) GGUF files with llama.cpp: types, bits per weight, caching, atomicity, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

from arena.errors import ModelError
from arena.models.facts import read_facts

llama_cpp = pytest.importorskip("llama_cpp")

from arena.models.quantize import estimate_output_size, quantize_model  # noqa: E402
from tests.support.synthetic_gguf import write_synthetic_gguf  # noqa: E402

DIMS = dict(n_layer=2, n_embd=256, n_ff=512, n_head=4, n_vocab=384)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quantize")


@pytest.fixture(scope="module")
def f32_model(work: Path) -> Path:
    return write_synthetic_gguf(work / "f32.gguf", **DIMS)


@pytest.fixture(scope="module")
def q2k(work: Path, f32_model: Path):
    return quantize_model(f32_model, work / "q2k.gguf", "Q2_K", threads=2)


def reader_bpw_and_types(path: Path) -> tuple[float, set[str]]:
    """Bits per weight computed independently from gguf.GGUFReader's tensor list."""
    reader = GGUFReader(str(path))
    elements = sum(int(np.prod([int(d) for d in t.shape])) for t in reader.tensors)
    nbytes = sum(int(t.n_bytes) for t in reader.tensors)
    return 8 * nbytes / elements, {t.tensor_type.name for t in reader.tensors}


def test_q2_k_file_type_and_bits_per_weight(q2k, f32_model: Path) -> None:
    facts = read_facts(q2k.path)
    assert facts.file_type == "Q2_K"
    assert facts.dominant_type == "Q2_K"  # widths are multiples of 256: real K-quants, no fallback
    expected_bpw, types = reader_bpw_and_types(q2k.path)
    assert facts.bits_per_weight == pytest.approx(expected_bpw)
    # Q2_K is 2.625 bpw; llama.cpp keeps output.weight at Q6_K, some matrices at Q3_K and norms at F32.
    assert 2.6 < facts.bits_per_weight < 3.4
    assert "Q2_K" in types and "Q6_K" in types
    assert facts.n_params == read_facts(f32_model).n_params
    assert not q2k.requantized and not q2k.cached and q2k.source_type == "F32"
    assert q2k.fallback_note is None


def test_q4_k_m(work: Path, f32_model: Path) -> None:
    res = quantize_model(f32_model, work / "q4km.gguf", "q4_k_m")
    facts = read_facts(res.path)
    assert facts.file_type == "Q4_K_M" and facts.dominant_type == "Q4_K"
    assert 4.5 <= facts.bits_per_weight < 5.5
    assert facts.bits_per_weight == pytest.approx(reader_bpw_and_types(res.path)[0])


def test_quantized_file_loads_and_generates(q2k) -> None:
    llm = llama_cpp.Llama(model_path=str(q2k.path), n_threads=1, n_threads_batch=1, n_ctx=128, verbose=True, seed=1)
    out = llm.create_completion("a b c", max_tokens=4, temperature=0.0)
    assert out["usage"]["completion_tokens"] >= 1


def test_cached_output_is_reused_and_rebuilt_when_source_is_newer(work: Path, f32_model: Path, q2k) -> None:
    mtime = q2k.path.stat().st_mtime_ns
    again = quantize_model(f32_model, q2k.path, "Q2_K")
    assert again.cached and again.path.stat().st_mtime_ns == mtime
    # A different type at the same path is not "valid": rebuilt.
    other = work / "retype.gguf"
    quantize_model(f32_model, other, "Q2_K")
    assert not quantize_model(f32_model, other, "Q3_K_S").cached
    assert read_facts(other).file_type == "Q3_K_S"
    # A source newer than the output: rebuilt.
    src = write_synthetic_gguf(work / "newer.gguf", seed=3, **DIMS)
    out = work / "newer.Q2_K.gguf"
    quantize_model(src, out, "Q2_K")
    os.utime(src, ns=(out.stat().st_mtime_ns + 10**9, out.stat().st_mtime_ns + 10**9))
    assert not quantize_model(src, out, "Q2_K").cached


def test_requantize_sets_the_flag(work: Path, q2k) -> None:
    res = quantize_model(q2k.path, work / "q2k-to-q3.gguf", "Q3_K_M")
    assert res.requantized and res.source_type == "Q2_K"
    assert read_facts(res.path).file_type == "Q3_K_M"


def test_fallback_note_for_rows_not_divisible_by_256(work: Path) -> None:
    src = write_synthetic_gguf(work / "w320.gguf", n_layer=1, n_embd=320, n_ff=640, n_head=5, n_vocab=300)
    res = quantize_model(src, work / "w320.Q2_K.gguf", "Q2_K")
    assert res.fallback_note and "fallback" in res.fallback_note
    assert read_facts(res.path).dominant_type != "Q2_K"


def test_progress_reports_start_and_end(work: Path, f32_model: Path) -> None:
    seen: list[tuple[float, str]] = []
    quantize_model(f32_model, work / "progress.gguf", "Q4_0", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_llama_logs_do_not_reach_stderr(work: Path, f32_model: Path, capfd: pytest.CaptureFixture[str]) -> None:
    quantize_model(f32_model, work / "quiet.gguf", "Q5_0", force=True)
    err = capfd.readouterr().err
    assert "llama_model_loader" not in err and "converting to" not in err


def test_unknown_type(work: Path, f32_model: Path) -> None:
    with pytest.raises(ModelError, match="Unknown quantization type 'Q9_K'") as err:
        quantize_model(f32_model, work / "x.gguf", "Q9_K")
    assert err.value.exit_code == 2 and "Q4_K_M" in err.value.render()


def test_corrupt_source(work: Path, f32_model: Path) -> None:
    bad = work / "truncated.gguf"
    bad.write_bytes(f32_model.read_bytes()[:5000])
    with pytest.raises(ModelError, match="truncated"):
        quantize_model(bad, work / "y.gguf", "Q2_K")
    assert not (work / "y.gguf").exists()


def test_failed_quantize_leaves_no_file(work: Path) -> None:
    alien = write_synthetic_gguf(work / "alien.gguf", architecture="nosucharch", **DIMS)
    dst = work / "alien.Q2_K.gguf"
    with pytest.raises(ModelError, match="architecture"):
        quantize_model(alien, dst, "Q2_K")
    assert not dst.exists()
    assert not list(work.glob(".alien.Q2_K.gguf.*"))


def test_stale_partial_of_a_dead_process_is_removed(work: Path, f32_model: Path) -> None:
    dst = work / "stale.gguf"
    stale = work / ".stale.gguf.999999999.partial"  # no such pid
    stale.write_bytes(b"half a model")
    quantize_model(f32_model, dst, "Q4_0")
    assert not stale.exists() and dst.exists()


def test_output_size_estimate_is_a_floor(f32_model: Path, q2k) -> None:
    estimate = estimate_output_size(read_facts(f32_model), "Q2_K")
    assert estimate is not None and estimate <= q2k.path.stat().st_size
