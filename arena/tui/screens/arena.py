"""The arena: one matchup, blind rounds, votes, reveals.

The screen is a thin shell: `arena.battle` holds the round state and runs the engines; this file only loads models in a
worker, forwards keys, and draws what the pacer says is visible (polled at REFRESH_HZ, so the cost of drawing does not
depend on how fast or how long the models write).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header, Input, ProgressBar, Static
from textual.worker import get_current_worker

from arena.battle.pacing import Pacer
from arena.records import BattleRecord, ModelFacts, Vote
from arena.battle.round import Round
from arena.battle.runner import TurnRunner
from arena.battle.session import Contenders, load_contenders, save_vote
from arena.config.types import DisplayPolicy
from arena.errors import ArenaError
from arena.prompts.types import UNCATEGORIZED, Prompt
from arena.tui import gc_policy
from arena.tui.actions import BY_ACTION, When, bindings, vote_keys_hint, vote_label
from arena.tui.reveal import reveal_body, reveal_title
from arena.tui.widgets.answer_pane import AnswerPane
from arena.tui.widgets.footer import StableFooter

if TYPE_CHECKING:
    from arena.tui.app import ArenaApp

REFRESH_HZ = 10  # each append re-renders Markdown: 10 Hz looks smooth and leaves the UI thread room for keys
POLICY_CYCLE = (DisplayPolicy.PACED, DisplayPolicy.WHOLE, DisplayPolicy.LIVE)


class ArenaScreen(Screen[None]):
    BINDINGS = bindings()  # from the one action table (arena.tui.actions), as are the palette and vote labels

    policy: reactive[DisplayPolicy] = reactive(DisplayPolicy.PACED, init=False)

    def __init__(self, matchup_id: str, *, force: bool = False) -> None:
        super().__init__()
        self.matchup_id = matchup_id
        self.force = force
        self.contenders: Contenders | None = None
        self.round: Round | None = None
        self.runner: TurnRunner | None = None
        self.pacer: Pacer | None = None
        self.prompt: Prompt | None = None  # the suite prompt of this round, if any
        self.last_record: BattleRecord | None = None
        self.round_no = 0
        self.link_scroll = True
        self._load_error: ArenaError | None = None
        self._turn_done_pending = False
        self._turn_shown = False  # the last turn is finished on both sides AND fully drawn
        self._skip_armed = False  # `n` pressed once on an unvoted round: a second `n` skips it

    @property
    def arena_app(self) -> ArenaApp:
        return self.app  # type: ignore[return-value]

    # --- layout ------------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="loading"):
            for model_id in self._model_ids():
                yield Static(Text(f"Loading {self._model_name(model_id)}"), classes="load-label")
                yield ProgressBar(total=1.0, show_eta=False, id=f"load-{self._slug(model_id)}")
        yield Static("", id="round-info")
        with Horizontal(id="panes"):
            yield AnswerPane("A", id="pane-a")
            yield AnswerPane("B", id="pane-b")
        yield Static("", id="vote-bar")
        yield Input(placeholder="Type a prompt for both models and press Enter", id="prompt")
        yield StableFooter()

    def _model_ids(self) -> list[str]:
        m = self.arena_app.config.matchups[self.matchup_id]
        return [m.big, m.small]

    def _model_name(self, model_id: str) -> str:
        return self.arena_app.config.model(model_id).name

    @staticmethod
    def _slug(model_id: str) -> str:
        return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in model_id)

    def on_mount(self) -> None:
        self.policy = self.arena_app.policy
        self.title = "Quant Arena"
        self._update_subtitle()
        self.query_one("#panes").display = False
        self.query_one("#prompt", Input).disabled = True
        self._set_vote_bar(Text("Loading models…", style="dim"))
        self.set_interval(1 / REFRESH_HZ, self._refresh_panes)
        pane_a, pane_b = self._panes()
        self.watch(pane_a, "scroll_y", lambda y: self._mirror_scroll(pane_b, y), init=False)
        self.watch(pane_b, "scroll_y", lambda y: self._mirror_scroll(pane_a, y), init=False)
        self._load()

    def _mirror_scroll(self, other: AnswerPane, y: float) -> None:
        """Linked scrolling: the other pane follows a person's scroll (same offset), unless unlinked with `l`."""
        if self.link_scroll and self.round is not None and self.round.state.value == "idle":
            if abs(other.scroll_y - y) >= 1:
                other.scroll_to(y=y, animate=False, immediate=True)  # in the same frame as the pane it follows

    def _update_subtitle(self) -> None:
        note = " (NOT speed-blind)" if self.policy is DisplayPolicy.LIVE else ""
        self.sub_title = f"matchup {self.matchup_id} · display {self.policy.value}{note}"

    def watch_policy(self) -> None:
        self._update_subtitle()

    # --- loading -----------------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        app = self.arena_app
        worker = get_current_worker()

        last: dict[str, float] = {}

        def progress(model_id: str, fraction: float, message: str) -> None:
            # llama.cpp reports progress hundreds of times per load: forward a change of >= 2% only.
            if not worker.is_cancelled and (fraction >= 1.0 or fraction - last.get(model_id, -1.0) >= 0.02):
                last[model_id] = fraction
                app.call_from_thread(self._set_progress, model_id, fraction)

        try:
            contenders = load_contenders(
                app.config, self.matchup_id, force=self.force, progress=progress, engine_factory=app.engine_factory
            )
        except ArenaError as exc:
            app.call_from_thread(self._show_load_error, exc)
            return
        except Exception as exc:  # a bug or an unexpected library error: still keep the app up, say what happened
            app.call_from_thread(self._show_load_error, ArenaError(f"Loading the models failed: {exc!r}", "see the log; try `arena check` and `arena models`"))
            return
        if worker.is_cancelled:
            contenders.unload()
            return
        app.call_from_thread(self._loaded, contenders)

    def _set_progress(self, model_id: str, fraction: float) -> None:
        try:
            self.query_one(f"#load-{self._slug(model_id)}", ProgressBar).update(progress=fraction)
        except Exception:
            pass

    def _show_load_error(self, exc: ArenaError) -> None:
        self._load_error = exc
        hint = "  [m] pick another matchup"
        if exc.forceable:
            hint += "  [f] load anyway"
        self._set_vote_bar(Text(exc.render() + "\n" + hint, style="bold red"))
        self.notify(exc.render(), title="Cannot load this matchup", severity="error", timeout=15)

    def _loaded(self, contenders: Contenders) -> None:
        self.contenders = contenders
        self.arena_app.contenders = contenders
        self.query_one("#loading").remove()  # gone, not hidden: it names the models, the arena must not
        self.query_one("#panes").display = True
        self.call_later(self.start_round)

    # --- rounds ------------------------------------------------------------------------------------------------------
    async def start_round(self) -> None:
        app = self.arena_app
        assert self.contenders is not None
        if self.runner is not None and self.runner.running:
            return
        config = app.config
        matchup = config.matchups[self.matchup_id]
        sampling = {mid: config.sampling_for(mid) for mid in (matchup.big, matchup.small)}
        self.prompt = app.next_suite_prompt(self.matchup_id)
        category = self.prompt.category if self.prompt else (app.category or UNCATEGORIZED)
        self.round = Round.new(
            matchup,
            sampling,
            self.policy,
            rng=app.rng,
            system_prompt=config.defaults.system_prompt,
            category=category,
            suite_id=app.suite.id if (app.suite and self.prompt) else None,
            prompt_id=self.prompt.id if self.prompt else None,
        )
        self.round_no += 1
        self.last_record = None
        for pane in self._panes():
            await pane.reset()
        self._update_round_info()
        prompt_input = self.query_one("#prompt", Input)
        if self.prompt is not None:
            prompt_input.disabled = True
            await self._send(self.prompt.prompt)
        else:
            if app.suite is not None:
                self.notify("Every prompt of this suite has a vote for this matchup: free prompts from here on.")
            prompt_input.disabled = False
            prompt_input.focus()
            self._set_vote_bar(Text("Type a prompt below. Both models answer it; you vote on the answers.", style="dim"))

    def _panes(self) -> tuple[AnswerPane, AnswerPane]:
        return self.query_one("#pane-a", AnswerPane), self.query_one("#pane-b", AnswerPane)

    def _update_round_info(self) -> None:
        r = self.round
        if r is None:
            return
        parts = [f"Round {self.round_no}", f"category: {r.category}"]
        if r.prompt_id:
            parts.append(f"suite {r.suite_id} · prompt {r.prompt_id}")
        if len(r.turns) > 1:
            parts.append(f"turn {len(r.turns)}")
        self.query_one("#round-info", Static).update(Text("  ·  ".join(parts)))

    @on(Input.Submitted, "#prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.round is None or self.round.voted is not None:
            return
        if self.runner is not None and self.runner.running:
            self.notify("Both models are still answering: wait, or stop them with ctrl+s.")
            return
        event.input.value = ""
        await self._send(text)

    async def _send(self, text: str, *, regenerate: bool = False) -> None:
        assert self.round is not None and self.contenders is not None
        messages = self.round.regenerate() if regenerate else self.round.start_turn(text)
        if not regenerate:
            for pane in self._panes():
                await pane.start_turn(text)
        else:
            for pane in self._panes():
                await pane.drop_last_turn()
                await pane.start_turn(text)
        self.pacer = Pacer(self.round.policy)

        def turn_done() -> None:  # runs on the runner's thread
            try:
                self.app.call_from_thread(self._turn_done)
            except RuntimeError:  # the app has already exited (quit mid-answer): there is nothing left to update
                pass

        self.runner = TurnRunner(
            self.contenders.pair(self.round),
            self.round,
            self.pacer,
            schedule=self.arena_app.config.defaults.schedule,
            on_done=turn_done,
        )
        self._turn_done_pending = False
        self._turn_shown = False
        self.arena_app.active_runner = self.runner
        self.runner.start(messages)
        self.query_one("#prompt", Input).disabled = True
        self.query_one("#pane-a", AnswerPane).focus()
        self._set_status("answering…")
        waiting = Text("Both models are answering…  ctrl+s stops both.", style="dim")
        if self.runner.schedule == "sequential" and self.round.policy is DisplayPolicy.PACED:
            # Otherwise the panes stay blank for the whole first answer and the person may think the app hung.
            why = ("schedule: sequential" if self.arena_app.config.defaults.schedule.value == "sequential"
                   else "schedule auto: measured faster on this machine")
            waiting.append(f"\nThey run one after the other ({why}); the paced display shows both answers once the "
                           "second one has started.", style="dim italic")
        self._set_vote_bar(waiting)
        self._update_round_info()
        self.refresh_bindings()

    def _set_status(self, status: str) -> None:
        for pane in self._panes():
            pane.border_subtitle = status

    async def _refresh_panes(self) -> None:
        """Draw what the pacer allows. Runs on the UI thread at REFRESH_HZ."""
        if self.pacer is None or self.round is None:
            return
        visible = self.pacer.visible(time.monotonic())
        texts = self.pacer.texts()
        for side, pane in enumerate(self._panes()):
            if visible[side] > pane.queued:
                pane.enqueue(texts[side][pane.queued : visible[side]])
        # The panes draw queued text from their own message queues, and the runner may add text meanwhile: voting opens
        # only once the panes (not only the pacer) hold every character.
        drawn = all(pane.shown >= len(text) for pane, text in zip(self._panes(), self.pacer.texts()))
        if self._turn_done_pending and drawn and self.pacer.fully_shown(time.monotonic()):
            self._turn_done_pending = False
            await self._turn_complete()

    def _turn_done(self) -> None:
        # The runner finished; the pacer may still be revealing text. Voting opens once everything is shown.
        self._turn_done_pending = True
        self.refresh_bindings()
        if self.pacer is not None and not self.pacer.fully_shown(time.monotonic()):
            self._set_vote_bar(Text("Both answers are complete; still revealing at the shared pace… [space] show all now", style="dim"))

    def action_show_all(self) -> None:
        if self.pacer is not None:
            self.pacer.reveal_all()

    @property
    def voting_open(self) -> bool:
        """Both answers finished (or stopped) and fully drawn, and this round has no vote yet."""
        r = self.round
        return bool(r is not None and r.can_vote and self._turn_shown and not (self.runner and self.runner.running))

    async def _turn_complete(self) -> None:
        assert self.round is not None
        self._turn_shown = True
        for side, message in self.round.last_errors:
            await self._panes()[side].show_error(message)
        self._set_status("done")
        self.query_one("#prompt", Input).disabled = False
        hint = Text()
        hint.append("Vote: ", style="bold")
        hint.append(vote_keys_hint(), style="bold")
        hint.append("   ·  [i] ask a follow-up first  ·  [ctrl+r] regenerate", style="dim")
        if self.prompt is not None and self.prompt.notes:
            hint.append("\nNotes for the voter: ", style="italic")
            hint.append(self.prompt.notes, style="italic")
        self._set_vote_bar(hint)
        self.query_one("#pane-a", AnswerPane).focus()
        self.refresh_bindings()
        # The turn is drawn and the person now reads and votes: a quiet moment for a full collection (see gc_policy).
        self.call_after_refresh(gc_policy.settle)

    def _set_vote_bar(self, text: Text) -> None:
        self.query_one("#vote-bar", Static).update(text)

    # --- actions -----------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        entry = BY_ACTION.get(action)
        return True if entry is None else self._allowed(entry.when)

    def _allowed(self, when: When) -> bool:
        r = self.round
        running = self.runner is not None and self.runner.running
        if when is When.VOTING_OPEN:
            return self.voting_open
        if when is When.ANSWERING:
            return running
        if when is When.REVEALING:
            return self._turn_done_pending
        if when is When.CAN_REGENERATE:
            return bool(r is not None and r.turns and r.voted is None and not running)
        if when is When.CAN_START:
            return bool(self.contenders is not None and not running)
        if when is When.LOAD_FORCEABLE:
            return self._load_error is not None and self._load_error.forceable
        return True

    async def _vote(self, outcome: Vote) -> None:
        assert self.round is not None and self.contenders is not None
        app = self.arena_app
        try:
            record = save_vote(app.store, self.round, outcome, self.contenders.facts, prompt=self.prompt, voter=app.voter)
        except ArenaError as exc:
            self._set_vote_bar(Text(f"NOT saved: {exc.render()}", style="bold red"))
            self.notify(exc.render(), title="Vote not saved", severity="error", timeout=15)
            return
        self.last_record = record
        await self._reveal(record)
        label = vote_label(outcome)
        bar = Text()
        bar.append(f"✓ Vote saved ({label}).", style="bold green")
        if record.identity_leak:
            bar.append(f"  An answer named a model family ({', '.join(record.leak_terms)}): flagged, excluded from stats by default.", style="yellow")
        bar.append("   [n] new round  ·  [s] statistics", style="dim")
        self._set_vote_bar(bar)
        self.query_one("#prompt", Input).disabled = True
        self.refresh_bindings()

    async def _reveal(self, record: BattleRecord) -> None:
        assert self.round is not None and self.contenders is not None
        for side, pane in enumerate(self._panes()):
            model_id = self.round.models[side]
            facts: ModelFacts = self.contenders.facts.get(model_id) or ModelFacts(id=model_id, name=model_id, source="")
            role = self.round.role_of(side)
            side_rec = record.side_a if side == 0 else record.side_b
            await pane.reveal(reveal_title(facts, role), reveal_body(facts, role, side_rec))
            pane.border_subtitle = "revealed"

    async def action_vote_a(self) -> None:
        await self._vote(Vote.A)

    async def action_vote_b(self) -> None:
        await self._vote(Vote.B)

    async def action_vote_tie(self) -> None:
        await self._vote(Vote.TIE)

    async def action_vote_bad(self) -> None:
        await self._vote(Vote.BOTH_BAD)

    def action_stop(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self._set_status("stopping…")

    async def action_regenerate(self) -> None:
        if self.round is None or not self.round.turns:
            return
        await self._send(self.round.turns[-1].user, regenerate=True)

    async def action_new_round(self) -> None:
        if self.round is not None and self.round.turns and self.round.voted is None:
            self.notify("This round has no vote yet: vote first (1-4), or press n again to skip it.", timeout=4)
            if not self._skip_armed:
                self._skip_armed = True
                return
        self._skip_armed = False
        await self.start_round()

    def action_focus_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        if self.round is not None and self.round.voted is None:
            prompt.disabled = False
            prompt.focus()

    def action_leave_prompt(self) -> None:
        self.query_one("#pane-a", AnswerPane).focus()

    def action_category(self) -> None:
        from arena.tui.screens.dialogs import CategoryDialog

        def chosen(category: str | None) -> None:
            if category and self.round is not None and self.round.voted is None and self.round.prompt_id is None:
                self.round.category = category
                self.arena_app.category = category
                self._update_round_info()

        self.app.push_screen(CategoryDialog(), chosen)

    def action_cycle_policy(self) -> None:
        if self.round is not None and self.round.turns and self.round.voted is None:
            self.notify("The display policy changes between rounds: it applies from the next round.")
        idx = POLICY_CYCLE.index(self.policy)
        self.policy = POLICY_CYCLE[(idx + 1) % len(POLICY_CYCLE)]
        self.arena_app.policy = self.policy
        if self.round is not None and not self.round.turns:
            self.round.policy = self.policy

    def action_toggle_link(self) -> None:
        self.link_scroll = not self.link_scroll
        self.notify(f"Linked scrolling {'on' if self.link_scroll else 'off'}")

    def action_stats(self) -> None:
        from arena.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.matchup_id))

    def action_help(self) -> None:
        from arena.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_pick_matchup(self) -> None:
        if self.runner is not None and self.runner.running:
            self.runner.cancel()
        self.arena_app.pick_matchup()

    def action_force_load(self) -> None:
        self.arena_app.open_matchup(self.matchup_id, force=True)

    def on_unmount(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
