"""The Textual app: wiring only. Backends (config, store, model backend) are injected, so tests and `textual serve`
build the same app with their own parts."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.driver import Driver

from arena.config.types import Config, DisplayPolicy
from arena.models.backend import Backend, ModelBackend
from arena.prompts.types import Prompt, Suite
from arena.store import VoteStore
from arena.tui import gc_policy
from arena.tui.commands import ArenaCommands
from arena.untrusted import one_line, visible
from arena.tui.input_flood import coalescing

if TYPE_CHECKING:
    # The arena screen imports the lineup and runner when a matchup opens; the picker's first paint does not need them.
    from arena.battle.lineup import Contenders, Lineup
    from arena.battle.runner import TurnRunner
    from arena.team.backend import TeamHealth

# Termination signals that must end the app like ctrl+q does (terminal restored, models unloaded): a plain SIGTERM or
# SIGHUP would otherwise kill the process with the terminal still in raw mode and on the alternate screen.
EXIT_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


# How often a team session asks the gateway whether a model server crashed (every session is told, not only the one
# whose turn failed); one small loopback request.
TEAM_HEALTH_EVERY_S = 5.0


class ArenaApp(App[None]):
    CSS_PATH = "arena.tcss"
    TITLE = "Quant Arena"
    COMMANDS = App.COMMANDS | {ArenaCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    team_health_every_s = TEAM_HEALTH_EVERY_S  # tests shorten it

    def __init__(
        self,
        config: Config,
        db_path: Path | str,
        *,
        matchup_id: str | None = None,
        ladder_id: str | None = None,
        policy: DisplayPolicy | None = None,
        suite: Suite | None = None,
        category: str | None = None,
        backend: Backend | None = None,
        force: bool = False,
        seed: int | None = None,
        voter: str | None = None,
        team_gateway: str | None = None,
        lock_stats: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.db_path = Path(db_path)
        self.store = VoteStore(self.db_path)
        self.initial_matchup = matchup_id
        self.initial_ladder = ladder_id
        self.policy = DisplayPolicy(policy or config.defaults.display_policy)
        self.suite = suite
        self.suite_category = category if suite is not None else None
        self.category = None if suite is not None else category
        self.team_gateway = team_gateway  # a team session: the models run in the team's servers (arena.team)
        if backend is None and team_gateway:
            from arena.team.backend import ServedBackend

            # The voter is read when the models "load" (after a voter-name screen, if the app shows one).
            backend = ServedBackend(config, team_gateway, voter=lambda: self.voter)
        self.backend: Backend = backend or ModelBackend(config)  # tests replace it whole (see models/backend.py)
        self.force = force
        self.rng = random.Random(seed)
        self.voter = voter  # checked by the caller (arena.battle.voter); asked for on the first screen in a team arena
        # A team arena (`arena serve --team`): this session's engines go through the team's gateway, several voters
        # share the vote store, and the round controller keeps results closed while a round waits for this voter.
        self.team_gateway = team_gateway
        self.lock_stats = lock_stats  # the host locked statistics for this session (`--lock-stats`)
        self.contenders: Contenders | None = None
        self.lineup: Lineup | None = None  # owns the loaded engines of the open matchup or ladder
        self.active_runner: TurnRunner | None = None  # the turn streaming now, if any (set by the arena screen)
        self._signals_installed: list[int] = []

    def _install_signal_handlers(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            for sig in EXIT_SIGNALS:
                loop.add_signal_handler(sig, self._exit_on_signal, sig)
                self._signals_installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here (Windows)
            pass

    def _exit_on_signal(self, sig: int) -> None:
        self.exit(return_code=128 + sig)  # the shell convention for "ended by signal N"

    # Every notification and every screen title passes through the one sanitizer here, whoever calls them: they often
    # quote an error (a server's words, a file name) or a YAML value (matchup ids). Notifications are plain text too:
    # Textual would otherwise read "[...]" in a server's message as markup.
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        super().notify(visible(message), title=one_line(title), severity=severity, timeout=timeout, markup=False)

    def format_title(self, title: str, sub_title: str) -> Content:
        return super().format_title(one_line(title), one_line(sub_title))

    def get_driver_class(self) -> type[Driver]:
        """Textual's choice, except that a Linux terminal gets arena.tui.driver's prompt Escape key; either way input
        events arrive in batches, and a flood of single-character keys (an unbracketed paste) becomes one paste."""
        chosen = super().get_driver_class()
        if f"{chosen.__module__}.{chosen.__qualname__}" == "textual.drivers.linux_driver.LinuxDriver":
            from arena.tui.driver import PromptEscapeDriver

            chosen = PromptEscapeDriver
        return coalescing(chosen)

    @property
    def team(self) -> bool:
        return self.team_gateway is not None

    def on_mount(self) -> None:
        self._install_signal_handlers()
        if self.team and self.voter is None:
            from arena.tui.screens.voter import VoterScreen

            # Who votes comes first: every vote of this session must carry the name.
            self.push_screen(VoterScreen(), self._voter_named)
        else:
            self._open_first_screen()
        if self.team:
            self._team_health: TeamHealth | None = None
            self.set_interval(self.team_health_every_s, self._watch_team_health)
        # Once the first screen is drawn, freeze what start-up allocated, so collections while answers stream skip it.
        self.call_after_refresh(gc_policy.settle)

    def _watch_team_health(self) -> None:
        self.run_worker(self._ask_team_health, thread=True, group="team-health", exclusive=True)

    def _ask_team_health(self) -> None:
        """A worker thread: one /team/status request (the UI thread never waits on the network)."""
        health = getattr(self.backend, "health", None)
        now = health() if callable(health) else None
        if now is None:
            return
        said = now.notice(self._team_health)
        self._team_health = now
        if said is not None:
            message, is_error = said
            self.call_from_thread(self.notify, message, title="Team server", severity="error" if is_error else "information",
                                  timeout=30 if is_error else 8)

    def _voter_named(self, name: str | None) -> None:
        self.voter = name
        # After the name screen has left the stack (the result callback runs before its pop completes).
        self.call_later(self._open_first_screen)

    def _open_first_screen(self) -> None:
        if self.initial_ladder:
            self.open_ladder(self.initial_ladder, force=self.force)
        elif self.initial_matchup:
            self.open_matchup(self.initial_matchup, force=self.force)
        else:
            self.pick_matchup()

    def voter_note(self) -> str:
        """This session's own voter, for a subtitle ("" without one). Never any other voter's name."""
        return f" · voter {self.voter}" if self.voter else ""

    def pick_matchup(self) -> None:
        from arena.tui.screens.picker import PickerScreen

        self._drop_contenders()
        self.switch_screen(PickerScreen()) if self.screen_stack[1:] else self.push_screen(PickerScreen())

    def open_matchup(self, matchup_id: str, *, force: bool = False) -> None:
        from arena.tui.screens.arena import ArenaScreen

        self._drop_contenders()
        screen = ArenaScreen(matchup_id, force=force)
        self.switch_screen(screen) if self.screen_stack[1:] else self.push_screen(screen)

    def open_ladder(self, ladder_id: str, *, force: bool = False) -> None:
        from arena.tui.screens.arena import ArenaScreen

        self._drop_contenders()
        screen = ArenaScreen(ladder_id, force=force, ladder=True)
        self.switch_screen(screen) if self.screen_stack[1:] else self.push_screen(screen)

    def _drop_contenders(self) -> None:
        # Stop and wait for a turn still streaming before freeing its models: unloading a llama.cpp model while a
        # thread generates with it crashes the process (seen: SIGSEGV when quitting mid-answer).
        runner, self.active_runner = self.active_runner, None
        if runner is not None and runner.running:
            runner.cancel()
            runner.join(timeout=60)
        if self.lineup is not None:
            self.lineup.unload()
            self.lineup = None
        if self.contenders is not None:
            self.contenders.unload()
            self.contenders = None

    def next_suite_prompt(self, matchup_id: str) -> Prompt | None:
        """The next unvoted prompt of the suite for this matchup (seeded order, resumable), or None."""
        if self.suite is None:
            return None
        from arena.prompts.draw import next_prompt, suite_seed

        voted = self.store.voted_prompt_ids(matchup_id, self.suite.id, voter=self.voter)
        return next_prompt(self.suite, suite_seed(matchup_id, self.suite.id), voted, category=self.suite_category)

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals_installed:
            loop.remove_signal_handler(sig)
        self._signals_installed.clear()
        self._drop_contenders()
        self.store.close()
