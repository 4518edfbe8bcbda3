"""What the store keeps about a model (read from the GGUF header where there is a file). Pure data, no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ModelFacts:
    """What the store keeps about a model (read from the GGUF header where there is a file)."""

    id: str
    name: str
    source: str  # human-readable: "hf:repo/file@rev", "path:/x.gguf", "package:pkg/file", "derived:id->Q2_K", "remote:url#model"
    file_name: str | None = None
    fingerprint: str | None = None  # sha256 if known, else "size:mtime"
    quant_type: str | None = None
    n_params: int | None = None
    bits_per_weight: float | None = None
    file_size: int | None = None
    architecture: str | None = None
    context_length: int | None = None
    requantized: bool = False
    # Not kept by the store (yet): filled where the GGUF was read in this process, None otherwise.
    non_embedding_bits_per_weight: float | None = None  # without the token embedding table and output projection
    embedding_params: int | None = None
    memory_estimate: int | None = None  # bytes: the RAM preflight's weights + KV cache + compute at the model's n_ctx

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
