"""The help screen: what the keys do and what the arena promises."""

from __future__ import annotations

from rich.markdown import Markdown as RichMarkdown
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
# Quant Arena — help

Two models answer the same prompt side by side. Panes are labelled **A** and **B**; which model sits where is
drawn at random every round. Nothing about the models (names, sizes, quantization, speed, token counts) is shown until
you vote.

| key | action |
|---|---|
| Enter | send the prompt to both models (follow-up turns go to both too) |
| ctrl+s | stop both answers |
| ctrl+r | regenerate the last turn on both sides (new seeds) |
| 1 / 2 | A is better / B is better |
| 3 / 4 | tie / both bad |
| n | new round (new random sides) |
| i / Esc | focus the prompt box / leave it (vote keys work outside it) |
| c | category of a free prompt (code, math, json, …) |
| p | display policy for the next round: paced → whole → live |
| l | link / unlink scrolling of the two panes |
| s | statistics (in a team arena: after your vote; the host may lock them) |
| m | pick another matchup |
| ctrl+p | command palette |
| ? | this help |
| ctrl+q | quit |

**Display policies.** *paced* (default): both panes reveal text at one shared rate, so you cannot tell which model is
faster. *whole*: both answers appear together when both are finished. *live*: raw streaming — **not speed-blind**; the
policy is recorded with your vote.

**A side failed?** (timeout, server down, prompt too long for its context) Then there is no vote on that round: a
failure is not a worse answer. Press ctrl+r to run the turn again on both sides, or n to discard the round.

**Identity leaks.** An answer that names a model family (Qwen, Llama, Gemma, …) is flagged on the vote and left out of
the statistics by default.

Votes are committed to the SQLite database before "saved" is shown; they survive a crash or `kill -9`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    # Opaque, as the command palette (arena.tcss): a see-through modal is re-rendered and re-blended whenever an answer
    # pane under it changes. One Static drawing Rich's Markdown instead of Textual's Markdown widget (a widget per
    # block and table cell): opening help cost ~100-160 ms of UI-thread CPU, mostly building and styling those widgets.
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(RichMarkdown(HELP), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


HELP_SCREEN = "arena-help"


def open_help(app: App[object]) -> None:
    """Show the help screen, built once per app and kept (an installed screen): building it (mounting, styling and
    drawing the Markdown) on every `?` cost ~30 ms of UI-thread CPU, and removing it after each close made Textual lay
    out the screen below again (benchmarks/tui.py)."""
    if not app.is_screen_installed(HELP_SCREEN):
        app.install_screen(HelpScreen(), HELP_SCREEN)
    app.push_screen(HELP_SCREEN)
