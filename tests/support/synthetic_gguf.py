"""A real, tiny llama-architecture GGUF with random weights, for fast tests of facts, quantize and loading.

Widths are multiples of 256 so llama.cpp's K-quants apply to every matrix (real models like SmolLM2 (576) and
Gemma-3-270M (640) fall back to other types). The vocabulary is a SentencePiece-style ("llama") vocab: <unk>, <s>,
</s>, the 256 byte tokens llama.cpp needs for byte fallback (it looks up <0x0A> for newline at load time), then
filler pieces. Weights are random (seeded), so the model talks nonsense, but llama.cpp loads, runs and quantizes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter, LlamaFileType, TokenType

N_SPECIAL = 3  # <unk>, <s>, </s>
N_BYTES = 256


def _vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(N_BYTES)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * N_BYTES
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    pieces: list[str] = []
    for a in alphabet:
        pieces += [f"\u2581{a}", a]
    for a in alphabet:
        for b in alphabet:
            pieces.append(f"\u2581{a}{b}")
    need = n_vocab - len(tokens)
    if need < 0 or need > len(pieces):
        raise ValueError(f"n_vocab must be between {len(tokens)} and {len(tokens) + len(pieces)}")
    tokens += pieces[:need]
    types += [TokenType.NORMAL] * need
    scores = [0.0] * len(tokens)
    for i in range(len(tokens) - need, len(tokens)):
        scores[i] = -float(i)  # SentencePiece scores: higher merges first
    return tokens, scores, [int(t) for t in types]


def tensor_shapes(*, n_layer: int, n_embd: int, n_ff: int, n_head: int, n_head_kv: int, n_vocab: int) -> dict[str, tuple[int, ...]]:
    """numpy shapes (rows, cols) of every tensor written; GGUF stores them reversed (ne0 = cols)."""
    head_dim = n_embd // n_head
    kv = n_head_kv * head_dim
    shapes: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (n_vocab, n_embd),
        "output_norm.weight": (n_embd,),
        "output.weight": (n_vocab, n_embd),
    }
    for i in range(n_layer):
        shapes |= {
            f"blk.{i}.attn_norm.weight": (n_embd,),
            f"blk.{i}.attn_q.weight": (n_embd, n_embd),
            f"blk.{i}.attn_k.weight": (kv, n_embd),
            f"blk.{i}.attn_v.weight": (kv, n_embd),
            f"blk.{i}.attn_output.weight": (n_embd, n_embd),
            f"blk.{i}.ffn_norm.weight": (n_embd,),
            f"blk.{i}.ffn_gate.weight": (n_ff, n_embd),
            f"blk.{i}.ffn_up.weight": (n_ff, n_embd),
            f"blk.{i}.ffn_down.weight": (n_embd, n_ff),
        }
    return shapes


def write_synthetic_gguf(
    path: Path,
    *,
    n_layer: int = 2,
    n_embd: int = 256,
    n_ff: int = 512,
    n_head: int = 4,
    n_head_kv: int | None = None,
    n_vocab: int = 384,
    n_ctx: int = 512,
    f16: bool = False,
    architecture: str = "llama",
    chat_template: str | None = None,
    seed: int = 0,
) -> Path:
    """Write the model and return its path. `f16=True` stores matrices as F16 (norm vectors stay F32, as in
    llama.cpp's converter). `architecture` other than "llama" writes the same tensors under that name (to test
    files llama.cpp cannot load)."""
    n_head_kv = n_head_kv or n_head
    if n_embd % n_head:
        raise ValueError("n_embd must be divisible by n_head")
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = GGUFWriter(str(path), architecture)
    w.add_name(f"synthetic-{architecture}-{n_layer}x{n_embd}")
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(int(LlamaFileType.MOSTLY_F16 if f16 else LlamaFileType.ALL_F32))
    tokens, scores, types = _vocab(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    if chat_template:
        w.add_chat_template(chat_template)
    for name, shape in tensor_shapes(n_layer=n_layer, n_embd=n_embd, n_ff=n_ff, n_head=n_head, n_head_kv=n_head_kv, n_vocab=n_vocab).items():
        if len(shape) == 1:
            data = np.ones(shape, dtype=np.float32)  # RMS-norm weights: ones keep activations sane
        else:
            data = (rng.standard_normal(shape) * 0.02).astype(np.float16 if f16 else np.float32)
        w.add_tensor(name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
