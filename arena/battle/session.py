"""Bring a matchup to life and keep the evidence: check memory, load engines (through the backend), save votes.

Shared by the TUI and the CLI. Blocking calls; the TUI runs them in worker threads.
"""

from __future__ import annotations

from arena.battle.lineup import Contenders, LoadProgress, Lineup
from arena.battle.round import Round
from arena.config.types import Config
from arena.models.backend import Backend, ModelBackend
from arena.prompts.checks import run_check
from arena.prompts.types import Prompt
from arena.records import BattleRecord, ModelFacts, Vote
from arena.store import VoteStore

__all__ = ["Contenders", "LoadProgress", "load_contenders", "objective_checks", "save_vote"]


def load_contenders(
    config: Config,
    matchup_id: str,
    *,
    force: bool = False,
    progress: LoadProgress | None = None,
    backend: Backend | None = None,
) -> Contenders:
    """Preflight, facts and engines for a matchup's two models, through the backend (the real one by default)."""
    lineup = Lineup.for_matchup(config, matchup_id, backend or ModelBackend(config), force=force)
    return lineup.prepare(lineup.draw(), progress)


def objective_checks(round_: Round, prompt: Prompt | None) -> tuple[dict | None, dict | None]:
    """Run the suite prompt's objective check (if any) on each side's final answer. Stored beside the human vote."""
    if prompt is None or prompt.check is None:
        return None, None
    out: list[dict | None] = []
    for side in (0, 1):
        answers = round_.answers(side)
        result = run_check(prompt.check, answers[-1] if answers else "")
        out.append({"type": prompt.check.type, "passed": result.passed, "detail": result.detail})
    return out[0], out[1]


def save_vote(
    store: VoteStore,
    round_: Round,
    outcome: Vote,
    facts: dict[str, ModelFacts],
    *,
    prompt: Prompt | None = None,
    voter: str | None = None,
) -> BattleRecord:
    """Record the vote; returns only after the store committed it. Only then is the round closed."""
    checks = objective_checks(round_, prompt)
    record = round_.vote(outcome, voter=voter, checks=checks)
    store.record_vote(record, facts)
    round_.mark_saved(record)
    return record
