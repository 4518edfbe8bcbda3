"""Pick a matchup or a ladder: each row says what the models are, the memory budget, and whether the files are on disk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from arena.config.types import Config, Ladder, Matchup
from arena.models.presence import presence as model_presence
from arena.untrusted import one_line

if TYPE_CHECKING:
    from arena.tui.app import ArenaApp


def presence(config: Config, model_id: str) -> str:
    """'on disk', 'remote', or what `arena pull` would do ('not downloaded', 'not built yet', ...): cheap, no hashing and
    no network (arena.models.presence answers for the picker, `arena check` and `arena models` alike)."""
    return model_presence(config.model(model_id), config).value


def matchup_warnings(config: Config, matchup: Matchup, cache: dict[str, Any] | None = None) -> list[str]:
    """What the files (or the catalog's labels) say against the slots: arena.models.compare; never raises."""
    from arena.models.contenders import compare_matchup

    try:
        return compare_matchup(config, matchup, cache=cache).short_warnings()
    except Exception:  # a broken entry must not hide the picker; `arena check` explains it
        return []


def matchup_row(
    config: Config, matchup: Matchup, cache: dict[str, Any] | None = None, warnings: list[str] | None = None
) -> Text:
    """One picker entry. `warnings`: precomputed (the picker computes them off the UI thread); None computes them."""
    big, small = config.model(matchup.big), config.model(matchup.small)
    t = Text()
    t.append(one_line(matchup.id), style="bold")  # YAML values: through the one sanitizer
    if matchup.budget_gb:
        t.append(f"  ~{matchup.budget_gb:g} GB budget", style="cyan")
    t.append("\n  big/harsh:   ")
    t.append(one_line(big.name))
    t.append(f"  [{presence(config, big.id)}]", style="dim")
    t.append("\n  small/light: ")
    t.append(one_line(small.name))
    t.append(f"  [{presence(config, small.id)}]", style="dim")
    if matchup.description:
        t.append("\n  " + one_line(matchup.description.strip().splitlines()[0]), style="italic dim")
    for warning in matchup_warnings(config, matchup, cache) if warnings is None else warnings:
        t.append("\n  ⚠ " + one_line(warning), style="yellow")
    return t


def ladder_row(config: Config, ladder: Ladder) -> Text:
    t = Text()
    t.append(one_line(ladder.id), style="bold")  # YAML values: through the one sanitizer
    t.append(f"  ladder of {len(ladder.models)}", style="magenta")
    if ladder.budget_gb:
        t.append(f"  ~{ladder.budget_gb:g} GB each", style="cyan")
    for model_id in ladder.models:
        spec = config.model(model_id)
        t.append("\n  ")
        t.append(one_line(spec.label))
        t.append(f"  [{presence(config, model_id)}]", style="dim")
    if ladder.description:
        t.append("\n  " + one_line(ladder.description.strip().splitlines()[0]), style="italic dim")
    return t


class PickerScreen(Screen[None]):
    BINDINGS = [Binding("s", "stats", "Stats"), Binding("question_mark", "help", "Help")]

    @property
    def arena_app(self) -> ArenaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text("Pick a matchup or a ladder (Enter). Models not on disk need `arena pull ID` first.", style="bold"),
            id="picker-help",
        )
        yield OptionList(id="matchups")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Quant Arena"
        self.sub_title = "pick a matchup" + self.arena_app.voter_note()
        config = self.arena_app.config
        options = self.query_one("#matchups", OptionList)
        for m in config.matchups.values():
            options.add_option(Option(matchup_row(config, m, warnings=[]), id=m.id))
            options.add_option(None)
        for lad in config.ladders.values():
            options.add_option(Option(ladder_row(config, lad), id=lad.id))
            options.add_option(None)
        options.highlighted = 0
        if self.arena_app.config.defaults.matchup in self.arena_app.config.matchups:
            options.highlighted = options.get_option_index(self.arena_app.config.defaults.matchup)
        options.focus()
        self._add_warnings()

    @work(thread=True, exclusive=True, group="picker-warnings")
    def _add_warnings(self) -> None:
        """What the files say against each matchup's slots. Reading every GGUF header takes ~0.3 s: off the UI thread,
        so the picker paints at once and the warnings appear a moment later."""
        config = self.arena_app.config
        cache: dict[str, Any] = {}  # each model's header is read once
        for m in config.matchups.values():
            found = matchup_warnings(config, m, cache)
            if found:
                self.app.call_from_thread(self._show_row, m.id, matchup_row(config, m, warnings=found))

    def _show_row(self, option_id: str, row: Text) -> None:
        try:
            self.query_one("#matchups", OptionList).replace_option_prompt(option_id, row)
        except Exception:  # the picker was closed meanwhile
            pass

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id in self.arena_app.config.ladders:
            self.arena_app.open_ladder(event.option.id)
        elif event.option.id:
            self.arena_app.open_matchup(event.option.id)

    def action_stats(self) -> None:
        from arena.tui.screens.stats import StatsScreen

        if self.arena_app.lock_stats:  # no round here, so only the host's lock applies (the controller's rule)
            from arena.battle.controller import STATS_LOCKED

            self.notify(STATS_LOCKED, title="Statistics", severity="warning", timeout=8)
            return
        option_list = self.query_one("#matchups", OptionList)
        if option_list.highlighted is not None:
            option = option_list.get_option_at_index(option_list.highlighted)
            if option.id:
                self.app.push_screen(StatsScreen(option.id))

    def action_help(self) -> None:
        from arena.tui.screens.help import open_help

        open_help(self.app)
