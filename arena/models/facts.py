"""Facts about a GGUF file, read from its header without loading weights.

Why not `gguf.GGUFReader`: it builds a numpy view for every element of every metadata array, so opening
SmolLM2-135M (49,152 tokens + 48,900 merges) takes 3-4 s on this machine; `arena models` and the reveal screen
need facts in milliseconds. This module walks the header with `struct` over a read-only mmap, skipping array
bodies, and reads no tensor data at all (about 30 ms for the same file). The gguf package still supplies the
constants (tensor type block sizes, file type names); tests cross-check the numbers against GGUFReader.

Definitions (the same as llama.cpp's loader, which prints "model params" and "file size = X MiB (Y BPW)"):
- n_params: the sum of the element counts of all tensors in the file. A model with tied embeddings (no
  `output.weight`, the output projection reuses `token_embd.weight`) counts that matrix once, exactly like
  llama.cpp and like Hugging Face's `num_parameters()` for tied models. Norm vectors and biases count too.
- tensor_bytes: the sum of the tensors' data sizes (ggml_nbytes), without header or alignment padding.
- bits_per_weight: 8 * tensor_bytes / n_params, i.e. llama.cpp's "BPW". The file size is slightly larger
  (header + vocabulary), so file_size * 8 / n_params overstates it for small models.
- non-embedding bits per weight: the same over every tensor except the token embedding table and the output
  projection (EMBEDDING_TENSORS). Why: quantizers keep those two at higher precision, and in a small model with a big
  vocabulary they hold most of the weights (Gemma-3-270M: a 262,144 x 640 table), so the overall figure says more
  about the vocabulary than about how harshly the transformer itself was quantized.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from arena.errors import ModelError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# GGUF metadata value types (gguf spec): code -> struct format for scalars.
_SCALAR_FORMATS: dict[int, str] = {
    0: "B",  # UINT8
    1: "b",  # INT8
    2: "H",  # UINT16
    3: "h",  # INT16
    4: "I",  # UINT32
    5: "i",  # INT32
    6: "f",  # FLOAT32
    7: "?",  # BOOL
    10: "Q",  # UINT64
    11: "q",  # INT64
    12: "d",  # FLOAT64
}
_STRING = 8
_ARRAY = 9
# Token embedding tables and the output projection (llama.cpp tensor names; per_layer_token_embd: Gemma-3n).
EMBEDDING_TENSORS = frozenset({"token_embd.weight", "output.weight", "per_layer_token_embd.weight"})
_SMALL_ARRAY = 64  # arrays up to this many elements are read into lists; longer ones are summarized (type, count)


@dataclass(frozen=True)
class ArraySummary:
    """A long metadata array (e.g. the vocabulary) that was skipped, not read."""

    element_type: int
    count: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_name: str  # GGML type name, e.g. "Q4_K", or "type#N" for a type the gguf package does not know
    n_elements: int
    n_bytes: int
    offset: int  # absolute offset of the data in the file


@dataclass
class GGUFFacts:
    path: Path
    file_size: int
    gguf_version: int
    architecture: str | None
    name: str | None
    n_params: int
    tensor_bytes: int
    n_tensors: int
    file_type: str | None  # from general.file_type, e.g. "Q4_K_M"; None when the key is absent
    dominant_type: str | None  # the tensor type holding the most weights, e.g. "Q4_1"
    type_elements: dict[str, int]  # tensor type -> elements stored in that type
    context_length: int | None
    has_chat_template: bool
    chat_template: str | None
    block_count: int | None
    embedding_length: int | None
    head_count: int | None
    head_count_kv: int | None
    key_length: int | None
    value_length: int | None
    vocab_size: int | None
    tied_embeddings: bool  # no output.weight: the output projection reuses token_embd (counted once)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)  # scalars and short arrays
    tensors: list[TensorInfo] = field(default_factory=list, repr=False)

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * self.tensor_bytes / self.n_params if self.n_params else 0.0

    @property
    def embedding_params(self) -> int:
        """Weights in the embedding table(s) and the output projection (EMBEDDING_TENSORS)."""
        return sum(t.n_elements for t in self.tensors if t.name in EMBEDDING_TENSORS)

    @property
    def non_embedding_bits_per_weight(self) -> float | None:
        """Bits per weight of every tensor but EMBEDDING_TENSORS; None if the file holds nothing else."""
        body = [t for t in self.tensors if t.name not in EMBEDDING_TENSORS]
        n = sum(t.n_elements for t in body)
        return 8.0 * sum(t.n_bytes for t in body) / n if n else None

    @property
    def quant_type(self) -> str | None:
        """The label people use: the file type if the file declares one, else the dominant tensor type."""
        return self.file_type or self.dominant_type

    @property
    def is_quantized(self) -> bool:
        return (self.dominant_type or "F32") not in {"F32", "F16", "BF16", "F64"}

    def arch_key(self, suffix: str) -> Any:
        """Metadata `<architecture>.<suffix>`, e.g. arch_key("block_count")."""
        if not self.architecture:
            return None
        return self.metadata.get(f"{self.architecture}.{suffix}")


def file_type_name(value: int) -> str:
    """general.file_type number -> llama.cpp's name ("Q4_K_M", "F16", ...)."""
    from gguf import LlamaFileType  # here, not at import: gguf imports numpy (~0.1 s before the TUI's first paint)

    try:
        name = LlamaFileType(value).name
    except ValueError:
        return f"ftype#{value}"
    if name == "ALL_F32":
        return "F32"
    return name.removeprefix("MOSTLY_")


def _type_name(code: int) -> str:
    from gguf import GGMLQuantizationType

    try:
        return GGMLQuantizationType(code).name
    except ValueError:
        return f"type#{code}"


class _Cursor:
    """Sequential little/big-endian reads from a buffer; raises struct.error / IndexError past the end."""

    def __init__(self, buf: Any, size: int, endian: str) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0
        self.endian = endian

    def scalar(self, fmt: str) -> Any:
        s = struct.Struct(self.endian + fmt)
        (value,) = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return value

    def string(self) -> str:
        n = self.scalar("Q")
        if self.pos + n > self.size:
            raise struct.error("string past end of file")
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.scalar("Q")
        self.pos += n
        if self.pos > self.size:
            raise struct.error("string past end of file")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALAR_FORMATS:
            return self.scalar(_SCALAR_FORMATS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.scalar("I")
            count = self.scalar("Q")
            if count <= _SMALL_ARRAY:
                return [self.value(etype) for _ in range(count)]
            self.skip_array(etype, count)
            return ArraySummary(etype, count)
        raise ValueError(f"unknown metadata value type {vtype}")

    def skip_array(self, etype: int, count: int) -> None:
        if etype in _SCALAR_FORMATS:
            self.pos += struct.calcsize(_SCALAR_FORMATS[etype]) * count
        elif etype == _STRING:
            # Each string is length-prefixed: walk the lengths (fast: no decoding, no copies).
            unpack = struct.Struct(self.endian + "Q").unpack_from
            buf, pos = self.buf, self.pos
            for _ in range(count):
                pos += 8 + unpack(buf, pos)[0]
            self.pos = pos
        else:
            for _ in range(count):
                self.value(etype)
        if self.pos > self.size:
            raise struct.error("array past end of file")


def _tensor_nbytes(type_code: int, n_elements: int) -> int | None:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(type_code)]
    except (ValueError, KeyError):
        return None
    return n_elements // block * type_size


def _bad(path: Path, what: str, fix: str | None = None) -> ModelError:
    return ModelError(
        f"The model file {path} {what}",
        fix or "download or rebuild it (`arena pull MODEL`), or point models.yaml at a valid .gguf file",
    )


def read_facts(path: str | os.PathLike[str]) -> GGUFFacts:
    """Read a GGUF header. Raises ModelError for a missing, empty, non-GGUF, truncated or unreadable file."""
    path = Path(path).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelError(
            f"The model file {path} does not exist",
            "check the path in models.yaml, or run `arena pull MODEL` to fetch or build it",
        ) from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or exc})", "check its permissions") from None
    if path.is_dir():
        raise _bad(path, "is a directory, not a .gguf file")
    size = st.st_size
    if size == 0:
        raise _bad(path, "is empty (0 bytes), probably an interrupted download or copy")
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _parse(path, mm, size)
    except ModelError:
        raise
    except PermissionError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or exc})") from None


def _parse(path: Path, mm: Any, size: int) -> GGUFFacts:
    if size < 24 or mm[:4] != GGUF_MAGIC:
        head = bytes(mm[:4])
        raise _bad(path, f"is not a GGUF file (starts with {head!r}, expected b'GGUF')")
    # GGUF is little-endian unless written for a big-endian host; the version tells which (it is small).
    (version_le,) = struct.unpack_from("<I", mm, 4)
    endian = "<" if version_le < 0x10000 else ">"
    cur = _Cursor(mm, size, endian)
    cur.pos = 4
    try:
        version = cur.scalar("I")
        if version < 2:
            raise _bad(path, f"uses GGUF version {version}, which llama.cpp no longer reads", "convert it again with a current llama.cpp")
        n_tensors = cur.scalar("Q")
        n_kv = cur.scalar("Q")
        if n_tensors > size or n_kv > size:
            raise struct.error("counts larger than the file")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.scalar("I")
            meta[key] = cur.value(vtype)
        raw_tensors: list[tuple[str, tuple[int, ...], int, int]] = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.scalar("I")
            if n_dims > 8:
                raise struct.error(f"tensor {name} has {n_dims} dimensions")
            shape = tuple(cur.scalar("Q") for _ in range(n_dims))
            type_code = cur.scalar("I")
            offset = cur.scalar("Q")
            raw_tensors.append((name, shape, type_code, offset))
    except ModelError:
        raise
    except (struct.error, IndexError, ValueError) as exc:
        raise _bad(path, f"has a damaged or truncated header ({exc})") from None

    alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = DEFAULT_ALIGNMENT
    data_start = (cur.pos + alignment - 1) // alignment * alignment

    # Sizes: from the type table; for a type the gguf package does not know, from the gap to the next tensor.
    by_offset = sorted(range(len(raw_tensors)), key=lambda i: raw_tensors[i][3])
    gap_size: dict[int, int] = {}
    for rank, i in enumerate(by_offset):
        nxt = raw_tensors[by_offset[rank + 1]][3] if rank + 1 < len(by_offset) else size - data_start
        gap_size[i] = nxt - raw_tensors[i][3]

    tensors: list[TensorInfo] = []
    type_elements: dict[str, int] = {}
    n_params = 0
    tensor_bytes = 0
    data_end = data_start
    for i, (name, shape, type_code, offset) in enumerate(raw_tensors):
        n_el = 1
        for d in shape:
            n_el *= d
        nbytes = _tensor_nbytes(type_code, n_el)
        if nbytes is None:
            nbytes = gap_size[i]
        tname = _type_name(type_code)
        tensors.append(TensorInfo(name, shape, tname, n_el, nbytes, data_start + offset))
        type_elements[tname] = type_elements.get(tname, 0) + n_el
        n_params += n_el
        tensor_bytes += nbytes
        data_end = max(data_end, data_start + offset + nbytes)
    if data_end > size:
        missing = data_end - size
        raise _bad(
            path,
            f"is truncated: its tensors need {data_end:,} bytes but the file has {size:,} ({missing:,} missing), "
            "probably an interrupted download or copy",
        )

    arch = meta.get("general.architecture")
    arch = arch if isinstance(arch, str) else None

    def arch_int(suffix: str) -> int | None:
        value = meta.get(f"{arch}.{suffix}") if arch else None
        if isinstance(value, list):  # per-layer values (e.g. head_count_kv in some hybrids): take the largest
            nums = [v for v in value if isinstance(v, int)]
            return max(nums) if nums else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    ftype = meta.get("general.file_type")
    template = meta.get("tokenizer.chat_template")
    tokens = meta.get("tokenizer.ggml.tokens")
    vocab = arch_int("vocab_size")
    if vocab is None and tokens is not None:
        vocab = tokens.count if isinstance(tokens, ArraySummary) else len(tokens)
    names = {t.name for t in tensors}
    dominant = max(type_elements, key=lambda k: type_elements[k]) if type_elements else None
    name = meta.get("general.name")
    return GGUFFacts(
        path=path,
        file_size=size,
        gguf_version=version,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        n_params=n_params,
        tensor_bytes=tensor_bytes,
        n_tensors=len(tensors),
        file_type=file_type_name(ftype) if isinstance(ftype, int) else None,
        dominant_type=dominant,
        type_elements=type_elements,
        context_length=arch_int("context_length"),
        has_chat_template=isinstance(template, str) and bool(template.strip()),
        chat_template=template if isinstance(template, str) else None,
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        head_count=arch_int("attention.head_count"),
        head_count_kv=arch_int("attention.head_count_kv"),
        key_length=arch_int("attention.key_length"),
        value_length=arch_int("attention.value_length"),
        vocab_size=vocab,
        tied_embeddings="token_embd.weight" in names and "output.weight" not in names,
        metadata=meta,
        tensors=tensors,
    )


def fingerprint(path: str | os.PathLike[str], *, sha256: bool = False) -> str:
    """Identify a file's content cheaply: "size:mtime_ns" (no read), or "sha256:<hex>" (reads the whole file)."""
    path = Path(path)
    try:
        if sha256:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            return "sha256:" + digest.hexdigest()
        st = path.stat()
    except OSError as exc:
        raise ModelError(f"Cannot read the model file {path} ({exc.strerror or exc})", "check that it exists and is readable") from None
    return f"{st.st_size}:{st.st_mtime_ns}"


def format_params(n: int | None) -> str:
    """134515008 -> "134.5M"; 7241732096 -> "7.24B"."""
    if not n:
        return "-"
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}K"
    return str(n)


def format_bytes(n: int | float | None) -> str:
    """Bytes -> "98.4 MB" / "7.90 GB" (decimal units, as model cards and download pages use)."""
    if n is None:
        return "-"
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} KB"
    return f"{int(n)} B"


def scalar_metadata(facts: GGUFFacts) -> Mapping[str, Any]:
    """Metadata without skipped arrays (for display/debugging)."""
    return {k: v for k, v in facts.metadata.items() if not isinstance(v, ArraySummary)}
