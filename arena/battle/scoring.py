"""`arena score`'s job: score texts through every contender, with KL against the best same-tokenizer quant, cached.

Plan (cheap, no weights loaded): every model's vocabulary is loaded alone to hash its token list and tokenize the
texts. Models with equal vocabulary hashes form a group; in a group of two or more, the model with the most bits per
weight (ties: the larger file) is the reference, and every other member is scored in lockstep with it (exact KL, see
arena.engine.scoring). The reference's own log-probabilities come out of that lockstep pass for free. Models alone in
their group get a single pass. Rows already in the cache (same model file, text, settings, reference file) are not
recomputed: a re-run only reads the database.

Memory: a single pass holds one model; a lockstep pass holds the reference and one other model at a time.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arena.config.types import Config, ModelSpec, RemoteSource
from arena.engine.scoring import (
    ScoringModel,
    Vocabulary,
    batch_for_vocab,
    plan_windows,
    score_pair,
    score_tokens,
)
from arena.errors import ModelError, UsageError
from arena.records.score import ModelScore, ScoreSettings, TextScore
from arena.stats.objective import combine
from arena.store import VoteStore
from arena.store.scores import get_score, put_scores

DEFAULT_WINDOW = 1024
ScoreProgress = Callable[[float, float | None, str], None]  # (fraction 0..1, ETA seconds or None, what is running)


@dataclass(frozen=True)
class ScoreText:
    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class Contender:
    id: str
    label: str
    path: Path
    fingerprint: str
    bits_per_weight: float
    file_size: int
    context_length: int | None
    n_gpu_layers: int = 0


def contender(spec: ModelSpec, config: Config) -> Contender:
    """A model of the catalog that is on disk (ModelError naming `arena pull` otherwise)."""
    from arena.models.facts import fingerprint
    from arena.models.resolve import resolve

    if isinstance(spec.source, RemoteSource):
        raise UsageError(
            f"Model '{spec.id}' is served remotely ({spec.source.base_url}); scoring needs every token's logits, which "
            "an OpenAI-compatible server does not return",
            "score local GGUF models only (leave the remote model out of the target)",
        )
    r = resolve(spec, config)
    if r.path is None or r.facts is None:
        raise ModelError(f"Model '{spec.id}' is not on disk", f"run `arena pull {spec.id}`")
    return Contender(
        id=spec.id, label=spec.label, path=r.path, fingerprint=fingerprint(r.path), bits_per_weight=r.facts.bits_per_weight,
        file_size=r.facts.file_size, context_length=r.facts.context_length, n_gpu_layers=spec.n_gpu_layers,
    )  # fmt: skip


def texts_from_files(paths: Sequence[str | Path]) -> list[ScoreText]:
    out = []
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"Cannot read the text file {path}: {exc.strerror or exc}", "give the path of a readable text file") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"The text file {path} is not UTF-8 (byte {exc.start} cannot be decoded)",
                "convert it to UTF-8 (e.g. `iconv -t utf-8`), bits per byte counts UTF-8 bytes",
            ) from None
        if not text.strip():
            raise UsageError(f"The text file {path} is empty", "give a file with some text in it")
        out.append(ScoreText(path.name, text))
    return out


def texts_from_suite(name: str) -> list[ScoreText]:
    """The suite's prompts that carry a reference answer (`notes`), each as "prompt\\n\\nreference answer"."""
    from arena.prompts.suite import load_suite

    suite = load_suite(name)
    texts = [ScoreText(p.id, f"{p.prompt.strip()}\n\n{p.notes.strip()}\n") for p in suite.prompts if p.notes and p.notes.strip()]
    if not texts:
        raise UsageError(f"The prompt suite '{name}' has no prompts with a reference answer (notes)", "pick another suite or give --text FILE")
    return texts


@dataclass
class _Group:
    vocab_hash: str
    members: list[Contender]
    reference: Contender | None  # None: a group of one (no KL)
    window: int
    n_batch: int
    add_bos: bool
    tokens: dict[str, list[int]] = field(default_factory=dict)  # text sha -> tokens
    scored_bytes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Job:
    group: _Group
    models: tuple[Contender, ...]  # (model,) or (reference, model)
    texts: list[ScoreText]
    decode_tokens: int  # tokens llama.cpp will decode for this job (all its models), for progress


def _settings(group: _Group, stride: int | None) -> ScoreSettings:
    room = group.window - (1 if group.add_bos else 0)
    s = stride if stride is not None else max(1, room // 2)
    return ScoreSettings(window=group.window, stride=min(s, room - 1), n_batch=group.n_batch)


class ScoreRun:
    """Plan and run one `arena score`. Blocking; `cancel()` polled between batches; `progress` gets fraction + ETA."""

    def __init__(
        self,
        contenders: Sequence[Contender],
        texts: Sequence[ScoreText],
        store: VoteStore,
        *,
        window: int = DEFAULT_WINDOW,
        stride: int | None = None,
        n_batch: int | None = None,
        threads: int = 1,
        progress: ScoreProgress | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        if window < 8:
            raise UsageError(f"--window {window} is too small", "use at least 8 tokens (default 1024)")
        if stride is not None and stride < 1:
            raise UsageError(f"--stride {stride} must be positive", "use e.g. half the window")
        ids = [c.id for c in contenders]
        if len(set(ids)) != len(ids):
            contenders = list({c.id: c for c in contenders}.values())
        self.contenders = list(contenders)
        self.texts = list(texts)
        self.store = store
        self.window = window
        self.stride = stride
        self.n_batch = n_batch
        self.threads = threads
        self.progress = progress
        self.cancel = cancel
        self.cached = 0  # (model, text) rows read from the cache
        self.computed = 0
        self._groups: list[_Group] = []

    # -- planning --------------------------------------------------------------------------------------------------
    def _plan_groups(self) -> list[_Group]:
        by_hash: dict[str, list[tuple[Contender, Vocabulary]]] = {}
        vocabs: list[Vocabulary] = []
        try:
            for c in self.contenders:
                v = Vocabulary(c.path)
                vocabs.append(v)
                by_hash.setdefault(v.hash, []).append((c, v))
            groups = []
            for vhash, members in by_hash.items():
                models = [c for c, _ in members]
                v = members[0][1]
                ref = max(models, key=lambda c: (c.bits_per_weight, c.file_size, c.id)) if len(models) > 1 else None
                window = min([self.window, *(c.context_length for c in models if c.context_length)])
                n_batch = min(self.n_batch or batch_for_vocab(v.n_vocab), window)
                g = _Group(vhash, models, ref, window, n_batch, v.add_bos)
                for t in self.texts:
                    toks = v.tokenize(t.text)
                    g.tokens[t.sha256] = toks
                    g.scored_bytes[t.sha256] = v.scored_bytes(t.text, toks)
                groups.append(g)
            return groups
        finally:
            for v in vocabs:
                v.close()

    def _row_key(self, g: _Group, c: Contender) -> str:
        return g.reference.fingerprint if g.reference is not None and c.id != g.reference.id else ""

    def _cached(self, g: _Group, c: Contender, t: ScoreText) -> TextScore | None:
        return get_score(self.store, c.fingerprint, t.sha256, _settings(g, self.stride).key(), self._row_key(g, c))

    def _decode_tokens(self, g: _Group, t: ScoreText) -> int:
        s = _settings(g, self.stride)
        return sum(w.end - w.start + (1 if g.add_bos else 0) for w in plan_windows(len(g.tokens[t.sha256]), g.window, s.stride, bos=g.add_bos))

    def _jobs(self, groups: list[_Group]) -> list[_Job]:
        jobs: list[_Job] = []
        for g in groups:
            ref = g.reference
            ref_done: set[str] = set()
            if ref is not None:
                for m in g.members:
                    if m.id == ref.id:
                        continue
                    todo = [t for t in self.texts if self._cached(g, m, t) is None]
                    if todo:
                        jobs.append(_Job(g, (ref, m), todo, 2 * sum(self._decode_tokens(g, t) for t in todo)))
                        ref_done.update(t.sha256 for t in todo)
            for m in g.members:
                if ref is not None and m.id != ref.id:
                    continue
                todo = [t for t in self.texts if t.sha256 not in ref_done and self._cached(g, m, t) is None]
                if todo:
                    jobs.append(_Job(g, (m,), todo, sum(self._decode_tokens(g, t) for t in todo)))
        return jobs

    # -- running ---------------------------------------------------------------------------------------------------
    def run(self) -> list[ModelScore]:
        self._report(0.0, None, "reading tokenizers")
        self._groups = groups = self._plan_groups()
        jobs = self._jobs(groups)
        total = sum(j.decode_tokens for j in jobs) or 1
        done = 0
        start = time.monotonic()

        def advance(n: int) -> None:
            nonlocal done
            done += n
            elapsed = time.monotonic() - start
            eta = elapsed / done * (total - done) if done else None
            self._report(min(1.0, done / total), eta, current)

        current = ""
        for job in jobs:
            current = " vs ".join(c.id for c in job.models) if len(job.models) > 1 else job.models[0].id
            self._run_job(job, advance)
        self._report(1.0, 0.0, "done")
        return self.results()

    def _run_job(self, job: _Job, advance: Callable[[int], None]) -> None:
        g = job.group
        s = _settings(g, self.stride)
        loaded = [ScoringModel(c.id, c.path, window=g.window, n_batch=g.n_batch, n_threads=self.threads, n_gpu_layers=c.n_gpu_layers) for c in job.models]
        try:
            for m in loaded:
                m.load()
            for t in job.texts:
                tokens = g.tokens[t.sha256]
                n_bytes = g.scored_bytes[t.sha256]
                rows: list[TextScore] = []
                if len(loaded) == 1:
                    (c,) = job.models
                    lp = score_tokens(loaded[0], tokens, s.stride, cancel=self.cancel, advance=advance)
                    rows.append(self._row(c, t, s, lp, n_bytes))
                else:
                    ref, c = job.models
                    ref_lp, lp, kl, same = score_pair(loaded[0], loaded[1], tokens, s.stride, cancel=self.cancel, advance=advance)
                    rows.append(self._row(ref, t, s, ref_lp, n_bytes))
                    rows.append(self._row(c, t, s, lp, n_bytes, reference=ref, kl=kl, same=int(same.sum())))
                put_scores(self.store, rows)  # whole (model, text) rows only: an interrupt never stores half a pass
                self.computed += 1
        finally:
            for m in loaded:
                m.close()

    @staticmethod
    def _row(
        c: Contender, t: ScoreText, s: ScoreSettings, logprobs: object, n_bytes: int,
        *, reference: Contender | None = None, kl: object = None, same: int | None = None,
    ) -> TextScore:  # fmt: skip
        import numpy as np

        lp = np.asarray(logprobs, dtype=np.float64)
        return TextScore(
            model_id=c.id, fingerprint=c.fingerprint, text_sha256=t.sha256, text_name=t.name, settings=s.key(),
            tokens=int(lp.size), bytes=n_bytes, nll_nats=float(-lp.sum()),
            reference_id=reference.id if reference else None,
            reference_fingerprint=reference.fingerprint if reference else "",
            kld=array("f", np.asarray(kl, dtype=np.float32).tobytes()) if kl is not None else None, same_top=same,
        )  # fmt: skip

    def results(self) -> list[ModelScore]:
        """Each contender over all texts, from the cache (filled by run())."""
        out = []
        for g in self._groups:
            for c in g.members:
                rows = []
                for t in self.texts:
                    row = self._cached(g, c, t)
                    if row is None:  # pragma: no cover - run() computed every missing row
                        raise ModelError(f"No score for {c.id} on {t.name} after the run", "report this as a bug")
                    rows.append(row)
                is_ref = g.reference is not None and c.id == g.reference.id
                out.append(combine(c.id, rows, label=c.label, is_reference=is_ref, bits_per_weight=c.bits_per_weight))
        order = {c.id: i for i, c in enumerate(self.contenders)}
        return sorted(out, key=lambda s: order[s.id])

    def _report(self, fraction: float, eta: float | None, message: str) -> None:
        if self.progress is not None:
            self.progress(fraction, eta, message)
