"""The arena's actions in one table: key, action, label, and whether the palette offers it.

The screen's key bindings, the command palette (`arena.tui.commands`) and the vote labels of the vote bar are all
derived from ARENA_ACTIONS, so a key, its footer label, its palette entry and the vote bar's "[1] A better" can never
drift apart. When an action is allowed is the round's rule, not the shell's: `arena.battle.controller.RoundController
.allows`, which the screen's `check_action` asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from arena.records import Vote


@dataclass(frozen=True)
class ArenaAction:
    key: str  # Textual key name(s), comma-separated
    action: str  # the screen's action_<name>
    label: str  # footer label; also the palette title unless `palette` says otherwise
    show: bool = True  # shown in the footer
    priority: bool = False  # works even while the prompt input has focus
    palette: str | None = None  # the command palette's title when it differs from the footer label
    palette_help: str | None = None  # the palette's one-line help; None keeps the action out of the palette
    vote: Vote | None = None

    @property
    def in_palette(self) -> bool:
        return self.palette_help is not None

    @property
    def title(self) -> str:
        return self.palette or self.label

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.label, show=self.show, priority=self.priority)


def in_sentence(label: str) -> str:
    """A footer label as it reads inside a sentence: "Tie" -> "tie", but a pane letter stays ("A better")."""
    first, _, rest = label.partition(" ")
    if len(first) == 1:
        return label
    return first[:1].lower() + first[1:] + (" " + rest if rest else "")


ARENA_ACTIONS: tuple[ArenaAction, ...] = (
    ArenaAction("1", "vote_a", "A better", vote=Vote.A),
    ArenaAction("2", "vote_b", "B better", vote=Vote.B),
    ArenaAction("3", "vote_tie", "Tie", vote=Vote.TIE),
    ArenaAction("4", "vote_bad", "Both bad", vote=Vote.BOTH_BAD),
    ArenaAction("ctrl+s", "stop", "Stop", priority=True, palette="Stop both answers",
                palette_help="Stop generation on both sides"),
    ArenaAction("space", "show_all", "Show all", show=False),
    ArenaAction("ctrl+r", "regenerate", "Regenerate", priority=True,
                palette_help="Rerun the last turn on both sides"),
    ArenaAction("n", "new_round", "New round", palette_help="Start a new blind round (new random sides)"),
    ArenaAction("i", "focus_prompt", "Prompt"),
    ArenaAction("escape", "leave_prompt", "Leave prompt", show=False),
    ArenaAction("c", "category", "Category", palette="Choose category", palette_help="Category of the current free prompt"),
    ArenaAction("p", "cycle_policy", "Policy", palette="Switch display policy",
                palette_help="paced → whole → live (applies from the next round)"),
    ArenaAction("l", "toggle_link", "Link scroll", show=False, palette="Link or unlink scrolling",
                palette_help="Scroll the two panes together or separately"),
    ArenaAction("s", "stats", "Stats", palette="Statistics",
                palette_help="Win rates, confidence intervals, position bias, per category"),
    ArenaAction("m", "pick_matchup", "Matchups", palette="Pick another matchup", palette_help="Back to the matchup list"),
    ArenaAction("f", "force_load", "Load anyway", show=False),
    ArenaAction("question_mark", "help", "Help", palette_help="Keys and what the arena promises"),
)  # fmt: skip

BY_ACTION: dict[str, ArenaAction] = {a.action: a for a in ARENA_ACTIONS}
VOTE_ACTIONS: dict[str, Vote] = {a.action: a.vote for a in ARENA_ACTIONS if a.vote is not None}  # equals the controller's (tested)


def bindings() -> list[Binding]:
    return [a.binding() for a in ARENA_ACTIONS]


def palette_actions() -> list[ArenaAction]:
    return [a for a in ARENA_ACTIONS if a.in_palette]


def vote_label(vote: Vote) -> str:
    """The vote as the vote bar says it: "A better", "tie", ..."""
    return next(in_sentence(a.label) for a in ARENA_ACTIONS if a.vote is vote)


def key_label(key: str) -> str:
    return key.split(",")[0]


def vote_keys_hint() -> str:
    """"[1] A better  [2] B better  [3] tie  [4] both bad"."""
    return "  ".join(f"[{key_label(a.key)}] {in_sentence(a.label)}" for a in ARENA_ACTIONS if a.vote is not None)
