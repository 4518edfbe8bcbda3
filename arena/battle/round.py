"""One blind round: random sides, the shared conversation, seeds per request, the vote -> BattleRecord.

Pure state, no threads and no I/O: `runner` drives engines through it, the TUI and CLI read it.
Side 0 is pane A (left), side 1 is pane B (right). Which model sits where is drawn per round.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import Enum

from arena import __version__
from arena.records import BattleRecord, SideRecord, Vote
from arena.config.types import DisplayPolicy, Matchup, Sampling
from arena.engine.types import ChatParams, Failed, Finished, Message, Timings
from arena.prompts.leaks import find_leaks

SIDE_LABELS = ("A", "B")


class TurnState(str, Enum):
    IDLE = "idle"  # no turn yet, or the last turn is complete on both sides
    RUNNING = "running"


@dataclass
class SideTurn:
    seed: int
    text: str = ""
    reason: str | None = None  # None while running; stop / length / cancelled / error
    timings: Timings | None = None
    error: str | None = None  # the detail (model id, URL, server's words): after the vote only, and stored
    public_error: str | None = None  # "Side B failed: <symmetric reason>": all that is shown before the vote
    truncated_turns: int = 0

    @property
    def done(self) -> bool:
        return self.reason is not None


@dataclass
class Turn:
    user: str
    sides: tuple[SideTurn, SideTurn]
    # The order in which the sides run when the schedule is sequential: drawn per turn, independently of which pane holds
    # which model (see `draw_run_order`), and never shown before the vote.
    run_order: tuple[int, int] = (0, 1)


def draw_run_order(rng: random.Random, models: tuple[str, str]) -> tuple[int, int]:
    """Which side runs first under a sequential schedule.

    Under the paced display both panes stay blank until the second model starts, so the blank wait is the first
    model's whole generation time. If pane A always ran first, a long wait would mean "A is the slow one". The draw
    shuffles the *models* (sorted by id, so the draw does not depend on which pane each model sits in) and maps them to
    their sides: which side runs first is then a fair coin independent of the side assignment, and for a given random
    state the same model runs first whichever pane it sits in.
    """
    order = sorted(models)
    rng.shuffle(order)
    first = models.index(order[0])
    return (first, 1 - first)


def _names(text: str, model_id: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(model_id)}(?![\w-])", text, re.IGNORECASE) is not None


def _timings_entry(st: SideTurn) -> dict:
    entry = (st.timings or Timings()).to_dict()
    if st.error is not None:
        entry["error"] = st.error
    return entry


def sampling_to_params(sampling: Sampling, seed: int) -> ChatParams:
    return ChatParams(
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
        repeat_penalty=sampling.repeat_penalty,
        max_tokens=sampling.max_tokens,
        seed=seed,
    )


@dataclass
class Round:
    matchup: Matchup
    sampling: tuple[Sampling, Sampling]  # per side, in side order (already assigned)
    models: tuple[str, str]  # model id per side
    policy: DisplayPolicy
    system_prompt: str | None = None
    category: str = "uncategorized"
    suite_id: str | None = None
    prompt_id: str | None = None
    rng: random.Random = field(default_factory=random.Random)
    turns: list[Turn] = field(default_factory=list)
    voted: BattleRecord | None = None
    discarded: bool = False  # a failed round the person dropped: never a vote; its identities and details may be shown

    @classmethod
    def new(
        cls,
        matchup: Matchup,
        sampling_by_model: dict[str, Sampling],
        policy: DisplayPolicy,
        *,
        rng: random.Random | None = None,
        system_prompt: str | None = None,
        category: str = "uncategorized",
        suite_id: str | None = None,
        prompt_id: str | None = None,
    ) -> Round:
        rng = rng or random.Random()
        models = [matchup.big, matchup.small]
        rng.shuffle(models)  # the blind draw: which model sits in pane A
        return cls(
            matchup=matchup,
            sampling=(sampling_by_model[models[0]], sampling_by_model[models[1]]),
            models=(models[0], models[1]),
            policy=DisplayPolicy(policy),
            system_prompt=system_prompt,
            category=category,
            suite_id=suite_id,
            prompt_id=prompt_id,
            rng=rng,
        )

    # --- turns -------------------------------------------------------------------------------------------------------
    @property
    def state(self) -> TurnState:
        if self.turns and not all(s.done for s in self.turns[-1].sides):
            return TurnState.RUNNING
        return TurnState.IDLE

    @property
    def failed_sides(self) -> tuple[int, ...]:
        """Sides whose answer failed (timeout, refused connection, context overflow, crash) in any turn of the round."""
        return tuple(side for side in (0, 1) if any(t.sides[side].reason == "error" for t in self.turns))

    @property
    def can_vote(self) -> bool:
        """Voting opens when both answers of the last turn are finished or stopped, and not yet voted.

        Never while a side has failed: a failure is not a worse answer (a server outage must not become "model X wins"),
        so such a round is retried (`regenerate`) or discarded, and nothing about it reaches the statistics."""
        return bool(self.turns) and self.state is TurnState.IDLE and self.voted is None and not self.failed_sides

    def _seed(self, side: int) -> int:
        fixed = self.sampling[side].seed
        return fixed if fixed is not None else self.rng.randrange(1, 2**31 - 1)

    def start_turn(self, user_text: str) -> tuple[list[Message], list[Message]]:
        """Begin a turn; returns the conversation each side must answer (each side sees only its own past answers)."""
        if self.voted is not None:
            raise RuntimeError("round already voted")
        if self.state is TurnState.RUNNING:
            raise RuntimeError("a turn is still running")
        if self.failed_sides:
            raise RuntimeError("a side failed: regenerate the last turn or discard the round")
        sides = (SideTurn(seed=self._seed(0)), SideTurn(seed=self._seed(1)))
        self.turns.append(Turn(user=user_text, sides=sides, run_order=draw_run_order(self.rng, self.models)))
        return self.messages_for(0), self.messages_for(1)

    def regenerate(self) -> tuple[list[Message], list[Message]]:
        """Rerun the last turn on both sides with fresh seeds."""
        if not self.turns or self.state is TurnState.RUNNING or self.voted is not None:
            raise RuntimeError("nothing to regenerate")
        last = self.turns.pop()
        if self.failed_sides:  # an earlier turn failed too (cannot happen through start_turn): put it back, refuse
            self.turns.append(last)
            raise RuntimeError("an earlier turn failed")
        return self.start_turn(last.user)

    def params_for(self, side: int) -> ChatParams:
        return sampling_to_params(self.sampling[side], self.turns[-1].sides[side].seed)

    def messages_for(self, side: int) -> list[Message]:
        msgs: list[Message] = []
        if self.system_prompt:
            msgs.append({"role": "system", "content": self.system_prompt})
        for i, turn in enumerate(self.turns):
            msgs.append({"role": "user", "content": turn.user})
            st = turn.sides[side]
            if i < len(self.turns) - 1 or st.done:
                if st.text:
                    msgs.append({"role": "assistant", "content": st.text})
        return msgs

    def add_text(self, side: int, text: str) -> None:
        self.turns[-1].sides[side].text += text

    def finish(self, side: int, event: Finished | Failed) -> None:
        st = self.turns[-1].sides[side]
        if isinstance(event, Finished):
            st.reason = event.reason
            st.timings = event.timings
            st.truncated_turns = event.truncated_turns
        else:
            st.reason = "error"
            st.error = event.error.render_exact()  # exact; drawn only through the sanitizer
            st.public_error = f"Side {SIDE_LABELS[side]} failed: {event.error.public}"

    def cut_to_shown(self, shown: tuple[int, int]) -> None:
        """End each answer of the last turn at what the person was shown (a stop under the paced display).

        An answer cut short is marked stopped ("cancelled"), even if its model had already finished: the stored answer
        is exactly what was on screen, and its end is the person's stop, not the model's."""
        for side, limit in enumerate(shown):
            st = self.turns[-1].sides[side]
            if len(st.text) > limit:
                st.text = st.text[:limit]
                if st.reason != "error":
                    st.reason = "cancelled"

    @property
    def last_errors(self) -> list[tuple[int, str]]:
        """(side, text) of the last turn's failures, as they may be shown while the round is blind: model-free."""
        if not self.turns:
            return []
        return [(i, s.public_error or f"Side {SIDE_LABELS[i]} failed") for i, s in enumerate(self.turns[-1].sides)
                if s.reason == "error"]

    def error_details(self, side: int) -> list[str]:
        """Every failure of `side` in this round with its detail (names, URLs, sizes): for after the vote only."""
        return [f"turn {n}: {t.sides[side].error}" for n, t in enumerate(self.turns, 1) if t.sides[side].error]

    def shown_before_vote(self) -> list[str]:
        """Text this program drew from the round before the vote besides the answers: the public error lines."""
        return [s.public_error for t in self.turns for s in t.sides if s.public_error]

    # --- vote --------------------------------------------------------------------------------------------------------
    def answers(self, side: int) -> list[str]:
        return [t.sides[side].text for t in self.turns]

    def leak_terms(self) -> list[str]:
        found: list[str] = []
        for side in (0, 1):
            for text in self.answers(side):
                for term in find_leaks(text):
                    if term not in found:
                        found.append(term)
        # Errors are shown by their public, model-free text; should one ever name a model (a family, or this round's
        # model ids), the blind is broken just as by an answer that names itself.
        for text in self.shown_before_vote():
            terms = find_leaks(text) + [m for m in self.models if _names(text, m)]
            for term in terms:
                if term not in found:
                    found.append(term)
        return found

    def side_record(self, side: int, checks: dict | None = None) -> SideRecord:
        sampling = self.params_for(side).to_dict()
        sampling.pop("seed", None)
        return SideRecord(
            model_id=self.models[side],
            messages=self.messages_for(side),
            sampling=sampling,
            seeds=[t.sides[side].seed for t in self.turns],
            # A failed turn's detail rides in its timings entry ("error"): kept exactly, shown in the reveal.
            timings=[_timings_entry(t.sides[side]) for t in self.turns],
            finish_reasons=[t.sides[side].reason or "error" for t in self.turns],
            stopped=any(t.sides[side].reason == "cancelled" for t in self.turns),
            checks=checks,
        )

    def vote(
        self,
        outcome: Vote,
        *,
        voter: str | None = None,
        checks: tuple[dict | None, dict | None] = (None, None),
    ) -> BattleRecord:
        """Build the record for this vote. The caller stores it; only then is the round closed (`mark_saved`)."""
        if not self.can_vote:
            raise RuntimeError("voting is not open")
        leaks = self.leak_terms()
        return BattleRecord(
            matchup_id=self.matchup.id,
            big_model=self.matchup.big,
            small_model=self.matchup.small,
            side_a=self.side_record(0, checks[0]),
            side_b=self.side_record(1, checks[1]),
            outcome=Vote(outcome),
            display_policy=self.policy.value,
            identity_leak=bool(leaks),
            leak_terms=leaks,
            category=self.category,
            suite_id=self.suite_id,
            prompt_id=self.prompt_id,
            voter=voter,
            app_version=__version__,
        )

    def mark_saved(self, record: BattleRecord) -> None:
        self.voted = record

    def role_of(self, side: int) -> str:
        """'big' or 'small': revealed only after the vote."""
        return "big" if self.models[side] == self.matchup.big else "small"
