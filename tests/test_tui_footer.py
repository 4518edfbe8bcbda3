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
