"""The engine contract: a prompt in, a stream of events out, cancellable at any moment. No Textual here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Protocol, Union, runtime_checkable

from arena.errors import EngineError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}
ProgressCallback = Callable[[float, str], None]  # (fraction 0..1, what is happening)


@dataclass(frozen=True)
class ChatParams:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int = 0  # always concrete: the battle picks one per request and records it

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass
class Timings:
    """Measured by the engine (llama.cpp perf counters or wall clock around the stream), never guessed."""

    ttft_s: float | None = None  # request start -> first text delta
    prompt_tokens: int = 0
    prompt_tps: float | None = None  # prompt processing tokens/s
    completion_tokens: int = 0
    gen_tps: float | None = None  # generation tokens/s (after the first token)
    wall_s: float = 0.0  # request start -> end of stream

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    """The end of a stream. reason: "stop" (model ended), "length" (max_tokens), "cancelled" (user stopped it)."""

    reason: str
    timings: Timings = field(default_factory=Timings)
    seed: int = 0
    truncated_turns: int = 0  # old turns dropped to fit the context window (documented behaviour)


@dataclass(frozen=True)
class Failed:
    error: EngineError


@dataclass(frozen=True)
class Queued:
    """The request waits its turn at a shared server (a team's gateway): `ahead` rounds are served before it; 0 means
    it runs now. The gateway counts rounds per session, so both sides of a round always see the same number."""

    ahead: int


Event = Union[TextDelta, Finished, Failed, Queued]


@runtime_checkable
class Engine(Protocol):
    """One loaded model. Not thread-safe except `cancel`, which any thread may call."""

    model_id: str

    @property
    def loaded(self) -> bool: ...

    @property
    def context_size(self) -> int: ...

    def load(self, progress: ProgressCallback | None = None) -> None: ...

    def unload(self) -> None: ...

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        """Blocking generator of events; ends with exactly one Finished or Failed. Run it in a worker thread."""
        ...

    def cancel(self) -> None:
        """Stop the running chat as soon as possible (prompt processing too); it then yields Finished("cancelled")."""
        ...
