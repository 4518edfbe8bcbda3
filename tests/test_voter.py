"""The voter-name rule (arena.battle.voter), shared by `--voter` and the team arena's name screen, and the CLI options
that carry a team session's settings into each browser session (`arena serve` -> `arena tui`)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from arena.battle.voter import MAX_VOTER_CHARS, check_voter_name
from arena.cli.cmd_tui import register, session_argv


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace \t", "Ada Lovelace"),  # outer whitespace goes, the rest is kept exactly
        ("x" * MAX_VOTER_CHARS, "x" * MAX_VOTER_CHARS),
        ("Zoë 李 O'Brien-Søren", "Zoë 李 O'Brien-Søren"),
        ("dev 👩\u200d💻", "dev 👩\u200d💻"),  # a zero-width joiner inside an emoji is not a control character
        ("[bold]not markup[/]", "[bold]not markup[/]"),  # stored as typed; drawn literally
    ],
)
def test_names_accepted_and_stored_exactly(typed: str, stored: str) -> None:
    check = check_voter_name(typed)
    assert check.ok and check.name == stored and check.reason is None


@pytest.mark.parametrize(
    "typed, words",
    [
        ("", "Type your name (1 to 40 characters)"),
        ("   \t ", "Type your name (1 to 40 characters)"),
        ("y" * (MAX_VOTER_CHARS + 1), "That name has 41 characters; at most 40 fit"),
        ("ada\x1b]0;owned\x07", "control character (U+001B, character 4)"),
        ("a\tb", "U+0009"),
        ("a\nb", "U+000A"),
        ("a\x7fb", "U+007F"),
        ("a\x9bb", "U+009B"),  # C1: a one-character CSI
        ("\u202eada", "U+202E"),  # a bidi override would make the name display as another
        ("ada\u2066x", "U+2066"),
        ("a\u2028b", "U+2028"),
        ("a\ud800", "U+D800"),
        ("bob\u200b", "invisible formatting character (U+200B, character 4)"),  # would look like "bob"
        ("b\u200dob", "U+200D"),  # a joiner between letters joins nothing visible
        ("\ufeffbob", "U+FEFF"),
        ("bo\u00adb", "U+00AD"),
        ("bob\u200e", "U+200E"),
    ],
)
def test_names_refused_with_a_reason(typed: str, words: str) -> None:
    check = check_voter_name(typed)
    assert not check.ok and check.name is None
    assert words in (check.reason or ""), check.reason


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--db")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_serve_forwards_lock_stats_and_the_voter_to_each_session() -> None:
    args = _parse("serve", "--matchup", "demo", "--lock-stats", "--voter", "Ada", "--port", "9")
    argv = session_argv(args)
    assert argv[:3] == [sys.executable, "-m", "arena"]
    tail = argv[3:]
    assert tail[0] == "tui" and "--lock-stats" in tail and tail[tail.index("--voter") + 1] == "Ada"
    assert tail[tail.index("--matchup") + 1] == "demo" and "--port" not in tail
    assert "--lock-stats" not in session_argv(_parse("serve", "--matchup", "demo"))
    for command in ("tui", "demo", "play"):  # every session command takes it
        assert _parse(command, "--lock-stats").lock_stats is True


@pytest.mark.parametrize("command", ["tui", "serve"])
def test_a_bad_voter_name_is_a_usage_error_before_anything_starts(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "arena", command, "--voter", "ada\x1b[2J", "--matchup", "demo"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert "--voter" in proc.stderr and "control character (U+001B" in proc.stderr
    assert "\x1b" not in proc.stderr and "Traceback" not in proc.stderr
