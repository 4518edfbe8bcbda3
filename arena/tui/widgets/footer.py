"""Textual's Footer, recomposed only when what it shows changes.

Textual's Footer rebuilds all its key widgets (mount, CSS, data binding; ~15 widgets here) on every "bindings updated"
signal: each focus change, screen resume and `refresh_bindings()`. Closing the command palette fires it although the
arena's keys are the same as before it opened; in benchmarks/tui.py that rebuild was about a quarter of the UI-thread
CPU of closing the palette. This footer compares what it would draw (key, label, enabled, tooltip) with what it drew
and skips the rebuild when nothing differs. It draws exactly what Footer draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[str, str, str, bool, str], ...]


class StableFooter(Footer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._shown: Shown | None = None

    def _what_it_shows(self, screen: Screen[object]) -> Shown:
        items = [
            (binding.key, binding.action, binding.description, enabled, tooltip or "")
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show or binding.action == "command_palette"
        ]
        return (*items, ("", "", "", self.show_command_palette, str(self.compact)))

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:  # when Footer would rebuild
            shown = self._what_it_shows(screen)
            if self._bindings_ready and shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
