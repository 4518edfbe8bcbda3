"""The Textual app: wiring only. Backends (config, store, engine factory) are injected, so tests and `textual serve`
build the same app with their own parts."""

from __future__ import annotations

import random
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.driver import Driver

from arena.battle.runner import TurnRunner
from arena.battle.session import Contenders, EngineFactory, default_engine_factory
from arena.config.types import Config, DisplayPolicy
from arena.prompts.types import Prompt, Suite
from arena.store import VoteStore
from arena.tui import gc_policy
from arena.tui.commands import ArenaCommands


class ArenaApp(App[None]):
    CSS_PATH = "arena.tcss"
    TITLE = "Quant Arena"
    COMMANDS = App.COMMANDS | {ArenaCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        config: Config,
        db_path: Path | str,
        *,
        matchup_id: str | None = None,
        policy: DisplayPolicy | None = None,
        suite: Suite | None = None,
        category: str | None = None,
        engine_factory: EngineFactory = default_engine_factory,
        force: bool = False,
        seed: int | None = None,
        voter: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.db_path = Path(db_path)
        self.store = VoteStore(self.db_path)
        self.initial_matchup = matchup_id
        self.policy = DisplayPolicy(policy or config.defaults.display_policy)
        self.suite = suite
        self.suite_category = category if suite is not None else None
        self.category = None if suite is not None else category
        self.engine_factory = engine_factory
        self.force = force
        self.rng = random.Random(seed)
        self.voter = voter
        self.contenders: Contenders | None = None
        self.active_runner: TurnRunner | None = None  # the turn streaming now, if any (set by the arena screen)

    def get_driver_class(self) -> type[Driver]:
        """Textual's choice, except that a Linux terminal gets arena.tui.driver's prompt Escape key."""
        chosen = super().get_driver_class()
        if f"{chosen.__module__}.{chosen.__qualname__}" == "textual.drivers.linux_driver.LinuxDriver":
            from arena.tui.driver import PromptEscapeDriver

            return PromptEscapeDriver
        return chosen

    def on_mount(self) -> None:
        if self.initial_matchup:
            self.open_matchup(self.initial_matchup, force=self.force)
        else:
            self.pick_matchup()
        # Once the first screen is drawn, freeze what start-up allocated, so collections while answers stream skip it.
        self.call_after_refresh(gc_policy.settle)

    def pick_matchup(self) -> None:
        from arena.tui.screens.picker import PickerScreen

        self._drop_contenders()
        self.switch_screen(PickerScreen()) if self.screen_stack[1:] else self.push_screen(PickerScreen())

    def open_matchup(self, matchup_id: str, *, force: bool = False) -> None:
        from arena.tui.screens.arena import ArenaScreen

        self._drop_contenders()
        screen = ArenaScreen(matchup_id, force=force)
        self.switch_screen(screen) if self.screen_stack[1:] else self.push_screen(screen)

    def _drop_contenders(self) -> None:
        # Stop and wait for a turn still streaming before freeing its models: unloading a llama.cpp model while a
        # thread generates with it crashes the process (seen: SIGSEGV when quitting mid-answer).
        runner, self.active_runner = self.active_runner, None
        if runner is not None and runner.running:
            runner.cancel()
            runner.join(timeout=60)
        if self.contenders is not None:
            self.contenders.unload()
            self.contenders = None

    def next_suite_prompt(self, matchup_id: str) -> Prompt | None:
        """The next unvoted prompt of the suite for this matchup (seeded order, resumable), or None."""
        if self.suite is None:
            return None
        from arena.prompts.draw import next_prompt, suite_seed

        voted = self.store.voted_prompt_ids(matchup_id, self.suite.id)
        return next_prompt(self.suite, suite_seed(matchup_id, self.suite.id), voted, category=self.suite_category)

    def on_unmount(self) -> None:
        self._drop_contenders()
        self.store.close()
