"""Per-token log-probabilities of a text through llama.cpp's logits, in overlapping windows, and exact KL divergence
between two models that share a tokenizer, computed batch by batch in lockstep.

How a text is read (the same rule as llama.cpp's `llama-perplexity`, with overlap instead of disjoint chunks):
- The text is tokenized as plain text (special=False: "<bos>" written in a file stays text). If the model's GGUF asks
  for a BOS token (tokenizer.ggml.add_bos_token), every window starts with BOS and every text token is scored;
  otherwise no BOS is added and the first token of the text has no context, so it is not scored (its bytes are left
  out of the byte count too).
- Windows hold `window` tokens (BOS included). The first window scores all of its tokens; every later window moves on
  by `stride` tokens and scores only its last `stride` tokens, with the `window - 1 - stride` text tokens before them
  (plus BOS) as context. Default stride = window / 2, so every token after the first window sees at least half a
  window of context. A text shorter than the window is one pass.
- Logits are requested only for the positions whose next token is scored (context-only positions of later windows
  produce none), and llama.cpp computes the output projection only for those rows.

Memory: llama.cpp keeps one batch of logits (n_batch x n_vocab floats) per context; we read them in place (a numpy
view, no copy) in blocks of at most `_ROWS` rows, so temporaries stay at _ROWS x n_vocab floats. Nothing holds logits
for the whole text: what is kept per token is one float (log-probability) and, with a reference, one float (KL) and
one flag (same top token). The batch is chosen so a batch of logits stays near 128 MiB (Gemma's 262k vocabulary:
128 tokens a batch; SmolLM2's 49k: 512).

KL divergence is exact: the reference model and the measured model decode the same batch one after the other (two
contexts, both loaded), and each row's KL(P_ref || P_model) = sum_i p_i (a_i - b_i) - (lse(a) - lse(b)) is computed
from both full logit rows before either context decodes again. No top-k truncation, no approximation.

Cancellation: `cancel()` is polled between batches (a batch is at most n_batch tokens, well under a second or two on
a CPU); a cancelled pass raises ScoreCancelled and returns nothing partial.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arena.engine import logs
from arena.errors import ArenaError, EngineError

LOGITS_BUDGET_BYTES = 128 * 1024 * 1024  # one batch of logits per context
_ROWS = 16  # logit rows processed at once by numpy (temporaries: _ROWS x n_vocab float32)

Cancel = Callable[[], bool]
Advance = Callable[[int], None]  # tokens just decoded (for progress)


class ScoreCancelled(ArenaError):
    """The user stopped scoring; nothing partial was returned or stored."""

    exit_code = 130


def batch_for_vocab(n_vocab: int, *, budget: int = LOGITS_BUDGET_BYTES) -> int:
    """The largest power of two in [16, 512] whose batch of float32 logits fits the budget."""
    rows = max(1, budget // (4 * max(1, n_vocab)))
    return int(max(16, min(512, 2 ** int(math.log2(rows)))))


@dataclass(frozen=True)
class Window:
    """BOS (if any) + text tokens [start, end); targets [score_from, end) are scored."""

    start: int
    end: int
    score_from: int


def plan_windows(n_tokens: int, window: int, stride: int, *, bos: bool) -> list[Window]:
    """The windows covering a text of n_tokens text tokens (see the module docstring)."""
    room = window - (1 if bos else 0)  # text tokens per window
    if room < 2:
        raise ValueError(f"window {window} is too small")
    if not 1 <= stride <= room - 1 and n_tokens > room:
        raise ValueError(f"stride {stride} must be between 1 and {room - 1} for a window of {window}")
    first = 0 if bos else 1  # without BOS the first token has no context
    if n_tokens <= first:
        return []
    end = min(n_tokens, room)
    out = [Window(0, end, first)]
    while end < n_tokens:
        new_end = min(n_tokens, end + stride)
        out.append(Window(max(0, new_end - room), new_end, end))
        end = new_end
    return out


@dataclass
class TokenScores:
    """Per scored token of one text: log-probability (nats) and, with a reference, KL and top-token agreement."""

    logprobs: np.ndarray  # float64
    n_bytes: int  # UTF-8 bytes covered by the scored tokens
    kld: np.ndarray | None = None  # float64, nats, KL(P_ref || P_this)
    same_top: np.ndarray | None = None  # bool


class ScoringModel:
    """One GGUF loaded for scoring (its own llama.cpp context and batch). Not thread-safe."""

    def __init__(
        self,
        model_id: str,
        path: str | Path,
        *,
        window: int,
        n_batch: int | None = None,
        n_threads: int = 1,
        n_gpu_layers: int = 0,
    ) -> None:
        self.model_id = model_id
        self.path = Path(path)
        self.window = window
        self._n_batch = n_batch
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self._llm: Any = None
        self._batch: Any = None
        self.n_vocab = 0
        self.add_bos = False
        self.bos: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def load(self) -> ScoringModel:
        if self._llm is not None:
            return self
        from arena.engine.local import _check_file, _explain_load_failure

        _check_file(self.path)
        logs.install()
        import llama_cpp

        n_batch = self._n_batch
        if n_batch is None:  # the batch size depends on the vocabulary: read it first (no weights loaded)
            probe = _load_llama(self.path, vocab_only=True)
            try:
                n_batch = batch_for_vocab(llama_cpp.llama_vocab_n_tokens(_vocab(probe)))
            finally:
                probe.close()
        n_batch = min(n_batch, self.window)
        with logs.capture_errors() as errors, logs.python_stderr_to_log():
            try:
                llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.window,
                    n_batch=n_batch,
                    n_ubatch=n_batch,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=self.n_gpu_layers,
                    logits_all=False,
                    verbose=True,  # see arena.engine.local: False would redirect fds 1 and 2 while loading
                )
            except (ValueError, RuntimeError, OSError) as e:
                raise _explain_load_failure(self.path, errors, e) from e
        llm.verbose = False
        self._llm = llm
        vocab = _vocab(llm)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        bos = int(llama_cpp.llama_vocab_bos(vocab))
        self.bos = bos if bos >= 0 else None
        if self.bos is None:
            self.add_bos = False
        self.n_batch = n_batch
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        b = self._batch
        for i in range(n_batch):  # one sequence (0) for every slot, set once
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
        self._tok = np.ctypeslib.as_array(b.token, shape=(n_batch,))
        self._pos = np.ctypeslib.as_array(b.pos, shape=(n_batch,))
        self._want = np.ctypeslib.as_array(ctypes.cast(b.logits, ctypes.POINTER(ctypes.c_int8)), shape=(n_batch,))
        return self

    def close(self) -> None:
        import llama_cpp

        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.close()

    def __enter__(self) -> ScoringModel:
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def llm(self) -> Any:
        if self._llm is None:
            raise EngineError(f"Model {self.model_id} is not loaded for scoring")
        return self._llm

    # -- text ------------------------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """Text tokens, without BOS; special=False so control-token spellings in the text stay plain text."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def token_bytes(self, token: int) -> int:
        return len(self.llm.detokenize([token]))

    def vocab_hash(self) -> str:
        return vocab_hash(self.llm)

    def windows(self, n_tokens: int, stride: int) -> list[Window]:
        return plan_windows(n_tokens, self.window, stride, bos=self.add_bos)

    # -- decoding --------------------------------------------------------------------------------------------------
    def outputs(
        self, tokens: list[int], windows: list[Window], *, cancel: Cancel | None = None, advance: Advance | None = None
    ) -> Generator[tuple[np.ndarray, np.ndarray], None, None]:
        """Per decoded batch that produced outputs: (target tokens, logits rows predicting them), in text order.

        The logits array is llama.cpp's own buffer: valid only until this model decodes again.
        """
        import llama_cpp

        llm = self.llm
        ctx = llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        # A batch of 512 tokens can take many seconds on a busy CPU: llama.cpp polls the abort callback between graph
        # nodes (~600 per batch, i.e. per hundreds of tokens, unlike generation's one token per graph), so a cancel is
        # seen within one node. The ctypes callback object must outlive the decode calls that may use it.
        if cancel is None:
            yield from self._windows(llama_cpp, ctx, memory, tokens, windows, cancel, advance)
            return
        abort = llama_cpp.ggml_abort_callback(lambda _data: bool(cancel()))
        llama_cpp.llama_set_abort_callback(ctx, abort, None)
        try:
            yield from self._windows(llama_cpp, ctx, memory, tokens, windows, cancel, advance)
        finally:
            if self._llm is llm:  # a generator closed after the model must not touch the freed context
                llama_cpp.llama_set_abort_callback(ctx, llama_cpp.ggml_abort_callback(0), None)
            del abort

    def _windows(
        self, llama_cpp: Any, ctx: Any, memory: Any, tokens: list[int], windows: list[Window], cancel: Cancel | None,
        advance: Advance | None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
        arr = np.asarray(tokens, dtype=np.int32)
        lead = 1 if self.add_bos else 0
        for w in windows:
            seq = np.concatenate([np.asarray([self.bos], dtype=np.int32), arr[w.start : w.end]]) if lead else arr[w.start : w.end]
            # The logits at sequence index k predict sequence index k + 1 = text token w.start + k + 1 - lead.
            out_lo, out_hi = w.score_from - w.start + lead - 1, w.end - w.start + lead - 1
            llama_cpp.llama_memory_clear(memory, True)
            for c0 in range(0, len(seq), self.n_batch):
                if cancel is not None and cancel():
                    raise ScoreCancelled(f"Scoring with {self.model_id} was cancelled")
                c1 = min(len(seq), c0 + self.n_batch)
                n = c1 - c0
                self._tok[:n] = seq[c0:c1]
                self._pos[:n] = np.arange(c0, c1, dtype=np.int32)
                lo, hi = max(out_lo, c0), min(out_hi, c1)
                self._want[:n] = 0
                if hi > lo:
                    self._want[lo - c0 : hi - c0] = 1
                self._batch.n_tokens = n
                rc = llama_cpp.llama_decode(ctx, self._batch)
                if rc == 2 and cancel is not None and cancel():  # aborted by the callback
                    raise ScoreCancelled(f"Scoring with {self.model_id} was cancelled")
                if rc != 0:
                    raise EngineError(f"llama_decode failed while scoring with {self.model_id} (code {rc})")
                if advance is not None:
                    advance(n)
                if hi > lo:
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(hi - lo, self.n_vocab))
                    first_target = w.start + lo + 1 - lead
                    yield arr[first_target : first_target + (hi - lo)], logits


def _load_llama(path: Path, *, vocab_only: bool) -> Any:
    import llama_cpp

    with logs.capture_errors(), logs.python_stderr_to_log():
        try:
            llm = llama_cpp.Llama(model_path=str(path), vocab_only=vocab_only, verbose=True)
        except (ValueError, RuntimeError, OSError) as e:
            from arena.engine.local import _explain_load_failure

            raise _explain_load_failure(path, [], e) from e
    llm.verbose = False
    return llm


def _vocab(llm: Any) -> Any:
    import llama_cpp

    return llama_cpp.llama_model_get_vocab(llm._model.model)


def vocab_hash(llm: Any) -> str:
    """sha256 of the token list (every token's text, in id order): equal hashes mean the same tokenizer vocabulary."""
    import llama_cpp

    vocab = _vocab(llm)
    n = int(llama_cpp.llama_vocab_n_tokens(vocab))
    h = hashlib.sha256(str(n).encode())
    for i in range(n):
        h.update(llama_cpp.llama_vocab_get_text(vocab, i) or b"")
        h.update(b"\0")
    return h.hexdigest()


def model_vocab_hash(path: str | Path) -> str:
    """The vocabulary hash of a GGUF, loading only its vocabulary (no weights)."""
    llm = _load_llama(Path(path), vocab_only=True)
    try:
        return vocab_hash(llm)
    finally:
        llm.close()


def _logsumexp_rows(rows: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """log(sum(exp(row))) per row, float64, without overflow (max-shifted); `scratch` has rows' shape, float32."""
    m = rows.max(axis=1)
    np.subtract(rows, m[:, None], out=scratch)
    np.exp(scratch, out=scratch)
    return m.astype(np.float64) + np.log(scratch.sum(axis=1, dtype=np.float64))


def target_logprobs(logits: np.ndarray, targets: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """log p(target) per row = logit[target] - logsumexp(row), in float64."""
    out = np.empty(len(targets), dtype=np.float64)
    for r0 in range(0, len(targets), _ROWS):
        rows = logits[r0 : r0 + _ROWS]
        buf = scratch[: len(rows)] if scratch is not None else np.empty_like(rows)
        lse = _logsumexp_rows(rows, buf)
        out[r0 : r0 + len(rows)] = rows[np.arange(len(rows)), targets[r0 : r0 + _ROWS]] - lse
    return out


def kl_rows(ref: np.ndarray, cur: np.ndarray, scratch: np.ndarray, scratch2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For aligned logit rows a (reference) and b: (lse(a), lse(b), KL(softmax a || softmax b), argmax a == argmax b)."""
    n = len(ref)
    lse_a = _logsumexp_rows(ref, scratch[:n])  # scratch now holds exp(a - max a)
    lse_b = _logsumexp_rows(cur, scratch2[:n])
    # p_i = exp(a_i - lse_a) = scratch_i * exp(max a - lse_a); KL = sum p (a - b) - (lse_a - lse_b).
    p = scratch[:n]
    p *= np.exp(ref.max(axis=1).astype(np.float64) - lse_a)[:, None].astype(np.float32)
    np.subtract(ref, cur, out=scratch2[:n])
    cross = np.einsum("ij,ij->i", p, scratch2[:n], dtype=np.float64)
    kl = cross - (lse_a - lse_b)
    same = ref.argmax(axis=1) == cur.argmax(axis=1)
    return lse_a, lse_b, kl, same


def score_tokens(
    model: ScoringModel,
    tokens: list[int],
    stride: int,
    *,
    cancel: Cancel | None = None,
    advance: Advance | None = None,
) -> np.ndarray:
    """Log-probabilities (nats, float64) of every scored token of one text through one model."""
    windows = model.windows(len(tokens), stride)
    parts: list[np.ndarray] = []
    scratch = np.empty((_ROWS, model.n_vocab), dtype=np.float32)
    out = model.outputs(tokens, windows, cancel=cancel, advance=advance)
    try:
        for targets, logits in out:
            parts.append(target_logprobs(logits, targets, scratch))
    finally:
        out.close()
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def score_pair(
    reference: ScoringModel,
    model: ScoringModel,
    tokens: list[int],
    stride: int,
    *,
    cancel: Cancel | None = None,
    advance: Advance | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both models on the same tokens in lockstep: (reference logprobs, model logprobs, KL per token, same top token).

    Both must share the vocabulary, window layout and batch size (the caller checks the vocabulary hash).
    """
    if reference.n_vocab != model.n_vocab or reference.add_bos != model.add_bos or reference.n_batch != model.n_batch:
        raise EngineError(f"{model.model_id} and {reference.model_id} do not share a tokenizer and batch layout")
    if reference.window != model.window:
        raise EngineError(f"{model.model_id} and {reference.model_id} are scored with different windows")
    windows = model.windows(len(tokens), stride)
    n_rows = min(_ROWS, model.n_batch)
    s1 = np.empty((n_rows, model.n_vocab), dtype=np.float32)
    s2 = np.empty((n_rows, model.n_vocab), dtype=np.float32)
    ref_lp: list[np.ndarray] = []
    cur_lp: list[np.ndarray] = []
    kls: list[np.ndarray] = []
    sames: list[np.ndarray] = []
    ref_out = reference.outputs(tokens, windows, cancel=cancel, advance=advance)
    cur_out = model.outputs(tokens, windows, cancel=cancel, advance=advance)
    try:
        _lockstep(ref_out, cur_out, n_rows, s1, s2, ref_lp, cur_lp, kls, sames)
    finally:  # a cancel leaves one generator suspended: finish both now, while both models are still loaded
        ref_out.close()
        cur_out.close()

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    return cat(ref_lp, np.float64), cat(cur_lp, np.float64), cat(kls, np.float64), cat(sames, bool)


def _lockstep(
    ref_out: Iterator[tuple[np.ndarray, np.ndarray]], cur_out: Iterator[tuple[np.ndarray, np.ndarray]], n_rows: int,
    s1: np.ndarray, s2: np.ndarray, ref_lp: list[np.ndarray], cur_lp: list[np.ndarray], kls: list[np.ndarray],
    sames: list[np.ndarray],
) -> None:  # fmt: skip
    for (targets, a), (targets_b, b) in zip(ref_out, cur_out):
        assert len(targets) == len(targets_b)
        for r0 in range(0, len(targets), n_rows):
            ra, rb, t = a[r0 : r0 + n_rows], b[r0 : r0 + n_rows], targets[r0 : r0 + n_rows]
            idx = np.arange(len(t))
            ta, tb = ra[idx, t].astype(np.float64), rb[idx, t].astype(np.float64)
            lse_a, lse_b, kl, same = kl_rows(ra, rb, s1, s2)
            ref_lp.append(ta - lse_a)
            cur_lp.append(tb - lse_b)
            kls.append(kl)
            sames.append(same)


def scored_bytes(model: ScoringModel, text: str, tokens: list[int]) -> int:
    """UTF-8 bytes the scored tokens cover: the whole text, minus the first token's bytes when no BOS gives it context."""
    total = len(text.encode("utf-8"))
    if not model.add_bos and tokens:
        total -= model.token_bytes(tokens[0])
    return max(0, total)


class Vocabulary:
    """A GGUF's tokenizer alone (llama.cpp's vocab_only load: no weights): for planning a scoring run."""

    def __init__(self, path: str | Path) -> None:
        import llama_cpp

        self.path = Path(path)
        from arena.engine.local import _check_file

        _check_file(self.path)
        logs.install()
        self._llm = _load_llama(self.path, vocab_only=True)
        vocab = _vocab(self._llm)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        bos = int(llama_cpp.llama_vocab_bos(vocab))
        self.bos = bos if bos >= 0 else None
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab)) and self.bos is not None
        self.hash = vocab_hash(self._llm)

    def tokenize(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def scored_bytes(self, text: str, tokens: list[int]) -> int:
        total = len(text.encode("utf-8"))
        if not self.add_bos and tokens:
            total -= len(self._llm.detokenize([tokens[0]]))
        return max(0, total)

    def close(self) -> None:
        self._llm.close()
