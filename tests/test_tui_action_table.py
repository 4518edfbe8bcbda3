"""The arena's one action table (arena.tui.actions) feeds the key bindings, the palette and the vote labels."""

from __future__ import annotations

from arena.records import Vote
from arena.battle.controller import VOTE_ACTIONS
from arena.tui.actions import ARENA_ACTIONS, in_sentence, vote_keys_hint, vote_label
from arena.tui.commands import ACTIONS as PALETTE
from arena.tui.screens.arena import ArenaScreen


def test_bindings_are_the_table() -> None:
    got = [(b.key, b.action, b.description, b.show, b.priority) for b in ArenaScreen.BINDINGS]
    assert got == [(a.key, a.action, a.label, a.show, a.priority) for a in ARENA_ACTIONS]
    assert len({a.key for a in ARENA_ACTIONS}) == len(ARENA_ACTIONS)  # no key bound twice
    for a in ARENA_ACTIONS:
        assert callable(getattr(ArenaScreen, f"action_{a.action}", None)), a.action


def test_palette_is_the_table() -> None:
    titles = {title: action for title, action, _ in PALETTE}
    assert titles["Statistics"] == "stats" and titles["New round"] == "new_round"
    assert {action for _, action, _ in PALETTE} == {a.action for a in ARENA_ACTIONS if a.palette_help is not None}
    assert all(help_text for _, _, help_text in PALETTE)
    assert {a.action for a in ARENA_ACTIONS if a.vote is not None} == set(VOTE_ACTIONS) == {"vote_a", "vote_b", "vote_tie", "vote_bad"}


def test_vote_labels() -> None:
    assert vote_keys_hint() == "[1] A better  [2] B better  [3] tie  [4] both bad"
    assert [vote_label(v) for v in (Vote.A, Vote.B, Vote.TIE, Vote.BOTH_BAD)] == ["A better", "B better", "tie", "both bad"]
    assert in_sentence("Show all") == "show all" and in_sentence("A better") == "A better"
