"""The models a session plays and the engines loaded for them: a matchup's fixed pair, or a ladder's pair per round.

Textual-free; blocking calls (the TUI runs `open` and `prepare` in a worker thread). Lifecycle:
    lineup = Lineup.for_ladder(config, "demo-ladder", backend)
    lineup.open()                       # facts, which models are present, which pairs fit in memory together
    pair = lineup.draw(store_counts)    # a Matchup: record id + (big, small) of this round's pair
    contenders = lineup.prepare(pair)   # unload what the pair does not need, load what it lacks
The lineup owns the loaded engines (its `contenders` pool); `unload()` frees all of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from arena.battle.ladder import pair_roles, reveal_role
from arena.config.types import Config, Matchup, ModelSpec
from arena.engine.types import Engine
from arena.errors import MemoryRefused, ModelError, UsageError
from arena.models.backend import Backend
from arena.stats.counts import AggRow
from arena.records import ModelFacts

LoadProgress = Callable[[str, float, str], None]  # (model id, fraction, message)
PairChooser = Callable[[list[str], Sequence[AggRow], list[tuple[str, str]], random.Random], tuple[str, str]]


def _choose_pair(models: list[str], rows: Sequence[AggRow], allowed: list[tuple[str, str]],
                 rng: random.Random) -> tuple[str, str]:
    """arena.stats.pair_choice.choose_pair, imported when a ladder first draws: it imports numpy (~0.1 s), which a
    matchup never needs, before the TUI's first paint."""
    from arena.stats.pair_choice import choose_pair

    return choose_pair(models, rows, allowed, rng)


@dataclass
class Contenders:
    """Loaded engines and what we know about their models. `matchup`: the pair of the current round."""

    matchup: Matchup
    engines: dict[str, Engine]
    facts: dict[str, ModelFacts] = field(default_factory=dict)

    def pair(self, round_) -> tuple[Engine, Engine]:  # type: ignore[no-untyped-def]  # a battle.round.Round
        return self.engines[round_.models[0]], self.engines[round_.models[1]]

    def unload(self) -> None:
        for engine in list(self.engines.values()):
            try:
                engine.unload()
            except Exception:  # unloading must never mask the error that made us unload
                pass
        self.engines.clear()


class Lineup:
    def __init__(
        self,
        config: Config,
        record_id: str,
        models: Sequence[str],
        backend: Backend,
        *,
        fixed: Matchup | None = None,
        description: str = "",
        budget_gb: float | None = None,
        force: bool = False,
        rng: random.Random | None = None,
        chooser: PairChooser | None = None,
    ) -> None:
        self.config = config
        self.record_id = record_id  # stored as the votes' matchup_id
        self.models = list(models)
        self.backend = backend
        self.fixed = fixed  # a matchup: the one pair, roles as written
        self.description = description
        self.budget_gb = budget_gb
        self.force = force
        self.rng = rng or random.Random()
        self.chooser = chooser or _choose_pair
        self.candidates: list[tuple[str, str]] = []  # pairs that can play: both present, fit in memory together
        self.absent: list[str] = []  # models not on disk (their pairs are skipped)
        self.note: str | None = None  # to show once: a forced memory refusal, skipped models
        self.keep_all = False  # every present model fits at once: nothing is ever unloaded between rounds
        self.contenders: Contenders | None = None
        self._opened = False

    # -- construction -------------------------------------------------------------------------------------------------
    @classmethod
    def for_matchup(cls, config: Config, matchup_id: str, backend: Backend, *, force: bool = False) -> Lineup:
        m = config.matchups[matchup_id]
        return cls(config, m.id, [m.big, m.small], backend, fixed=m, description=m.description, budget_gb=m.budget_gb, force=force)

    @classmethod
    def for_ladder(
        cls, config: Config, ladder_id: str, backend: Backend, *, force: bool = False, rng: random.Random | None = None,
        chooser: PairChooser | None = None,
    ) -> Lineup:
        if ladder_id not in config.ladders:
            from arena.config.yamlsafe import suggest

            raise UsageError(f"There is no ladder '{ladder_id}' in {config.path}.{suggest(ladder_id, config.ladders)}",
                             f"pick one of: {', '.join(config.ladders) or '(none defined: add a ladders: list to models.yaml)'}")
        lad = config.ladders[ladder_id]
        return cls(config, lad.id, lad.models, backend, description=lad.description, budget_gb=lad.budget_gb, force=force, rng=rng, chooser=chooser)

    @property
    def is_ladder(self) -> bool:
        return self.fixed is None

    def spec(self, model_id: str) -> ModelSpec:
        return self.config.model(model_id)

    # -- open: facts and feasibility ----------------------------------------------------------------------------------
    def open(self) -> None:
        """Read facts, find the playable pairs. Raises ModelError (MemoryRefused: can be forced) when none can play."""
        specs = [self.spec(m) for m in self.models]
        facts = {s.id: self.backend.facts_for(s) for s in specs}
        self.contenders = Contenders(matchup=self.fixed or Matchup(self.record_id, self.models[0], self.models[1]), engines={}, facts=facts)
        if self.fixed is not None:
            # A matchup: the pair as written. An absent model fails later, at load, with its own `arena pull` fix.
            self.note = self.backend.preflight(specs, force=self.force)
            self.candidates = [(self.fixed.big, self.fixed.small)]
            self.keep_all = True
            self._opened = True
            return

        present = [s for s in specs if self.backend.is_present(s)]
        self.absent = [s.id for s in specs if s not in present]
        if len(present) < 2:
            raise ModelError(
                f"Ladder '{self.record_id}' has {len(present)} of its {len(specs)} models on disk; a round needs two "
                f"(missing: {', '.join(self.absent)})",
                f"run `arena pull {self.record_id}` (it downloads or builds every model of the ladder)",
            )
        notes: list[str] = []
        if self.absent:
            notes.append(f"not on disk, left out until `arena pull {self.record_id}`: {', '.join(self.absent)}")
        refused: list[MemoryRefused] = []
        fits: list[tuple[str, str]] = []
        for a, b in combinations([s.id for s in present], 2):
            try:
                self.backend.preflight([self.spec(a), self.spec(b)], force=False)
                fits.append((a, b))
            except MemoryRefused as exc:
                refused.append(exc)
        if fits:
            self.candidates = fits
            if refused:
                notes.append(f"{len(refused)} of {len(fits) + len(refused)} pairs do not fit in memory together and are skipped")
        elif self.force:
            self.candidates = list(combinations([s.id for s in present], 2))
            notes.append("loading anyway (--force): " + refused[0].message)
        else:
            raise MemoryRefused(f"No pair of ladder '{self.record_id}' fits in memory together. {refused[0].message}", refused[0].fix)
        try:
            self.backend.preflight(present, force=False)
            self.keep_all = True
        except MemoryRefused:
            self.keep_all = False
        self.note = "; ".join(notes) or None
        self._opened = True

    # -- rounds -------------------------------------------------------------------------------------------------------
    def draw(self, counts: Sequence[AggRow] = ()) -> Matchup:
        """The next round's pair as a Matchup (id = the record id, big/small by pair_roles). `counts`: the votes so far
        (arena.stats.counts.AggRow rows, any matchup), which steer a ladder toward its least certain pairs."""
        if not self._opened:
            self.open()
        if self.fixed is not None:
            return self.fixed
        a, b = self.chooser(list(self.models), counts, list(self.candidates), self.rng)
        assert self.contenders is not None
        big, small = pair_roles(a, b, self.config.models, self.contenders.facts, self.models)
        return Matchup(id=self.record_id, big=big, small=small, description=self.description, budget_gb=self.budget_gb)

    def role_of(self, pair: Matchup, model_id: str) -> str:
        """What the reveal calls this model: "big"/"small" (a matchup: as written), or for a ladder pair of one size
        "harsh"/"light"."""
        role = "big" if model_id == pair.big else "small"
        if self.fixed is not None or self.contenders is None:
            return role
        return reveal_role(role, pair.big, pair.small, self.config.models, self.contenders.facts)

    def loaded(self) -> list[str]:
        return list(self.contenders.engines) if self.contenders is not None else []

    def missing(self, pair: Matchup) -> list[str]:
        """Models of the pair that are not loaded yet."""
        have = self.loaded()
        return [m for m in (pair.big, pair.small) if m not in have]

    def prepare(self, pair: Matchup, progress: LoadProgress | None = None) -> Contenders:
        """Make exactly what the pair needs resident: unload the others first (memory), keep what is already loaded."""
        if not self._opened:
            self.open()
        pool = self.contenders
        assert pool is not None
        needed = (pair.big, pair.small)
        if not self.keep_all:
            for model_id in [m for m in pool.engines if m not in needed]:
                engine = pool.engines.pop(model_id)
                try:
                    engine.unload()
                except Exception:  # a failed unload must not stop the next round
                    pass
        try:
            for model_id in needed:
                if model_id in pool.engines:
                    continue
                engine = self.backend.engine_for(self.spec(model_id))

                def report(fraction: float, message: str, _id: str = model_id) -> None:
                    if progress is not None:
                        progress(_id, fraction, message)

                report(0.0, "loading")
                engine.load(report)
                report(1.0, "ready")
                pool.engines[model_id] = engine
        except BaseException:
            self.unload()
            raise
        pool.matchup = pair
        return pool

    def unload(self) -> None:
        if self.contenders is not None:
            self.contenders.unload()
