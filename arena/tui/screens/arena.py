"""The arena: one matchup or ladder, blind rounds, votes, reveals.

The screen is a thin shell: `arena.battle.controller.RoundController` holds the round's rules (what may be pressed when,
when voting opens, failed sides, stop, regenerate, new round) and runs the engines; this file loads models in a worker,
forwards keys, and draws what the controller says is visible (polled at REFRESH_HZ, so the cost of drawing does not
depend on how fast or how long the models write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header, Input, ProgressBar, Static
from textual.worker import get_current_worker

from arena.battle.controller import VOTE_ACTIONS, NewRound, RoundController
from arena.battle.pacing import Pacer
from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.battle.round import Round
from arena.battle.runner import TurnRunner
from arena.battle.lineup import LoadProgress, Lineup
from arena.battle.session import Contenders
from arena.config.types import DisplayPolicy
from arena.errors import ArenaError
from arena.prompts.types import UNCATEGORIZED, Prompt
from arena.tui import gc_policy
from arena.tui.actions import bindings, vote_keys_hint, vote_label
from arena.tui.reveal import reveal_body, reveal_role, reveal_title
from arena.tui.widgets.answer_pane import AnswerPane
from arena.tui.widgets.footer import StableFooter
from arena.tui.widgets.prompt_input import PromptInput
from arena.untrusted import one_line, visible

if TYPE_CHECKING:
    from arena.tui.app import ArenaApp

REFRESH_HZ = 10  # each append re-renders Markdown: 10 Hz looks smooth and leaves the UI thread room for keys


def _one_bar(progress: LoadProgress, todo: list[str]) -> LoadProgress:
    """Progress of several model loads as one anonymous bar ("next"): a ladder must not say which models load."""

    def report(model_id: str, fraction: float, message: str) -> None:
        done = todo.index(model_id) if model_id in todo else 0
        progress("next", (done + fraction) / max(1, len(todo)), message)

    return report


class ArenaScreen(Screen[None]):
    BINDINGS = bindings()  # from the one action table (arena.tui.actions), as are the palette and vote labels

    policy: reactive[DisplayPolicy] = reactive(DisplayPolicy.PACED, init=False)

    def __init__(self, matchup_id: str, *, force: bool = False, ladder: bool = False) -> None:
        super().__init__()
        self.matchup_id = matchup_id  # a matchup id, or with ladder=True a ladder id (the votes' matchup_id either way)
        self.ladder = ladder
        self.force = force
        self.lineup: Lineup | None = None  # created on mount; the app owns it (and so the loaded engines)
        self._preparing = False  # a ladder is loading the next round's pair
        self.link_scroll = True
        self._queue_shown: int | None = None  # a team session's place in the queue, as shown on both panes
        self.controller: RoundController | None = None  # created on mount (it needs the app's config and rng)

    @property
    def arena_app(self) -> ArenaApp:
        return self.app  # type: ignore[return-value]

    # --- the controller's state, read by the drawing code (and by tests) ---------------------------------------------
    @property
    def ctl(self) -> RoundController:
        assert self.controller is not None
        return self.controller

    @property
    def contenders(self) -> Contenders | None:
        return self.controller.contenders if self.controller else None

    @property
    def round(self) -> Round | None:
        return self.controller.round if self.controller else None

    @property
    def runner(self) -> TurnRunner | None:
        return self.controller.runner if self.controller else None

    @property
    def pacer(self) -> Pacer | None:
        return self.controller.pacer if self.controller else None

    @property
    def prompt(self) -> Prompt | None:
        return self.controller.prompt if self.controller else None

    @property
    def last_record(self) -> BattleRecord | None:
        return self.controller.last_record if self.controller else None

    @property
    def round_no(self) -> int:
        return self.controller.round_no if self.controller else 0

    @property
    def _load_error(self) -> ArenaError | None:
        return self.controller.load_error if self.controller else None

    @property
    def _turn_done_pending(self) -> bool:
        return bool(self.controller and self.controller.turn_done_pending)

    @property
    def voting_open(self) -> bool:
        """Both answers finished (or stopped) and fully drawn, no side failed, and this round has no vote yet."""
        return bool(self.controller and self.controller.voting_open)

    # --- layout ------------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="loading"):
            if self.ladder:
                # Which pair a ladder round plays is part of the blind: one bar, no names.
                yield Static(Text("Loading the models of the next round…"), classes="load-label")
                yield ProgressBar(total=1.0, show_eta=False, id="load-next")
            else:
                for model_id in self._model_ids():
                    yield Static(Text(f"Loading {one_line(self._model_name(model_id))}"), classes="load-label")
                    yield ProgressBar(total=1.0, show_eta=False, id=f"load-{self._slug(model_id)}")
        yield Static("", id="round-info")
        with Horizontal(id="panes"):
            yield AnswerPane("A", id="pane-a")
            yield AnswerPane("B", id="pane-b")
        yield Static("", id="vote-bar")
        yield PromptInput(placeholder="Type a prompt for both models and press Enter", id="prompt")
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
        app = self.arena_app
        self.controller = RoundController(app.config, self.matchup_id, rng=app.rng, policy=app.policy,
                                          team=app.team, stats_locked=app.lock_stats)
        if self.ladder:
            self.lineup = Lineup.for_ladder(app.config, self.matchup_id, app.backend, force=self.force, rng=app.rng)
        else:
            self.lineup = Lineup.for_matchup(app.config, self.matchup_id, app.backend, force=self.force)
        app.lineup = self.lineup
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
        kind = "ladder" if self.ladder else "matchup"
        self.sub_title = f"{kind} {self.matchup_id} · display {self.policy.value}{note}{self.arena_app.voter_note()}"

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

        lineup = self.lineup
        assert lineup is not None
        try:
            # A ladder draws its next pair from the votes so far (all matchups: the ranking pools them), then loads
            # what the pair lacks; a matchup loads its one pair once.
            pair = lineup.draw(app.store.aggregate() if lineup.is_ladder else ())
            report = _one_bar(progress, lineup.missing(pair)) if lineup.is_ladder else progress
            contenders = lineup.prepare(pair, report)
        except ArenaError as exc:
            app.call_from_thread(self._show_load_error, exc)
            return
        except Exception as exc:  # a bug or an unexpected library error: still keep the app up, say what happened
            app.call_from_thread(self._show_load_error, ArenaError(f"Loading the models failed: {exc!r}", "see the log; try `arena check` and `arena models`"))
            return
        if worker.is_cancelled:
            lineup.unload()
            return
        app.call_from_thread(self._loaded, contenders)

    def _set_progress(self, model_id: str, fraction: float) -> None:
        try:
            bar_id = "load-next" if self.ladder else f"load-{self._slug(model_id)}"
            self.query_one(f"#{bar_id}", ProgressBar).update(progress=fraction)
        except Exception:
            pass

    def _show_load_error(self, exc: ArenaError) -> None:
        self.ctl.load_failed(exc)
        self._preparing = False
        hint = "  [m] pick another matchup"
        if self.ctl.can_force_load:
            hint += "  [f] load anyway"
        self._set_vote_bar(Text(exc.render() + "\n" + hint, style="bold red"))
        self.notify(exc.render(), title="Cannot load this matchup", severity="error", timeout=15)

    def _loaded(self, contenders: Contenders) -> None:
        first = self.contenders is None and not self._preparing
        self.ctl.loaded(contenders)
        self.arena_app.contenders = contenders
        self._preparing = False
        if self.ladder:
            self.query_one("#loading").display = False  # kept for the next pair: its one bar names no model
        else:
            self.query_one("#loading").remove()  # gone, not hidden: it names the models, the arena must not
        self.query_one("#panes").display = True
        if first and self.lineup is not None and self.lineup.note:
            self.notify(self.lineup.note, title="Note", timeout=10)
        self.call_later(self.start_round)

    def _prepare_next_pair(self) -> None:
        """A ladder round: draw the next pair and load what it lacks (in the worker), then start the round."""
        self._preparing = True
        self.ctl.between_pairs()
        self.query_one("#load-next", ProgressBar).update(progress=0.0)
        self.query_one("#loading").display = True
        self.query_one("#panes").display = False
        self.query_one("#prompt", Input).disabled = True
        self._set_vote_bar(Text("Preparing the next round…", style="dim"))
        self.refresh_bindings()
        self._load()

    # --- rounds ------------------------------------------------------------------------------------------------------
    async def start_round(self) -> None:
        app = self.arena_app
        assert self.contenders is not None
        if self.ctl.running:
            return
        prompt = app.next_suite_prompt(self.matchup_id)
        category = prompt.category if prompt else (app.category or UNCATEGORIZED)
        suite_id = app.suite.id if (app.suite and prompt) else None
        if self.ctl.new_round(prompt, category, suite_id) is None:
            return
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
        self.query_one("#round-info", Static).update(Text(one_line("  ·  ".join(parts))))  # YAML values in it

    @on(Input.Submitted, "#prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        check = self.ctl.check_prompt(event.value)
        if check.text is None:
            if check.reason:
                self.notify(check.reason, timeout=6)
            return
        event.input.value = ""
        await self._send(check.text)

    async def _send(self, text: str, *, regenerate: bool = False) -> None:
        assert self.round is not None and self.contenders is not None
        messages = self.ctl.open_turn(text, regenerate=regenerate)
        if not regenerate:
            for pane in self._panes():
                await pane.start_turn(text)
        else:
            for pane in self._panes():
                await pane.drop_last_turn()
                await pane.start_turn(text)

        def turn_done() -> None:  # runs on the runner's thread
            try:
                self.app.call_from_thread(self._turn_done)
            except RuntimeError:  # the app has already exited (quit mid-answer): there is nothing left to update
                pass

        self.arena_app.active_runner = self.ctl.run_turn(messages, turn_done)
        self.query_one("#prompt", Input).disabled = True
        self.query_one("#pane-a", AnswerPane).focus()
        self._set_status("answering…")
        waiting = Text("Both models are answering…  ctrl+s stops both.", style="dim")
        if self.ctl.sequential_blank:
            # Otherwise the panes stay blank for the whole first answer and the person may think the app hung. Which
            # model runs first is drawn per turn and never shown.
            why = ("schedule: sequential" if self.ctl.schedule.value == "sequential"
                   else "schedule auto: measured faster on this machine")
            waiting.append(f"\nThey run one after the other ({why}); the paced display shows both answers once the "
                           "second one has started.", style="dim italic")
        self._set_vote_bar(waiting)
        self._update_round_info()
        self.refresh_bindings()

    def _show_queue(self) -> None:
        """A team session waiting for other voters' rounds: the same words on both panes (one number per round)."""
        runner = self.arena_app.active_runner
        running = runner is not None and runner.running
        ahead = runner.queue_ahead if running else None
        if ahead == self._queue_shown:
            return
        shown, self._queue_shown = self._queue_shown, ahead
        if ahead:
            self._set_status(f"waiting: {ahead} round{'s' if ahead != 1 else ''} ahead of yours")
        elif shown and running:
            self._set_status("answering…")

    def _set_status(self, status: str) -> None:
        for pane in self._panes():
            pane.border_subtitle = status

    async def _refresh_panes(self) -> None:
        """Draw what the pacer allows. Runs on the UI thread at REFRESH_HZ."""
        if self.controller is None or self._covered():
            return
        self._show_queue()
        shown = self.ctl.visible()
        if shown is None:
            return
        visible, texts = shown
        panes = self._panes()
        for side, pane in enumerate(panes):
            if visible[side] > pane.queued:
                pane.enqueue(texts[side][pane.queued : visible[side]])
        # The panes draw queued text from their own message queues, and the runner may add text meanwhile: voting opens
        # only once the panes (not only the pacer) hold every character.
        if self.ctl.complete_if_shown((panes[0].shown, panes[1].shown)):
            await self._turn_complete()

    def _covered(self) -> bool:
        """An opaque screen is on top (the command palette, help, statistics): the panes cannot be seen, so they are not
        fed until it closes (the pacer keeps the text; the next refresh after it closes draws it). Feeding them made
        Textual repaint the covering screen over every changed pane region and put that work, and the appends, between
        a key press and the frame that shows it (benchmarks/tui.py: closing the palette while both answers stream)."""
        top = self.app.screen
        return top is not self and top.styles.background.a >= 1

    def _turn_done(self) -> None:
        # The runner finished; the pacer may still be revealing text. Voting opens once everything is shown.
        self.ctl.runner_finished()
        self.refresh_bindings()
        if self.ctl.still_revealing:
            self._set_vote_bar(Text("Both answers are complete; still revealing at the shared pace… [space] show all now", style="dim"))

    def action_show_all(self) -> None:
        self.ctl.show_all()

    async def _turn_complete(self) -> None:
        assert self.round is not None
        for side, message in self.round.last_errors:
            await self._panes()[side].show_error(message)
        self._set_status("done")
        note = self.ctl.failure_note()
        if note is not None:
            await self._turn_failed(note)
            return
        self.query_one("#prompt", Input).disabled = False
        hint = Text()
        hint.append("Vote: ", style="bold")
        hint.append(vote_keys_hint(), style="bold")
        hint.append("   ·  [i] ask a follow-up first  ·  [ctrl+r] regenerate", style="dim")
        if self.prompt is not None and self.prompt.notes:
            hint.append("\nNotes for the voter: ", style="italic")
            hint.append(visible(self.prompt.notes), style="italic")
        self._set_vote_bar(hint)
        self.query_one("#pane-a", AnswerPane).focus()
        self.refresh_bindings()
        # The turn is drawn and the person now reads and votes: a quiet moment for a full collection (see gc_policy).
        self.call_after_refresh(gc_policy.settle)

    async def _turn_failed(self, note: str) -> None:
        """A side failed: no vote is offered (a failure is not a loss); retry or discard."""
        self.query_one("#prompt", Input).disabled = True
        bar = Text()
        bar.append(note, style="bold yellow")
        bar.append("\n[ctrl+r] retry this turn on both sides  ·  [n] discard this round and see what failed", style="bold")
        self._set_vote_bar(bar)
        self.query_one("#pane-a", AnswerPane).focus()
        self.refresh_bindings()

    def _set_vote_bar(self, text: Text) -> None:
        self.query_one("#vote-bar", Static).update(text)

    # --- actions -----------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.controller is None:
            return action not in VOTE_ACTIONS and action not in ("stop", "show_all", "regenerate", "new_round", "force_load")
        # A refusal the controller explains keeps its key live, so the key says why instead of doing nothing.
        return self.ctl.allows(action) or self.ctl.refusal(action) is not None

    async def _vote(self, outcome: Vote) -> None:
        assert self.round is not None and self.contenders is not None
        app = self.arena_app
        if not self.ctl.voting_open:  # a key that raced a state change (check_action already hides it)
            return
        try:
            record = self.ctl.vote(outcome, app.store, voter=app.voter)
        except ArenaError as exc:
            self._set_vote_bar(Text(f"NOT saved: {exc.render()}", style="bold red"))
            self.notify(exc.render(), title="Vote not saved", severity="error", timeout=15)
            return
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
        await self._reveal_sides((record.side_a, record.side_b))

    async def _reveal_sides(self, sides: tuple[SideRecord, SideRecord], status: str = "revealed") -> None:
        assert self.round is not None and self.contenders is not None
        for side, pane in enumerate(self._panes()):
            model_id = self.round.models[side]
            facts: ModelFacts = self.contenders.facts.get(model_id) or ModelFacts(id=model_id, name=model_id, source="")
            # What the files say, not the slot; a ladder's own wording (harsh/light of one size) only without facts.
            fallback = self.lineup.role_of(self.round.matchup, model_id) if self.lineup else None
            role = reveal_role(self.contenders.facts, self.round.matchup, model_id, fallback)
            await pane.reveal(reveal_title(facts, role), reveal_body(facts, role, sides[side]))
            pane.border_subtitle = status

    async def action_vote_a(self) -> None:
        await self._vote(Vote.A)

    async def action_vote_b(self) -> None:
        await self._vote(Vote.B)

    async def action_vote_tie(self) -> None:
        await self._vote(Vote.TIE)

    async def action_vote_bad(self) -> None:
        await self._vote(Vote.BOTH_BAD)

    def action_stop(self) -> None:
        if self.ctl.stop():
            self._set_status("stopping…")

    async def action_regenerate(self) -> None:
        if self.round is None or not self.round.turns or not self.ctl.allows("regenerate"):
            return
        await self._send(self.round.turns[-1].user, regenerate=True)

    async def action_new_round(self) -> None:
        decision = self.ctl.request_new_round()
        if decision is NewRound.CONFIRM:
            self.notify("This round has no vote yet: vote first (1-4), or press n again to skip it.", timeout=4)
            return
        if decision is NewRound.DISCARD:
            await self._discarded()
            return
        if decision is NewRound.START:
            if self.lineup is not None and self.lineup.is_ladder:
                self._prepare_next_pair()
                return
            await self.start_round()

    async def _discarded(self) -> None:
        """A failed round was dropped. No vote can follow, so which model sat where and the full error details (ids,
        URLs, context sizes: kept out of the panes until now) are safe to show."""
        assert self.round is not None
        await self._reveal_sides((self.round.side_record(0), self.round.side_record(1)), status="discarded")
        bar = Text()
        bar.append("Round discarded: not a vote, nothing stored.", style="bold yellow")
        bar.append("  Each pane now shows its model and what failed.   [n] new round", style="dim")
        self._set_vote_bar(bar)
        self.refresh_bindings()

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
            if category and self.ctl.set_category(category):
                self.arena_app.category = category
                self._update_round_info()

        self.app.push_screen(CategoryDialog(), chosen)

    def action_cycle_policy(self) -> None:
        policy, deferred = self.ctl.cycle_policy()
        if deferred:
            self.notify("The display policy changes between rounds: it applies from the next round.")
        self.policy = policy
        self.arena_app.policy = policy

    def action_toggle_link(self) -> None:
        self.link_scroll = not self.link_scroll
        self.notify(f"Linked scrolling {'on' if self.link_scroll else 'off'}")

    def action_stats(self) -> None:
        from arena.tui.screens.stats import StatsScreen

        why = self.ctl.refusal("stats") if self.controller is not None else None
        if why is not None:
            self.notify(why, title="Statistics", severity="warning", timeout=8)
            return
        self.app.push_screen(StatsScreen(self.matchup_id))

    def action_help(self) -> None:
        from arena.tui.screens.help import open_help

        open_help(self.app)

    def action_pick_matchup(self) -> None:
        if self.controller is not None:
            self.ctl.cancel()
        self.arena_app.pick_matchup()

    def action_force_load(self) -> None:
        if self.ladder:
            self.arena_app.open_ladder(self.matchup_id, force=True)
        else:
            self.arena_app.open_matchup(self.matchup_id, force=True)

    def on_unmount(self) -> None:
        if self.controller is not None:
            self.ctl.cancel()
