"""The typed form of models.yaml. Pure data: the loader builds these after validation, everything else reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Union


class DisplayPolicy(str, Enum):
    """How answer text reaches the screen before the vote (see DESIGN.md, blinding rules)."""

    PACED = "paced"  # both panes reveal text at one shared rate: timing cannot tell which model is faster
    WHOLE = "whole"  # both answers appear together once both are done
    LIVE = "live"  # raw streaming; NOT speed-blind, marked as such in the UI and on the vote


class Schedule(str, Enum):
    """How the two contenders of a round share the CPU."""

    AUTO = "auto"  # the measured best for this machine (see engine.scheduler)
    CONCURRENT = "concurrent"
    SEQUENTIAL = "sequential"


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int | None = None  # None: a fresh random seed per request, recorded with the vote


@dataclass(frozen=True)
class HubSource:
    """A GGUF file in a Hugging Face repo, downloaded through huggingface_hub into its cache."""

    repo: str
    file: str
    revision: str | None = None


@dataclass(frozen=True)
class PathSource:
    path: Path


@dataclass(frozen=True)
class PackageSource:
    """A GGUF that a Python package ships (the offline demo). `assemble`: the package builds the file from chunks."""

    package: str
    file: str
    assemble: bool = False


@dataclass(frozen=True)
class DerivedSource:
    """Quantize another catalog model to `type` locally with llama.cpp's quantizer."""

    from_model: str  # a model id in the same catalog
    type: str  # llama.cpp ftype name, e.g. "Q2_K", "Q3_K_M", "IQ3_M"


@dataclass(frozen=True)
class RemoteSource:
    """A model served by an OpenAI-compatible server (llama-server, llama_cpp.server, vLLM, Ollama)."""

    base_url: str  # e.g. http://127.0.0.1:8080/v1
    model: str  # the server's model name
    api_key_env: str | None = None  # name of an environment variable holding the key; the key itself never in YAML
    timeout_s: float = 60.0


Source = Union[HubSource, PathSource, PackageSource, DerivedSource, RemoteSource]


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    source: Source
    quant: str | None = None  # label, e.g. "Q2_K"; the GGUF file type is read from the file when present
    params_label: str | None = None  # e.g. "14B"; the parameter count is read from the file when present
    family: str | None = None  # e.g. "qwen2.5": used to pair memory-matched models and flag identity leaks
    chat_format: str | None = None  # None: use the GGUF's chat template; else a llama-cpp-python chat_format name
    n_ctx: int = 4096
    n_gpu_layers: int = 0
    n_threads: int | None = None  # None: the scheduler decides
    sampling: Sampling | None = None  # overrides defaults.sampling
    line: int | None = None  # line in models.yaml, for messages

    @property
    def label(self) -> str:
        """How results name the model. The quant is the point of the comparison: "Qwen2.5 14B Q2_K" says more than
        "Qwen2.5 14B"."""
        name = self.name or self.id
        return f"{name} {self.quant}" if self.quant and self.quant not in name else name


@dataclass(frozen=True)
class Matchup:
    id: str
    big: str  # model id: the bigger model at a harsher quant
    small: str  # model id: the smaller model at a lighter quant
    description: str = ""
    budget_gb: float | None = None  # memory budget the pair is matched for
    schedule: Schedule | None = None  # None: defaults.schedule (a remote pair and a local pair share the CPU differently)
    line: int | None = None


@dataclass(frozen=True)
class Ladder:
    """Three or more contenders (e.g. one family at several quants plus smaller models at Q8_0) played pair by pair.

    Its votes are stored with matchup_id = the ladder id; which model is "big" in a pair is decided per pair
    (arena.battle.ladder.pair_roles)."""

    id: str
    models: tuple[str, ...]  # model ids, in the order written
    description: str = ""
    budget_gb: float | None = None  # the memory each contender is matched for
    line: int | None = None


@dataclass(frozen=True)
class Defaults:
    sampling: Sampling = field(default_factory=Sampling)
    display_policy: DisplayPolicy = DisplayPolicy.PACED
    schedule: Schedule = Schedule.AUTO
    system_prompt: str | None = None
    matchup: str | None = None  # the matchup the app opens on


@dataclass(frozen=True)
class Config:
    path: Path
    models: dict[str, ModelSpec]
    matchups: dict[str, Matchup]
    defaults: Defaults = field(default_factory=Defaults)
    ladders: dict[str, Ladder] = field(default_factory=dict)

    def model(self, model_id: str) -> ModelSpec:
        return self.models[model_id]

    def schedule_for(self, matchup_id: str) -> Schedule:
        """The matchup's own `schedule`, else `defaults.schedule` (a ladder, whose pairs change, uses the default)."""
        matchup = self.matchups.get(matchup_id)
        return (matchup.schedule if matchup is not None else None) or self.defaults.schedule

    def sampling_for(self, model_id: str) -> Sampling:
        return self.models[model_id].sampling or self.defaults.sampling
