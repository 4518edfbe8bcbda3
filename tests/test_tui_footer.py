"""StableFooter draws what Textual's Footer draws, and rebuilds its key widgets only when that changes."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from arena.tui.widgets.footer import StableFooter
from tests.support.pilot import wait_for


class Gated(App[None]):
    BINDINGS = [Binding("x", "vote", "Vote"), Binding("y", "other", "Other")]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer_type = footer
        self.voting_open = False

    def compose(self) -> ComposeResult:
        yield self.footer_type()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.voting_open if action == "vote" else True

    def action_vote(self) -> None: ...

    def action_other(self) -> None: ...


def keys(app: App[None]) -> list[FooterKey]:
    return list(app.query(FooterKey))


def shown(app: App[None]) -> list[str]:
    return [k.description for k in keys(app) if k.description in ("Vote", "Other")]


@pytest.mark.parametrize("footer", [StableFooter, Footer])
def test_rebuilds_only_when_what_it_shows_changes(footer: type[Footer]) -> None:
    async def scenario() -> None:
        app = Gated(footer)
        async with app.run_test(size=(80, 10)) as pilot:
            await wait_for(pilot, lambda: len(keys(app)) >= 2, 120, "the footer's keys")
            assert shown(app) == ["Other"]  # check_action False hides the vote key
            before = keys(app)
            app.refresh_bindings()  # nothing changed
            for _ in range(5):
                await pilot.pause()
            same = keys(app) == before
            assert same if footer is StableFooter else not same  # Textual's Footer rebuilds anyway
            app.voting_open = True
            app.refresh_bindings()
            await wait_for(pilot, lambda: shown(app) == ["Vote", "Other"], 120, "the vote key shown")

    asyncio.run(scenario())


class Typing(App[None]):
    """Letter keys leave the footer while the Input (which takes printable keys) has focus, and come back."""

    BINDINGS = [Binding("x", "vote", "Vote"), Binding("ctrl+t", "other", "Other"), Binding("z", "third", "Third")]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer_type = footer

    def compose(self) -> ComposeResult:
        from textual.widgets import Input, Static

        yield Static("pane", id="pane")
        yield Input(id="box")
        yield self.footer_type()

    def on_mount(self) -> None:
        self.query_one("#pane").can_focus = True
        self.query_one("#pane").focus()

    def action_vote(self) -> None: ...

    def action_other(self) -> None: ...

    def action_third(self) -> None: ...


def drawn(app: App[None]) -> list[tuple[str, str, bool]]:
    return [(k.key, k.description, k.disabled) for k in keys(app) if k.display]


def footer_line(app: App[None]) -> str:
    return app.screen._compositor.render_strips()[-1].text  # the screen's last line: the footer as drawn


def line_matches_keys(app: App[None]) -> bool:
    """The drawn footer line has caught up with the key widgets (it is drawn after the next layout)."""
    line = footer_line(app)
    labels = {k.description: k.display for k in keys(app) if k.description in ("Vote", "Other", "Third")}
    return bool(labels) and all((label in line) == shown for label, shown in labels.items())


def test_moving_focus_into_a_text_box_hides_keys_instead_of_rebuilding_and_draws_what_footer_draws() -> None:
    seen: dict[type[Footer], list[list[tuple[str, str, bool]]]] = {}
    lines: dict[type[Footer], list[str]] = {}
    same_widgets: list[bool] = []

    async def scenario(footer: type[Footer]) -> None:
        app = Typing(footer)
        async with app.run_test(size=(100, 10)) as pilot:
            await wait_for(pilot, lambda: len(drawn(app)) >= 3, 10, "the footer's keys")
            states = [drawn(app)]
            await wait_for(pilot, lambda: line_matches_keys(app), 10, "the footer drawn")
            lines[footer] = [footer_line(app)]
            before = keys(app)
            for focus in ("#box", "#pane", "#box", "#pane"):
                app.query_one(focus).focus()
                await pilot.pause()
                await wait_for(pilot, lambda: drawn(app) != states[-1], 10, "the footer to change")
                states.append(drawn(app))
                await wait_for(pilot, lambda: line_matches_keys(app), 10, "the footer drawn")
                lines[footer].append(footer_line(app))
            seen[footer] = states
            if footer is StableFooter:
                same_widgets.append(keys(app) == before)

    for footer in (Footer, StableFooter):
        asyncio.run(scenario(footer))
    assert seen[StableFooter] == seen[Footer]  # the same keys, labels and enabled states in every focus state
    assert lines[StableFooter] == lines[Footer] and len(set(lines[Footer])) == 2  # drawn the same
    assert ("x", "Vote", False) in seen[Footer][0] and ("x", "Vote", False) not in seen[Footer][1]
    assert same_widgets == [True]  # hidden and shown again: the key widgets were never rebuilt
