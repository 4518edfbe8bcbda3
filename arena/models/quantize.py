"""Make a harsher quant locally with llama.cpp's own quantizer (what `llama-quantize` does), in-process.

- The output is written under a temp name in the destination directory and renamed with os.replace when complete:
  a killed or failed run never leaves a file that a later run would take for the finished model.
- Cached: an existing destination with the requested file type, newer than the source, is reused.
- Requantizing an already-quantized file needs llama.cpp's `allow_requantize`; the result is flagged
  `requantized=True` because quality loss compounds (the reveal screen shows it).
- Progress: llama.cpp has no progress callback for quantization. It runs in a worker thread and we poll the log
  lines it writes per tensor ("[  12/ 236] blk.1.attn_q.weight ..."): tensors done / tensors in the file. (The
  output file's size against parameters x nominal bits was tried first and is misleading: tensors whose rows are
  not multiples of 256 fall back to wider types, so Gemma-3-270M's "Q2_K" ends at 2.5x that estimate.)
- llama.cpp's per-tensor log lines go to Python logging (arena.engine.logs), not the terminal; the summary
  "N of M tensor(s) required fallback quantization" is returned in `QuantizeResult.fallback_note`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from arena.errors import ModelError
from arena.models.facts import GGUFFacts, read_facts
from arena.models.partial import partial_path, remove_stale_temps
from arena.models.progress import ProgressCallback, run_with_progress

log = logging.getLogger(__name__)
_TENSOR_LINE = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]")


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    type: str
    requantized: bool  # the source was already quantized (allow_requantize was needed)
    cached: bool  # an existing, valid output was reused
    seconds: float
    source_type: str | None
    fallback_note: str | None = None  # llama.cpp's "90 of 236 tensor(s) required fallback quantization", if any


def ftype_names() -> list[str]:
    """The type names this llama.cpp build can produce, e.g. ["F32", "F16", "Q4_0", ..., "Q2_K", "IQ3_M"]."""
    import llama_cpp

    names = []
    for attr in dir(llama_cpp):
        if attr == "LLAMA_FTYPE_ALL_F32":
            names.append("F32")
        elif attr.startswith("LLAMA_FTYPE_MOSTLY_"):
            names.append(attr.removeprefix("LLAMA_FTYPE_MOSTLY_"))
    return sorted(names)


def ftype_value(type_name: str) -> int:
    """llama.cpp's LLAMA_FTYPE_* value for a type name; ModelError listing the valid names otherwise."""
    import llama_cpp

    name = type_name.strip().upper()
    attr = "LLAMA_FTYPE_ALL_F32" if name == "F32" else f"LLAMA_FTYPE_MOSTLY_{name}"
    value = getattr(llama_cpp, attr, None)
    if not isinstance(value, int):
        raise ModelError(
            f"Unknown quantization type '{type_name}'",
            f"use one of: {' '.join(ftype_names())} (Q2_K, Q3_K_M, Q4_K_M, Q6_K and Q8_0 are the usual ones)",
            exit_code=2,
        )
    return value


def nominal_bits(type_name: str) -> float | None:
    """Bits per weight of the type's main tensor format (Q4_K_M -> Q4_K -> 4.5), or None if unknown."""
    name = type_name.upper()
    candidates = [name, name.rsplit("_", 1)[0]]
    for cand in candidates:
        try:
            block, size = GGML_QUANT_SIZES[GGMLQuantizationType[cand]]
        except KeyError:
            continue
        return 8.0 * size / block
    return None


def estimate_output_size(src: GGUFFacts, type_name: str) -> int | None:
    bits = nominal_bits(type_name)
    if bits is None:
        return None
    header = max(0, src.file_size - src.tensor_bytes)  # metadata and vocabulary are copied as they are
    return int(src.n_params * bits / 8) + header


def is_valid_output(dst: Path, src: Path, type_name: str) -> bool:
    """A finished earlier run: readable, of the requested file type, and not older than its source."""
    try:
        if dst.stat().st_mtime_ns < src.stat().st_mtime_ns:
            return False
        return (read_facts(dst).file_type or "").upper() == type_name.upper()
    except (OSError, ModelError):
        return False


def quantize(
    src: Path,
    dst: Path,
    type: str,  # noqa: A002 - the llama.cpp term
    *,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Quantize `src` to `type` at `dst` (see quantize_model for details); returns dst."""
    return quantize_model(src, dst, type, threads=threads, progress=progress).path


def quantize_model(
    src: Path,
    dst: Path,
    type_name: str,
    *,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> QuantizeResult:
    src = Path(src).expanduser()
    dst = Path(dst).expanduser()
    name = type_name.strip().upper()
    src_facts = read_facts(src)  # ModelError for missing / corrupt sources, before llama.cpp sees them
    requant = src_facts.is_quantized
    if not force and dst.exists() and is_valid_output(dst, src, name):
        return QuantizeResult(dst, name, requant, True, 0.0, src_facts.quant_type)
    if dst.resolve() == src.resolve():
        raise ModelError(f"The quantize output {dst} is the source file itself", "choose another output path (-o)", exit_code=2)

    import llama_cpp

    from arena.engine.logs import capture_all as capture_llama_logs

    ftype = ftype_value(name)
    dst.parent.mkdir(parents=True, exist_ok=True)
    expected = estimate_output_size(src_facts, name)
    free = shutil.disk_usage(dst.parent).free
    if expected and free < expected * 1.05:
        raise ModelError(
            f"Not enough disk space to quantize into {dst.parent}: about {expected / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free",
            "free disk space, or write elsewhere (`arena quantize SRC TYPE -o OTHER/PATH.gguf`, or set ARENA_HOME)",
        )
    remove_stale_temps(dst)
    tmp = partial_path(dst)

    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads or os.cpu_count() or 1
    params.ftype = ftype
    params.allow_requantize = requant

    def run() -> int:
        return int(llama_cpp.llama_model_quantize(os.fsencode(src), os.fsencode(tmp), llama_cpp.byref(params)))

    start = time.monotonic()
    n_tensors = src_facts.n_tensors
    try:
        with capture_llama_logs() as lines:

            def poll() -> tuple[float | None, str]:
                for line in reversed(lines[-8:]):  # list.append from the logging thread is atomic
                    m = _TENSOR_LINE.match(line)
                    if m:
                        done, total = int(m.group(1)), int(m.group(2))
                        return done / total, f"tensor {done}/{total}"
                return None, f"tensor 0/{n_tensors}"

            rc = run_with_progress(run, poll, progress, f"quantizing to {name}")
        if rc != 0:
            raise _failure(src, dst, name, lines)
        facts = read_facts(tmp)  # llama.cpp said OK: check the result really is a whole GGUF before taking it
        os.replace(tmp, dst)
    except OSError as exc:
        raise ModelError(f"Quantizing {src.name} to {name} failed writing {dst}: {exc.strerror or exc}", "free disk space or check permissions") from None
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.monotonic() - start
    log.info("quantized %s -> %s (%s, %.2f bpw) in %.1f s", src, dst, name, facts.bits_per_weight, seconds)
    note = next((ln.split("WARNING:", 1)[-1].strip() for ln in lines if "fallback quantization" in ln), None)
    return QuantizeResult(dst, name, requant, False, seconds, src_facts.quant_type, note)


def _failure(src: Path, dst: Path, name: str, lines: list[str]) -> ModelError:
    reason = next((ln.split("failed to quantize:", 1)[1].strip() for ln in reversed(lines) if "failed to quantize" in ln), None)
    errors = [ln for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    detail = reason or (errors[-1].strip() if errors else "llama.cpp gave no reason")
    low = detail.lower()
    if "no space" in low or "disk full" in low or shutil.disk_usage(dst.parent).free < 16 * 1024 * 1024:
        return ModelError(f"Quantizing {src.name} to {name} failed: the disk is full ({dst.parent})", "free disk space or write elsewhere with -o")
    if "architecture" in low:
        return ModelError(
            f"llama.cpp cannot quantize {src}: {detail}",
            "this llama.cpp build does not support the model's architecture; use a ready-made quant from Hugging Face",
        )
    return ModelError(f"llama.cpp failed to quantize {src} to {name}: {detail}", "check that the source loads (`arena models`), or try another type")
