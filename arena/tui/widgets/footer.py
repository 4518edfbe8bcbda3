"""Textual's Footer, rebuilt only when what it shows changes in a way hiding keys cannot express.

Textual's Footer rebuilds all its key widgets (mount, CSS, data binding; ~15 widgets here) on every "bindings updated"
signal: each focus change, screen resume and `refresh_bindings()`. Closing the command palette fires it although the
arena's keys are the same as before it opened; in benchmarks/tui.py that rebuild was about a quarter of the UI-thread
CPU of closing the palette. This footer compares what it would draw (key, label, enabled, tooltip) with what it drew
and skips the rebuild when nothing differs. Moving focus into the prompt box and out again (`i`, escape) does change
it: the box takes printable keys, so the vote and other letter keys leave the footer and come back. Those keys are
hidden and shown again instead of rebuilding every key widget each time (a rebuild was about a third of the UI-thread
CPU of those two keys). It draws exactly what Footer draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

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

    def _keys_it_draws(self, screen: Screen[object]) -> list[tuple[str, str, str, bool, str]]:
        """(key, action, label, enabled, tooltip) of each key widget Footer.compose would yield, in order."""
        drawn: dict[str, tuple[str, str, str, bool, str]] = {}
        for _, binding, enabled, tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in drawn and binding.group is None:
                drawn[binding.action] = (binding.key, binding.action, binding.description, enabled, tooltip or "")
        return list(drawn.values())

    def _hide_and_show(self, screen: Screen[object]) -> bool:
        """Show exactly the wanted keys by hiding the others, if every wanted key already has its widget (same key,
        label, enabled state and tooltip, in the same order). False: a rebuild is needed."""
        if any(binding.group is not None for _, binding, _, _ in screen.active_bindings.values() if binding.show):
            return False  # grouped keys are drawn in groups: leave those to Footer
        widgets = [child for child in self.children if "-command-palette" not in child.classes]
        if not all(isinstance(widget, FooterKey) for widget in widgets):
            return False
        wanted = iter(self._keys_it_draws(screen))
        want = next(wanted, None)
        visible: set[FooterKey] = set()
        for widget in widgets:
            assert isinstance(widget, FooterKey)
            if want is not None and (widget.key, widget.action, widget.description) == want[:3]:
                if widget._disabled == want[3] or str(widget.tooltip or "") != want[4]:
                    return False  # drawn differently (enabled state, tooltip): rebuild
                visible.add(widget)
                want = next(wanted, None)
        if want is not None:
            return False  # a key without a widget (or out of order)
        for widget in widgets:
            if widget.display != (widget in visible):
                widget.display = widget in visible
        return True

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:  # when Footer would rebuild
            shown = self._what_it_shows(screen)
            if self._bindings_ready and shown == self._shown:
                return
            if self._bindings_ready and self._shown is not None and _palette_part(self._shown) == _palette_part(shown):
                if self._hide_and_show(screen):
                    self._shown = shown
                    return
            self._shown = shown
        super().bindings_changed(screen)


def _palette_part(shown: Shown) -> Shown:
    """What decides the command palette's key widget (drawn by Footer after the others)."""
    return tuple(item for item in shown[:-1] if item[1] == "command_palette") + shown[-1:]
