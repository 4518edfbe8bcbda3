"""The team arena's first screen: who is voting. Keyboard only (type, Enter), so it works the same in a browser."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from arena.battle.voter import MAX_VOTER_CHARS, check_voter_name
from arena.untrusted import visible


class VoterScreen(Screen[str]):
    """Asks for the voter's name; dismisses with the accepted name (outer whitespace removed, otherwise exact)."""

    DEFAULT_CSS = """
    VoterScreen { align: center middle; }
    VoterScreen > Vertical { width: 64; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    VoterScreen #voter-intro { margin-bottom: 1; }
    VoterScreen #voter-error { color: $error; height: auto; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Team arena: who is voting?\n", "bold"),
                    "Your name is stored with each of your votes, so the team's statistics can tell voters apart. "
                    "Type it and press Enter.",
                ),
                id="voter-intro",
            )
            # No max_length: a longer paste is refused with a message rather than cut silently.
            yield Input(placeholder=f"your name (1-{MAX_VOTER_CHARS} characters)", id="voter-name")
            yield Static("", id="voter-error")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Quant Arena"
        self.sub_title = "team arena"
        self.query_one("#voter-name", Input).focus()

    @on(Input.Submitted, "#voter-name")
    def _submitted(self, event: Input.Submitted) -> None:
        check = check_voter_name(event.value)
        if check.name is None:
            # The reason quotes no part of the name, but it goes through the sanitizer like any text a person typed.
            self.query_one("#voter-error", Static).update(Text(visible(check.reason or "")))
            return
        self.dismiss(check.name)

    @on(Input.Changed, "#voter-name")
    def _changed(self) -> None:
        self.query_one("#voter-error", Static).update("")
