"""What a matchup really compares: the two contenders' facts side by side, described in words that are true.

A matchup's `big` and `small` slots say what the catalog author *meant* (more parameters at a harsher quant vs fewer
at a lighter one). The files may say otherwise: a small model with a big vocabulary keeps most of its weights in the
embedding table, at high precision, so a "harsh" Q4_K_M Gemma-3-270M has 7.36 bits/weight overall against SmolLM2
Q4_1's 5.74. Everything shown after the vote (reveal, statistics, verdict) and every warning (`arena check`, the
picker) comes from this comparison, never from the slot names alone.

Rules (all stated in what is printed):
- size: parameter counts; within PARAMS_SAME (5%) is "same size".
- precision: bits per weight without the embeddings when both are known (that is where quantization harshness lives),
  else overall; within BPW_SAME (0.05 bits) is "same". When overall and non-embedding disagree in direction the pair is
  "mixed" and both numbers are given.
- memory-matched: the larger need is at most (1 + tolerance) times the smaller (default tolerance 25%). Needs are the
  RAM preflight's estimates (weights + KV cache at the model's n_ctx + compute buffers) when both files are on disk,
  else file sizes, else sizes estimated from the catalog's labels (parameters x typical bits/weight of the quant).
Pure: no I/O. Callers build `Contender`s from GGUF facts (`from_facts`) or from catalog labels (`from_spec`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from arena.config.types import ModelSpec
from arena.records import ModelFacts

MEMORY_TOLERANCE = 0.25  # memory-matched: the larger need <= 1.25 x the smaller
PARAMS_SAME = 0.05  # parameter counts within 5% are "the same size"
BPW_SAME = 0.05  # bits per weight within 0.05 are "the same precision"

# Whole-file bits per weight of typical publishers' GGUF files of 7-9B models, by llama.cpp file type. Used ONLY when
# no file is on disk (a catalog entry's `quant` label, `arena check` and `arena plan` offline), always shown as an
# estimate ("~"). Base values are the tensor types' own bits (ggml block sizes: Q2_K 2.625, Q4_K 4.5, Q6_K 6.5625,
# Q8_0 8.5, ...); K-quant mixes keep some tensors at higher types, which the catalog's own file sizes show (Qwen2.5-7B
# Q2_K ~3.0 GB / 7.6B params = 3.2 bits/weight; Llama-3.1-8B Q2_K 3.2 GB / 8.0B = 3.2; Q6_K and Q8_0 files are within
# 0.1 bit of their type).
TYPICAL_BPW: dict[str, float] = {
    "IQ1_S": 2.0, "IQ1_M": 2.2, "TQ1_0": 1.7, "TQ2_0": 2.1,
    "IQ2_XXS": 2.4, "IQ2_XS": 2.6, "IQ2_S": 2.8, "IQ2_M": 3.0,
    "Q2_K_S": 2.9, "Q2_K": 3.2, "Q2_K_L": 3.5,
    "IQ3_XXS": 3.3, "IQ3_XS": 3.5, "IQ3_S": 3.7, "IQ3_M": 3.8,
    "Q3_K_S": 3.6, "Q3_K_M": 3.9, "Q3_K_L": 4.3, "Q3_K_XL": 4.4,
    "IQ4_XS": 4.4, "IQ4_NL": 4.6, "Q4_0": 4.6, "Q4_1": 5.0, "Q4_K_S": 4.7, "Q4_K_M": 4.9, "Q4_K_L": 5.1,
    "Q5_0": 5.5, "Q5_1": 6.0, "Q5_K_S": 5.6, "Q5_K_M": 5.7, "Q5_K_L": 5.9,
    "Q6_K": 6.6, "Q6_K_L": 6.8, "Q8_0": 8.5, "F16": 16.0, "BF16": 16.0, "F32": 32.0,
}  # fmt: skip

_PARAMS_LABEL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMBT])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse_params(label: str | None) -> int | None:
    """Catalog labels "270M", "7B", "1.5B" -> a count; None for anything else (e.g. "8x7B": say nothing wrong)."""
    m = _PARAMS_LABEL.match(label or "")
    return int(float(m.group(1)) * _SCALE[m.group(2).upper()]) if m else None


def typical_bpw(quant: str | None) -> float | None:
    return TYPICAL_BPW.get((quant or "").strip().upper())


@dataclass(frozen=True)
class Contender:
    """One model as the comparison sees it. `measured`: from the GGUF file; else from the catalog's labels."""

    id: str
    name: str
    n_params: int | None = None
    bpw: float | None = None  # all tensors
    bpw_body: float | None = None  # without token embeddings and output projection
    file_size: int | None = None  # bytes (estimated when not measured)
    memory: int | None = None  # bytes: the RAM preflight's estimate; None when no file was read
    quant: str | None = None
    measured: bool = True

    @classmethod
    def from_facts(cls, facts: ModelFacts) -> Contender:
        measured = facts.n_params is not None or facts.bits_per_weight is not None
        return cls(
            id=facts.id, name=facts.name or facts.id, n_params=facts.n_params, bpw=facts.bits_per_weight,
            bpw_body=facts.non_embedding_bits_per_weight, file_size=facts.file_size, memory=facts.memory_estimate,
            quant=facts.quant_type, measured=measured,
        )  # fmt: skip

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> Contender:
        """From the catalog's `params` and `quant` labels alone (the file is not on this machine)."""
        n = parse_params(spec.params_label)
        bpw = typical_bpw(spec.quant)
        size = int(n * bpw / 8) if n and bpw else None
        return cls(id=spec.id, name=spec.name or spec.id, n_params=n, bpw=bpw, file_size=size, quant=spec.quant, measured=False)


def _direction(a: float | None, b: float | None, same: float, relative: bool) -> str | None:
    """'more' / 'fewer' / 'same' for a vs b; None when either is unknown."""
    if a is None or b is None:
        return None
    gap = abs(a - b) / max(a, b) if relative and max(a, b) > 0 else abs(a - b)
    if gap <= same:
        return "same"
    return "more" if a > b else "fewer"


def _bits(x: float | None, measured: bool) -> str:
    if x is None:
        return "?"
    return f"{x:.2f}" if measured else f"~{x:.1f}"


def _gb(n: int | None, measured: bool = True) -> str:
    if n is None:
        return "?"
    text = f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"
    return text if measured else "~" + text


@dataclass(frozen=True)
class Comparison:
    """The `big` slot's contender against the `small` slot's. Everything is stated from the big slot's side."""

    big: Contender
    small: Contender
    tolerance: float = MEMORY_TOLERANCE

    # -- the facts ----------------------------------------------------------------------------------------------------
    @property
    def params_ratio(self) -> float | None:
        a, b = self.big.n_params, self.small.n_params
        return a / b if a and b else None

    @property
    def size(self) -> str | None:
        """'bigger' / 'smaller' / 'same' (the big slot's model vs the small slot's), None if unknown."""
        d = _direction(self.big.n_params, self.small.n_params, PARAMS_SAME, relative=True)
        return {"more": "bigger", "fewer": "smaller"}.get(d, d) if d else None

    def _bits_pair(self) -> tuple[float, float, str] | None:
        """The two bits-per-weight figures to compare and what they are."""
        b, s = self.big, self.small
        if b.bpw_body is not None and s.bpw_body is not None:
            return b.bpw_body, s.bpw_body, "non-embedding"
        if b.measured and s.measured:
            return (b.bpw, s.bpw, "overall") if b.bpw is not None and s.bpw is not None else None
        # One side known only from its label: an estimate stands for the transformer's weights, so the measured side
        # contributes its non-embedding figure when it has one.
        a = b.bpw_body if b.measured and b.bpw_body is not None else b.bpw
        c = s.bpw_body if s.measured and s.bpw_body is not None else s.bpw
        return (a, c, "estimated") if a is not None and c is not None else None

    @property
    def precision_basis(self) -> str | None:
        """Which bits-per-weight figures are compared: 'non-embedding', 'overall', 'estimated' or None."""
        pair = self._bits_pair()
        return pair[2] if pair else None

    @property
    def overall_precision(self) -> str | None:
        return _direction(self.big.bpw, self.small.bpw, BPW_SAME, relative=False)

    @property
    def precision(self) -> str | None:
        """'more' / 'fewer' / 'same' bits per weight for the big slot; 'mixed' when both files were read and the
        non-embedding and overall figures point in opposite directions."""
        pair = self._bits_pair()
        if pair is None:
            return None
        main = _direction(pair[0], pair[1], BPW_SAME, relative=False)
        if pair[2] == "non-embedding" and self.big.measured and self.small.measured:
            overall = self.overall_precision
            if overall is not None and main != overall and "same" not in (main, overall):
                return "mixed"
        return main

    @property
    def memory_basis(self) -> str | None:
        if self.big.memory is not None and self.small.memory is not None:
            return "RAM estimate (weights + KV cache + buffers)"
        if self.big.file_size is not None and self.small.file_size is not None:
            both = self.big.measured and self.small.measured
            return "file sizes" if both else "file sizes estimated from the catalog's params and quant"
        return None

    def _needs(self) -> tuple[int, int] | None:
        if self.big.memory is not None and self.small.memory is not None:
            return self.big.memory, self.small.memory
        if self.big.file_size and self.small.file_size:
            return self.big.file_size, self.small.file_size
        return None

    @property
    def memory_ratio(self) -> float | None:
        """The larger need over the smaller (>= 1), None if unknown."""
        needs = self._needs()
        if needs is None or min(needs) <= 0:
            return None
        return max(needs) / min(needs)

    @property
    def memory_matched(self) -> bool | None:
        r = self.memory_ratio
        return None if r is None else r <= 1.0 + self.tolerance + 1e-9

    @property
    def heavier(self) -> Contender:
        needs = self._needs()
        return self.big if needs is None or needs[0] >= needs[1] else self.small

    @property
    def intended(self) -> bool:
        """The matchup is what its slots claim: a bigger model at fewer bits per weight than the smaller one."""
        return self.size == "bigger" and self.precision == "fewer"

    # -- words ------------------------------------------------------------------------------------------------------
    @property
    def shape(self) -> str:
        """The pair in a few words, from the big slot's side, e.g. 'bigger model, more bits per weight'."""
        if self.intended:
            return "big-harsh vs small-light"
        if self.size == "smaller" and self.precision == "more":
            return "small-light vs big-harsh (the slots are swapped)"
        return f"{self._size_words(self.size)}, {self._precision_words(self.precision)}"

    @staticmethod
    def _size_words(size: str | None) -> str:
        return {"bigger": "bigger model", "smaller": "smaller model", "same": "same-size models"}.get(size or "", "size unknown")

    @staticmethod
    def _precision_words(precision: str | None) -> str:
        return {
            "more": "more bits per weight",
            "fewer": "fewer bits per weight",
            "same": "same bits per weight",
            "mixed": "more bits per weight by one measure and fewer by the other",
        }.get(precision or "", "bits per weight unknown")

    def role(self, model_id: str) -> str:
        """Short words for one contender, for the reveal: 'big model, harsh quant' only when that is true."""
        if self.intended:
            return "big model, harsh quant" if model_id == self.big.id else "small model, light quant"
        if model_id == self.big.id:
            size, prec = self.size, self.precision
        else:
            flip = {"bigger": "smaller", "smaller": "bigger", "more": "fewer", "fewer": "more"}
            size, prec = flip.get(self.size or "", self.size), flip.get(self.precision or "", self.precision)
        size_word = {"bigger": "bigger model", "smaller": "smaller model", "same": "same size"}.get(size or "", "size ?")
        prec_word = {
            "more": "more bits/weight", "fewer": "fewer bits/weight", "same": "same bits/weight", "mixed": "mixed bits/weight",
        }.get(prec or "", "bits/weight ?")  # fmt: skip
        return f"{size_word}, {prec_word}"

    def numbers(self, files: bool = True) -> str:
        """The figures behind the words: parameters, bits per weight (overall, non-embedding), sizes."""
        b, s = self.big, self.small
        parts = []
        if self.params_ratio is not None:
            parts.append(f"{self.params_ratio:.1f}x the parameters")
        if b.bpw is not None and s.bpw is not None:
            label = "bits/weight" if b.measured and s.measured else "bits/weight (estimated from the quant labels)"
            parts.append(f"{_bits(b.bpw, b.measured)} vs {_bits(s.bpw, s.measured)} {label}")
        if b.bpw_body is not None and s.bpw_body is not None:
            parts.append(f"{b.bpw_body:.2f} vs {s.bpw_body:.2f} without the embeddings")
        if files and b.file_size is not None and s.file_size is not None:
            parts.append(f"files {_gb(b.file_size, b.measured)} vs {_gb(s.file_size, s.measured)}")
        return "; ".join(parts)

    def summary(self) -> str:
        """One line: what the pair is, with numbers, e.g. for the statistics and `arena check`."""
        nums = self.numbers()
        return f"{self.big.name} vs {self.small.name}: {self.shape}" + (f" ({nums})" if nums else "")

    def memory_text(self) -> str | None:
        r = self.memory_ratio
        if r is None:
            return None
        heavy = self.heavier
        light = self.small if heavy is self.big else self.big
        tol = f"tolerance: within {self.tolerance:.0%}"
        if self.memory_matched:
            return f"memory-matched: {heavy.name} needs {r:.2f}x {light.name}'s RAM ({tol}; {self.memory_basis})"
        return f"not memory-matched: {heavy.name} needs {r:.1f}x {light.name}'s RAM ({tol}; {self.memory_basis})"

    def warnings(self) -> list[str]:
        """What `arena check` and the picker warn about; [] when the pair is big-harsh vs small-light and memory-matched."""
        out = []
        if not self.intended and self.size is not None and self.precision is not None:
            out.append(f"not big-harsh vs small-light: {self.summary()}")
        if self.memory_matched is False:
            out.append(self.memory_text() or "")
        return out

    def short_warnings(self) -> list[str]:
        """The same warnings in a few words (the picker's rows)."""
        out = []
        if not self.intended and self.size is not None and self.precision is not None:
            out.append(f"not big-harsh vs small-light: {self.big.name} is the {self.shape}")
        r = self.memory_ratio
        if self.memory_matched is False and r is not None:
            out.append(f"not memory-matched: {r:.1f}x the RAM of the other (tolerance {self.tolerance:.0%})")
        return out

    def verdict_note(self) -> str | None:
        """A sentence for the verdict when the pair does not test what its slots claim, or is not memory-matched;
        None when it is both."""
        parts = []
        if not self.intended and self.size is not None and self.precision is not None:
            parts.append(
                f"{self.big.name} is the {self.role(self.big.id).replace(', ', ' with ')} "
                f"({self.numbers(files=False)}): this matchup does not test big-harsh vs small-light"
            )
        r = self.memory_ratio
        if self.memory_matched is False and r is not None:
            heavy = self.heavier
            light = self.small if heavy is self.big else self.big
            parts.append(
                f"it is not memory-matched: {heavy.name} needs {r:.1f}x {light.name}'s RAM (tolerance {self.tolerance:.0%})"
            )
        if not parts:
            return None
        return "Note: " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "intended": self.intended,
            "size": self.size,
            "precision": self.precision,
            "precision_basis": self.precision_basis,
            "params_ratio": self.params_ratio,
            "memory_ratio": self.memory_ratio,
            "memory_matched": self.memory_matched,
            "memory_basis": self.memory_basis,
            "tolerance": self.tolerance,
            "roles": {self.big.id: self.role(self.big.id), self.small.id: self.role(self.small.id)},
            "summary": self.summary(),
        }


def compare(big: Contender, small: Contender, tolerance: float = MEMORY_TOLERANCE) -> Comparison:
    return Comparison(big, small, tolerance)
