"""In-process llama.cpp through llama-cpp-python: one `Llama` per engine, used from one thread at a time.

How the llama-cpp-python quirks are handled (see DESIGN.md, "Facts about this machine"):
- Logs: `verbose=True` (never the fd-redirecting `verbose=False`) with llama.cpp's log callback and the loading
  thread's Python prints routed into `logging` (arena.engine.logs). After loading, `Llama.verbose` is switched off so
  generation prints nothing either.
- Load progress: `llama_model_params.progress_callback` is not exposed by the `Llama` constructor, so a subclass
  intercepts the assignment of `self.model_params` and sets it (fractions 0..1 from llama.cpp itself).
- Chat format: from models.yaml, else the GGUF's template; a GGUF without a template would silently fall back to
  llama-2, which is refused with a clear error.
- Cancel: between tokens via a stopping criterion (and by leaving the stream); during prompt processing via
  `llama_set_abort_callback`, which makes `llama_decode` return 2 (llama-cpp-python raises RuntimeError). The
  abort callback is only installed until the first token: llama.cpp calls it for every graph node (~600 times per
  token here), each call taking the GIL, which would slow generation.
- Reproducibility: a seed reproduces an answer from the same KV-cache state (`reset()` gives a clean one). Reusing
  the cached prompt prefix between turns (kept: it saves re-reading the conversation) changes how the prompt is
  batched, which can change the logits in the last bits and so the sampled text.
- Cancel during `load()` aborts the load (the progress callback returns false).
- Counting: the chat handler is called with a thin proxy of the `Llama` whose `create_completion` sees the exact
  prompt tokens; it also injects the stopping criterion that counts sampled tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arena.engine import logs
from arena.engine.context import DoesNotFit, fit_messages, reply_room
from arena.engine.types import (
    ChatParams,
    Event,
    Failed,
    Finished,
    Message,
    ProgressCallback,
    TextDelta,
    Timings,
)
from arena.errors import EngineError, Public

GGUF_MAGIC = b"GGUF"

# llama-cpp-python formats that silently DROP system messages. Both contenders must see the same system prompt, so
# for these it is folded into the first user message, as Gemma's own template does.
SYSTEMLESS_FORMATS = frozenset({"gemma"})


def fold_system_prompt(messages: list[Message]) -> list[Message]:
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system" and m.get("content"))
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for m in rest:
        if m.get("role") == "user":
            m["content"] = f"{system}\n\n{m['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


class _PromptTokens(Exception):
    """Raised by the counting proxy instead of generating: carries the exact prompt tokens."""

    def __init__(self, tokens: list[int]) -> None:
        super().__init__(len(tokens))
        self.tokens = tokens


class _Counter:
    """A llama-cpp-python stopping criterion: sees every sampled token; stops generation when cancelled."""

    def __init__(self, engine: LocalEngine) -> None:
        self._engine = engine
        self.first_len: int | None = None  # input length at the first sampled token = prompt length
        self.last_len = 0

    def __call__(self, input_ids: Any, _logits: Any) -> bool:
        n = len(input_ids)
        if self.first_len is None:
            self.first_len = n
        self.last_len = max(self.last_len, n)
        return self._engine._cancel_requested

    @property
    def sampled(self) -> int:
        return 0 if self.first_len is None else self.last_len - self.first_len + 1


class _LlamaView:
    """Stands in for the `Llama` given to a chat handler: everything passes through except `create_completion`."""

    def __init__(self, llm: Any, counter: _Counter | None) -> None:
        self._llm = llm
        self._counter = counter  # None: dry run, only report the prompt tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def create_completion(self, prompt: Any, **kwargs: Any) -> Any:
        if self._counter is None:
            raise _PromptTokens(list(prompt))
        from llama_cpp import StoppingCriteriaList

        extra = kwargs.pop("stopping_criteria", None) or []
        kwargs["stopping_criteria"] = StoppingCriteriaList([self._counter, *extra])
        return self._llm.create_completion(prompt=prompt, **kwargs)


def _llama_class(on_progress: Any) -> type:
    """A `Llama` subclass whose model params carry a load-progress callback (a ctypes function object)."""
    from llama_cpp import Llama

    class _ProgressLlama(Llama):  # type: ignore[misc]
        @property
        def model_params(self) -> Any:
            return self.__dict__["_arena_model_params"]

        @model_params.setter
        def model_params(self, value: Any) -> None:
            value.progress_callback = on_progress
            self.__dict__["_arena_model_params"] = value

    return _ProgressLlama


def _check_file(path: Path) -> None:
    if not path.exists():
        raise EngineError(f"Model file not found: {path}", "check the model's path in models.yaml or run `arena pull`")
    if not path.is_file():
        raise EngineError(f"Model path is not a file: {path}", "point the model at a .gguf file")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise EngineError(f"Cannot read model file {path}: {e.strerror or e}", "check the file's permissions") from e
    if magic != GGUF_MAGIC:
        raise EngineError(
            f"{path} is not a GGUF file (it starts with {magic!r}, expected {GGUF_MAGIC!r})",
            "download the .gguf file again or point models.yaml at the right file",
        )


def _is_template_error(exc: BaseException) -> bool:
    try:
        from jinja2 import TemplateError
    except ImportError:  # pragma: no cover - jinja2 is a llama-cpp-python dependency
        return False
    return isinstance(exc, TemplateError)


def _explain_load_failure(path: Path, lines: list[str], exc: BaseException) -> EngineError:
    detail = "; ".join(lines[-3:]) if lines else str(exc)
    text = detail.lower()
    if "unknown model architecture" in text or "unknown architecture" in text:
        fix = "this llama.cpp build does not support the model's architecture: upgrade llama-cpp-python"
    elif "alloc" in text or "out of memory" in text or "mmap" in text:
        fix = "the model does not fit in memory: pick a smaller quant, lower n_ctx, or close other programs"
    elif "cancelled" in text or "aborted" in text:
        fix = None
    else:
        fix = "the file may be truncated or corrupt: download it again"
    return EngineError(f"Could not load model {path}: {detail}", fix, public=Public.LOAD_FAILED)


class LocalEngine:
    """A GGUF model run in this process. Not thread-safe except `cancel()`."""

    def __init__(
        self,
        model_id: str,
        path: str | Path,
        *,
        chat_format: str | None = None,
        n_ctx: int = 4096,
        n_threads: int = 1,
        n_threads_batch: int | None = None,
        n_gpu_layers: int = 0,
    ) -> None:
        self.model_id = model_id
        self.path = Path(path)
        self.chat_format = chat_format
        self.n_ctx = n_ctx
        self.n_gpu_layers = n_gpu_layers
        self._threads = (n_threads, n_threads_batch or n_threads)
        self._applied_threads: tuple[int, int] | None = None
        self._llm: Any = None
        self._cancel_requested = False
        self._abort_cb: Any = None  # ctypes callbacks must outlive every call into llama.cpp that may use them
        self._no_abort: Any = None
        self._progress_cb: Any = None

    # -- Engine protocol -------------------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    @property
    def context_size(self) -> int:
        return self.n_ctx

    def load(self, progress: ProgressCallback | None = None) -> None:
        if self._llm is not None:
            return
        report = progress or (lambda _f, _s: None)
        report(0.0, "checking file")
        _check_file(self.path)
        logs.install()
        import llama_cpp
        from llama_cpp import llama_chat_format

        self._cancel_requested = False

        def on_progress(fraction: float, _user_data: Any) -> bool:
            try:
                report(float(fraction), "loading weights")
            except Exception:  # noqa: BLE001, S110 - a broken progress display must not break loading
                pass
            return not self._cancel_requested  # False aborts the load

        self._progress_cb = llama_cpp.llama_progress_callback(on_progress)
        n_threads, n_threads_batch = self._threads
        llama_cls = _llama_class(self._progress_cb)
        with logs.capture_errors() as errors, logs.python_stderr_to_log():
            try:
                llm = llama_cls(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads_batch,
                    n_gpu_layers=self.n_gpu_layers,
                    chat_format=self.chat_format,
                    verbose=True,  # False would redirect fds 1/2 during load; output is routed to logging instead
                )
            except (ValueError, RuntimeError, OSError) as e:
                if self._cancel_requested:
                    raise EngineError(f"Loading {self.model_id} was cancelled") from e
                raise _explain_load_failure(self.path, errors, e) from e
            except Exception as e:
                # Llama() compiles every chat template in the GGUF (even when chat_format overrides it): a broken
                # one raises jinja2's TemplateSyntaxError, which must reach the user as one clear paragraph.
                if not _is_template_error(e):
                    raise
                raise EngineError(
                    f"The chat template stored in {self.path} (tokenizer.chat_template) is broken: {e}",
                    "llama-cpp-python compiles it even when chat_format is set, so this file cannot be loaded as it is: "
                    "download a fixed GGUF, or replace the template with `gguf-new-metadata --chat-template ...`",
                ) from e
        llm.verbose = False  # generation must not print either
        try:
            self._check_chat_format(llm, llama_chat_format)
        except EngineError:
            llm.close()
            raise
        self._abort_cb = llama_cpp.ggml_abort_callback(self._should_abort)
        self._no_abort = llama_cpp.ggml_abort_callback(0)  # NULL: llama.cpp skips the check entirely
        self._applied_threads = self._threads
        self._llm = llm
        report(1.0, "loaded")

    def unload(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.close()

    def cancel(self) -> None:
        self._cancel_requested = True

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        """Set up synchronously (so a `cancel()` after this call is never lost), then stream lazily."""
        self._cancel_requested = False
        if self.chat_format in SYSTEMLESS_FORMATS:
            messages = fold_system_prompt(messages)
        return self._stream(list(messages), params, time.perf_counter())

    # -- extras the scheduler and tests use ------------------------------------------------------------------------

    def set_threads(self, n_threads: int, n_threads_batch: int | None = None) -> None:
        """Threads for the next chat (applied with llama_set_n_threads; no reload)."""
        self._threads = (n_threads, n_threads_batch or n_threads)

    @property
    def threads(self) -> tuple[int, int]:
        return self._threads

    def reset(self) -> None:
        """Forget the KV cache so the next chat evaluates its prompt from scratch (bit-for-bit reproducible runs)."""
        if self._llm is not None:
            self._llm.reset()

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        """Exact prompt length: the chat template applied and tokenized by the model's tokenizer."""
        llm = self._require_loaded()
        try:
            self._handler(llm)(llama=_LlamaView(llm, None), messages=messages, stream=True, max_tokens=1)
        except _PromptTokens as p:
            return len(p.tokens)
        except Exception as e:  # Jinja templates may raise on conversations they do not accept
            raise EngineError(f"The chat template of {self.model_id} rejected the conversation: {e}",
                              public=Public.TEMPLATE_REJECTED) from e
        raise EngineError(f"Could not count the prompt tokens of {self.model_id}")  # pragma: no cover

    # -- internals -------------------------------------------------------------------------------------------------

    def _require_loaded(self) -> Any:
        if self._llm is None:
            raise EngineError(f"Model {self.model_id} is not loaded", "load it before chatting", public=Public.NOT_LOADED)
        return self._llm

    def _check_chat_format(self, llm: Any, llama_chat_format: Any) -> None:
        if self.chat_format is None:
            if "tokenizer.chat_template" not in (llm.metadata or {}):
                raise EngineError(
                    f"Model {self.model_id} ({self.path.name}) has no chat template, so llama-cpp-python would "
                    "silently format prompts for llama-2",
                    f"set chat_format for {self.model_id} in models.yaml (e.g. gemma, chatml, llama-3, mistral-instruct)",
                )
            return
        if self.chat_format in llm._chat_handlers:
            return
        try:
            llama_chat_format.get_chat_completion_handler(self.chat_format)
        except Exception as e:
            raise EngineError(
                f"Unknown chat_format {self.chat_format!r} for model {self.model_id}",
                "use a llama-cpp-python chat format name (gemma, chatml, llama-3, mistral-instruct, ...) "
                "or remove chat_format to use the GGUF's own template",
            ) from e

    def _handler(self, llm: Any) -> Any:
        # The same resolution as Llama.create_chat_completion.
        from llama_cpp import llama_chat_format

        return (
            llm.chat_handler
            or llm._chat_handlers.get(llm.chat_format)
            or llama_chat_format.get_chat_completion_handler(llm.chat_format)
        )

    def _should_abort(self, _data: Any) -> bool:
        return self._cancel_requested

    def _apply_threads(self, llm: Any) -> None:
        if self._applied_threads != self._threads:
            import llama_cpp

            llama_cpp.llama_set_n_threads(llm._ctx.ctx, self._threads[0], self._threads[1])
            self._applied_threads = self._threads

    def _fit(self, llm: Any, messages: list[Message], params: ChatParams) -> Any:
        room = reply_room(self.n_ctx, params.max_tokens)
        try:
            return fit_messages(messages, self.count_prompt_tokens, self.n_ctx - room)
        except DoesNotFit as e:
            raise EngineError(
                f"The prompt is {e.prompt_tokens} tokens, but the context of {self.model_id} is {self.n_ctx} tokens "
                f"and {room} must stay free for the answer",
                f"shorten the message, or raise n_ctx for {self.model_id} in models.yaml",
                public=Public.CONTEXT_FULL,
            ) from e

    def _stream(self, messages: list[Message], params: ChatParams, start: float) -> Iterator[Event]:
        import llama_cpp

        try:
            llm = self._require_loaded()
            fit = self._fit(llm, messages, params)
        except EngineError as e:
            yield Failed(e)
            return
        if self._cancel_requested:
            yield Finished("cancelled", Timings(wall_s=time.perf_counter() - start), params.seed)
            return

        ctx = llm._ctx.ctx
        self._apply_threads(llm)
        counter = _Counter(self)
        llama_cpp.llama_set_abort_callback(ctx, self._abort_cb, None)
        abort_installed = True
        llama_cpp.llama_perf_context_reset(ctx)
        ttft: float | None = None
        reason = "stop"
        stream: Any = None
        try:
            stream = self._handler(llm)(
                llama=_LlamaView(llm, counter),
                messages=fit.messages,
                stream=True,
                seed=params.seed,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=params.top_k,
                min_p=params.min_p,
                repeat_penalty=params.repeat_penalty,
                max_tokens=params.max_tokens,
            )
            for chunk in stream:
                if abort_installed:  # the prompt is processed: stop paying for the per-node abort check
                    llama_cpp.llama_set_abort_callback(ctx, self._no_abort, None)
                    abort_installed = False
                choice = chunk["choices"][0]
                text = choice.get("delta", {}).get("content")
                if text:
                    if ttft is None:
                        ttft = time.perf_counter() - start
                    yield TextDelta(text)
                if choice.get("finish_reason"):
                    reason = choice["finish_reason"]
                if self._cancel_requested:
                    break
        except Exception as e:  # noqa: BLE001 - llama_decode returned 2 (aborted) is a RuntimeError; anything else is a failure
            if not self._cancel_requested:
                yield Failed(EngineError(f"Generation failed in {self.model_id}: {e}", public=Public.GENERATION_FAILED))
                return
            llm.reset()  # an aborted decode leaves a partial batch behind: start the next prompt clean
        finally:
            if stream is not None and hasattr(stream, "close"):
                stream.close()
            if abort_installed:
                llama_cpp.llama_set_abort_callback(ctx, self._no_abort, None)

        wall = time.perf_counter() - start
        if self._cancel_requested:
            reason = "cancelled"
        perf = llama_cpp.llama_perf_context(ctx)
        completion = counter.sampled - (1 if reason == "stop" and counter.sampled else 0)  # EOS is not an answer token
        timings = Timings(
            ttft_s=ttft,
            prompt_tokens=counter.first_len or fit.prompt_tokens,
            prompt_tps=perf.n_p_eval / (perf.t_p_eval_ms / 1000) if perf.n_p_eval and perf.t_p_eval_ms > 0 else None,
            completion_tokens=max(0, completion),
            gen_tps=perf.n_eval / (perf.t_eval_ms / 1000) if perf.n_eval and perf.t_eval_ms > 0 else None,
            wall_s=wall,
        )
        yield Finished(reason, timings, params.seed, fit.dropped_turns)


def llama_threads_available() -> int:
    """CPU cores usable by this process (affinity-aware)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


__all__ = ["LocalEngine", "llama_threads_available"]
