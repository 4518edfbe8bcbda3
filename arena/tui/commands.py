"""Command palette entries for the main actions (ctrl+p)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = [
    ("New round", "new_round", "Start a new blind round (new random sides)"),
    ("Statistics", "stats", "Win rates, confidence intervals, position bias, per category"),
    ("Switch display policy", "cycle_policy", "paced → whole → live (applies from the next round)"),
    ("Pick another matchup", "pick_matchup", "Back to the matchup list"),
    ("Choose category", "category", "Category of the current free prompt"),
    ("Stop both answers", "stop", "Stop generation on both sides"),
    ("Regenerate", "regenerate", "Rerun the last turn on both sides"),
    ("Link or unlink scrolling", "toggle_link", "Scroll the two panes together or separately"),
    ("Help", "help", "Keys and what the arena promises"),
]


class ArenaCommands(Provider):
    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in ACTIONS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)
