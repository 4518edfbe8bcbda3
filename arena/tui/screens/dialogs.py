"""Small modal dialogs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from arena.prompts.types import CATEGORIES, UNCATEGORIZED


class CategoryDialog(ModalScreen[str | None]):
    """Pick the category of a free prompt (suite prompts carry their own)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]
    DEFAULT_CSS = """
    CategoryDialog { align: center middle; }
    CategoryDialog > Vertical { width: 40; height: auto; border: round $accent; background: $surface; padding: 1; }
    CategoryDialog OptionList { height: auto; max-height: 14; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Category of this prompt")
            yield OptionList(*[Option(c, id=c) for c in (*CATEGORIES, UNCATEGORIZED)])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
