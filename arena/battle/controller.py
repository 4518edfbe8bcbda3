"""The round controller: the rules of a round, without a screen.

What may be pressed when, when voting opens, what a prompt, stop, regenerate, new round and a vote do, and what a
round where a side failed allows. The arena screen (`arena.tui.screens.arena`) forwards keys here and draws what this
says; a CLI or a test drives the same rules without Textual.

Threads: everything here runs on the caller's (UI) thread except the `TurnRunner` it starts, which mutates the round
and the pacer from its own thread and reports the end through the `on_done` callback the caller passes; the caller hands
that over to its thread and then calls `runner_finished()`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from arena.battle.pacing import Pacer
from arena.battle.round import SIDE_LABELS, Round
from arena.battle.runner import TurnRunner
from arena.battle.session import Contenders, save_vote
from arena.config.types import Config, DisplayPolicy, Schedule
from arena.engine.types import Message
from arena.errors import ArenaError
from arena.prompts.types import Prompt
from arena.records import BattleRecord, Vote
from arena.store import VoteStore

# A prompt longer than this is refused with a message. 256 KiB holds a 200 KB pasted document (the largest paste seen in
# the audit) with room to spare, and is far above any context window the demo models have (they say so themselves when
# the prompt does not fit); it bounds what one keypress-flood or paste can make the app hold and send.
MAX_PROMPT_CHARS = 256 * 1024

# Why the statistics key answers with a message instead of the statistics (see RoundController.refusal).
STATS_LOCKED = ("The team host locked the statistics for this session (--lock-stats): they are not shown to voters. "
                "The host reads them with `arena stats` on the machine that keeps the votes.")
STATS_AFTER_VOTE = ("Statistics open after your vote: in a team arena nobody sees results while a round waits for "
                    "their vote. Vote (1-4), or skip the round (n twice), then press s.")

POLICY_CYCLE = (DisplayPolicy.PACED, DisplayPolicy.WHOLE, DisplayPolicy.LIVE)
VOTE_ACTIONS: dict[str, Vote] = {"vote_a": Vote.A, "vote_b": Vote.B, "vote_tie": Vote.TIE, "vote_bad": Vote.BOTH_BAD}


class Phase(str, Enum):
    LOADING = "loading"  # the models are loading
    LOAD_FAILED = "load_failed"
    PROMPT = "prompt"  # a round without a turn: waiting for a prompt
    ANSWERING = "answering"  # the engines run
    REVEALING = "revealing"  # both engines are done; the display is still showing text at the shared pace
    VOTING = "voting"  # the turn is complete and drawn: vote, follow up or regenerate
    FAILED = "failed"  # the turn is complete and drawn, and a side failed: retry or discard, no vote
    VOTED = "voted"
    DISCARDED = "discarded"  # a failed round was dropped: its models and error details are shown, nothing is stored


class NewRound(str, Enum):
    START = "start"  # go ahead
    CONFIRM = "confirm"  # the round has answers and no vote: ask for a second `n`
    BUSY = "busy"  # the engines still run
    DISCARD = "discard"  # a side failed: drop the round (not a vote) and show what happened; the next `n` starts anew


@dataclass(frozen=True)
class PromptCheck:
    """A prompt accepted as `text`, or refused with `reason` (words for the person, model-free)."""

    text: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


class RoundController:
    def __init__(
        self,
        config: Config,
        matchup_id: str,
        *,
        rng: random.Random | None = None,
        policy: DisplayPolicy = DisplayPolicy.PACED,
        clock: Callable[[], float] = time.monotonic,
        max_prompt_chars: int = MAX_PROMPT_CHARS,
        team: bool = False,
        stats_locked: bool = False,
    ) -> None:
        self.config = config
        self.matchup_id = matchup_id
        self.rng = rng or random.Random()
        self.policy = DisplayPolicy(policy)
        self.schedule: Schedule = config.schedule_for(matchup_id)
        self.max_prompt_chars = max_prompt_chars
        # A team arena: several voters on one vote store. Results (statistics, anyone's votes) must not sway a vote, so
        # they stay closed while this voter's round waits for a vote; the host may also lock them for the session.
        self.team = team
        self.stats_locked = stats_locked
        self._clock = clock
        self.contenders: Contenders | None = None
        self.load_error: ArenaError | None = None
        self.round: Round | None = None
        self.runner: TurnRunner | None = None
        self.pacer: Pacer | None = None
        self.prompt: Prompt | None = None  # the suite prompt of this round, if any
        self.last_record: BattleRecord | None = None
        self.round_no = 0
        self.turn_done_pending = False  # the runner finished; the display may still be revealing
        self.turn_shown = False  # the last turn is finished on both sides AND fully drawn
        self._skip_armed = False  # `n` pressed once on an unvoted round: a second `n` skips it

    # --- loading -----------------------------------------------------------------------------------------------------
    def loaded(self, contenders: Contenders) -> None:
        self.contenders = contenders
        self.load_error = None

    def between_pairs(self) -> None:
        """A ladder loads the next round's pair: nothing of the last round stays playable meanwhile."""
        self.contenders = None
        self.round = None
        self.runner = None
        self.pacer = None

    def load_failed(self, error: ArenaError) -> None:
        self.load_error = error

    @property
    def can_force_load(self) -> bool:
        """A load refused by the memory preflight can be forced (a typed flag on the error, not its wording)."""
        e = self.load_error
        return e is not None and e.forceable

    # --- state -------------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.running

    @property
    def failed_sides(self) -> tuple[int, ...]:
        return self.round.failed_sides if self.round is not None else ()

    @property
    def phase(self) -> Phase:
        r = self.round
        if self.load_error is not None:
            return Phase.LOAD_FAILED
        if self.contenders is None or r is None:
            return Phase.LOADING
        if r.voted is not None:
            return Phase.VOTED
        if r.discarded:
            return Phase.DISCARDED
        if not r.turns:
            return Phase.PROMPT
        if self.running:
            return Phase.ANSWERING
        if not self.turn_shown:
            return Phase.REVEALING
        return Phase.FAILED if r.failed_sides else Phase.VOTING

    @property
    def voting_open(self) -> bool:
        """Both answers finished (or stopped) and fully drawn, no side failed, and this round has no vote yet."""
        r = self.round
        return bool(r is not None and r.can_vote and self.turn_shown and not self.running)

    @property
    def awaiting_vote(self) -> bool:
        """This round has answers (or a turn under way) and neither a vote nor a discard yet."""
        r = self.round
        return bool(r is not None and r.turns and r.voted is None and not r.discarded)

    def refusal(self, action: str) -> str | None:
        """Why `action` is refused now, for the refusals a person must hear about rather than find a dead key; None
        when it is allowed or its refusal needs no words. `allows` says no exactly when this says why."""
        if action == "stats":
            if self.stats_locked:
                return STATS_LOCKED
            if self.team and self.awaiting_vote:
                return STATS_AFTER_VOTE
        return None

    def allows(self, action: str) -> bool:
        """Whether a key's action may run now (the screen's `check_action`)."""
        r = self.round
        running = self.running
        if action == "stats":
            return self.refusal(action) is None
        if action in VOTE_ACTIONS:
            return self.voting_open
        if action == "stop":
            return running
        if action == "show_all":
            return self.turn_done_pending
        if action == "regenerate":
            return bool(r is not None and r.turns and r.voted is None and not r.discarded and not running)
        if action == "new_round":
            return bool(self.contenders is not None and not running)
        if action == "force_load":
            return self.can_force_load
        if action == "focus_prompt":  # a follow-up on a failed turn would build on a missing answer
            return not self.failed_sides
        return True

    def failure_note(self) -> str | None:
        """Why this round offers no vote, for the vote bar. Model-free: only side labels, which are drawn at random."""
        sides = self.failed_sides
        if not sides:
            return None
        which = " and ".join(f"side {SIDE_LABELS[s]}" for s in sides)
        return (f"No vote on this round: {which} failed (see the pane). A failure is not a worse answer, so it is not "
                "counted as a loss.")

    # --- rounds ------------------------------------------------------------------------------------------------------
    def new_round(self, prompt: Prompt | None, category: str, suite_id: str | None) -> Round | None:
        """Draw the sides of a new round. None while the engines of the current turn still run."""
        if self.contenders is None or self.running:
            return None
        matchup = self.contenders.matchup  # a ladder: this round's pair (its record id is the ladder id)
        sampling = {mid: self.config.sampling_for(mid) for mid in (matchup.big, matchup.small)}
        self.prompt = prompt
        self.round = Round.new(
            matchup,
            sampling,
            self.policy,
            rng=self.rng,
            system_prompt=self.config.defaults.system_prompt,
            category=category,
            suite_id=suite_id,
            prompt_id=prompt.id if prompt else None,
        )
        self.round_no += 1
        self.last_record = None
        self.pacer = None
        self.runner = None
        self.turn_done_pending = False
        self.turn_shown = False
        self._skip_armed = False
        return self.round

    def request_new_round(self) -> NewRound:
        """`n`: a round with answers and no vote needs a second `n` (nothing is lost by accident); a round where a side
        failed has nothing to lose: the first `n` discards it (the screen then shows which model sat where and what
        failed, which is safe once no vote can follow), the next starts a new round."""
        if self.running:
            return NewRound.BUSY
        r = self.round
        if r is not None and r.failed_sides and r.voted is None and not r.discarded:
            r.discarded = True
            self._skip_armed = False
            return NewRound.DISCARD
        if r is not None and r.turns and r.voted is None and not r.failed_sides and not self._skip_armed:
            self._skip_armed = True
            return NewRound.CONFIRM
        self._skip_armed = False
        return NewRound.START

    def check_prompt(self, value: str) -> PromptCheck:
        """Whether a typed prompt can start a turn now; the text to send (what the box showed, minus outer whitespace)."""
        r = self.round
        if r is None or r.voted is not None:
            return PromptCheck(reason="This round is closed: press n for a new round.")
        if self.running:
            return PromptCheck(reason="Both models are still answering: wait, or stop them with ctrl+s.")
        if r.failed_sides:
            return PromptCheck(reason="A side failed on the last turn: retry it with ctrl+r, or discard the round with n.")
        if len(value) > self.max_prompt_chars:
            return PromptCheck(reason=prompt_too_long(len(value), self.max_prompt_chars))
        text = value.strip()
        if not text:
            what = "empty" if not value else "only spaces or line breaks"
            return PromptCheck(reason=f"Not sent: the prompt is {what}. Type something for both models to answer.")
        return PromptCheck(text=text)

    def open_turn(self, text: str | None = None, *, regenerate: bool = False) -> tuple[list[Message], list[Message]]:
        """Add a turn to the round (or redo the last one with fresh seeds); the caller then prepares its panes and
        calls `run_turn`. Returns the conversation each side must answer."""
        assert self.round is not None
        if regenerate:
            return self.round.regenerate()
        assert text is not None
        return self.round.start_turn(text)

    def run_turn(self, messages: tuple[list[Message], list[Message]], on_done: Callable[[], None]) -> TurnRunner:
        """Start the engines on the turn `open_turn` added. `on_done` is called on the runner's thread."""
        assert self.round is not None and self.contenders is not None
        self.pacer = Pacer(self.round.policy)
        self.runner = TurnRunner(
            self.contenders.pair(self.round), self.round, self.pacer, schedule=self.schedule, on_done=on_done,
            clock=self._clock,
        )
        self.turn_done_pending = False
        self.turn_shown = False
        self._skip_armed = False
        self.runner.start(messages)
        return self.runner

    @property
    def sequential_blank(self) -> bool:
        """This turn runs one model after the other under the paced display: the panes stay blank for a while."""
        return bool(self.runner is not None and self.runner.schedule == "sequential"
                    and self.round is not None and self.round.policy is DisplayPolicy.PACED)

    def runner_finished(self) -> None:
        """The runner's on_done, handed over to the caller's thread."""
        self.turn_done_pending = True

    @property
    def still_revealing(self) -> bool:
        return self.pacer is not None and not self.pacer.fully_shown(self._clock())

    def visible(self) -> tuple[tuple[int, int], tuple[str, str]] | None:
        """What the panes may show now: characters per side and each side's text so far."""
        if self.pacer is None or self.round is None:
            return None
        return self.pacer.visible(self._clock()), self.pacer.texts()

    def complete_if_shown(self, drawn: tuple[int, int]) -> bool:
        """Called after drawing with how many characters each pane holds. True once: the turn just became complete
        (finished on both sides and everything drawn); voting opens unless a side failed."""
        if not self.turn_done_pending or self.pacer is None:
            return False
        texts = self.pacer.texts()
        if not all(n >= len(t) for n, t in zip(drawn, texts)) or not self.pacer.fully_shown(self._clock()):
            return False
        self.turn_done_pending = False
        self.turn_shown = True
        return True

    def show_all(self) -> None:
        if self.pacer is not None:
            self.pacer.reveal_all()

    def stop(self) -> bool:
        """ctrl+s: stop both engines; under the paced display both answers end at what was shown."""
        return self.runner.stop() if self.runner is not None else False

    def cancel(self) -> None:
        """Leaving the matchup or quitting: stop the engines, keep nothing pending."""
        if self.runner is not None:
            self.runner.cancel()

    # --- vote --------------------------------------------------------------------------------------------------------
    def vote(self, outcome: Vote, store: VoteStore, *, voter: str | None = None) -> BattleRecord:
        """Save the vote (committed before this returns) and close the round. ArenaError if it was not saved."""
        if not self.voting_open:
            raise RuntimeError("voting is not open")
        if self.team and not voter:  # team statistics are per voter: an anonymous team vote could not be attributed
            raise RuntimeError("a team arena vote needs its voter")
        assert self.round is not None and self.contenders is not None
        record = save_vote(store, self.round, outcome, self.contenders.facts, prompt=self.prompt, voter=voter)
        self.last_record = record
        return record

    # --- settings between rounds -------------------------------------------------------------------------------------
    def set_category(self, category: str) -> bool:
        """The category of a free prompt, until the vote. Returns whether it applied to this round."""
        r = self.round
        if r is not None and r.voted is None and r.prompt_id is None:
            r.category = category
            return True
        return False

    def cycle_policy(self) -> tuple[DisplayPolicy, bool]:
        """`p`: the next display policy. Returns it and whether it waits for the next round (a turn has started)."""
        r = self.round
        deferred = bool(r is not None and r.turns and r.voted is None)
        self.policy = POLICY_CYCLE[(POLICY_CYCLE.index(self.policy) + 1) % len(POLICY_CYCLE)]
        if r is not None and not r.turns:
            r.policy = self.policy
        return self.policy, deferred


def prompt_too_long(length: int, limit: int) -> str:
    return (f"The prompt is {length:,} characters; the limit is {limit:,} ({limit // 1024} KiB). Shorten it, "
            "or split it into a first prompt and a follow-up (press i after the answers).")
