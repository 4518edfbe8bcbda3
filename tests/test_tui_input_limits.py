"""The prompt box under hostile input, in the real terminal driver: floods, caps, controls, signals.

Runs the app in a child process on a pseudo-terminal (tests/support/pty_app.py), so keys go through Textual's real input
thread and parser exactly as a terminal delivers them.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from arena.battle.controller import MAX_PROMPT_CHARS
from tests.support import pty_app

FLOOD = 200_000
CTRL_Q = b"\x11"
ALT_SCREEN_OFF = b"\x1b[?1049l"
END = b"<<END-OF-PASTE>>"


def _flood_text(n: int) -> bytes:
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
    return (words * (n // len(words) + 1))[:n]


def _quit_and_report(app: pty_app.PtyApp, timeout: float) -> dict:
    app.write(CTRL_Q, timeout)
    assert app.wait_exit(timeout) == 0
    return json.loads(app.report.read_text())


@pytest.mark.slow
def test_an_unbracketed_200kb_paste_stays_bounded_and_ctrl_q_still_quits(demo_config_path: Path, tmp_path: Path) -> None:
    text = _flood_text(FLOOD - len(END)) + END
    # Baseline: the same app, started and quit with nothing typed (peak memory of the child process).
    (tmp_path / "base").mkdir()
    base = pty_app.start(demo_config_path, tmp_path / "base")
    try:
        base.wait_for_output(pty_app.READY, 120)
        assert _quit_and_report(base, 120)["prompt"] == ""
        assert base.maxrss_kb is not None
    finally:
        pty_app.stop(base)

    # ctrl+q typed right behind the flood (one key per character, no bracketed-paste markers) is obeyed at once; what
    # had arrived by then is an unaltered prefix of the paste.
    (tmp_path / "quit").mkdir()
    app = pty_app.start(demo_config_path, tmp_path / "quit")
    try:
        app.wait_for_output(pty_app.READY, 120)
        app.write(text + CTRL_Q, 300)
        assert app.wait_exit(300) == 0
        arrived = json.loads(app.report.read_text())["prompt"]
        assert text.decode().startswith(arrived)
    finally:
        pty_app.stop(app)

    # The whole paste arrives, in order, and memory stays bounded.
    (tmp_path / "flood").mkdir()
    app = pty_app.start(demo_config_path, tmp_path / "flood")
    try:
        app.wait_for_output(pty_app.READY, 120)
        mark = app.mark()
        app.write(text, 300)
        app.wait_for_output(END, 300, mark)  # the prompt box shows the end of the paste
        assert _quit_and_report(app, 300)["prompt"] == text.decode()
        assert app.maxrss_kb is not None
        grew_mb = (app.maxrss_kb - base.maxrss_kb) / 1024
        # The flood is 0.2 MB of text; before the fix the app grew by gigabytes. Generous, machine-independent bound.
        assert grew_mb < 150, f"peak memory grew by {grew_mb:.0f} MB for a 0.2 MB paste"
    finally:
        pty_app.stop(app)


@pytest.mark.slow
def test_a_bracketed_paste_over_the_cap_is_cut_with_a_message_and_controls_are_cleaned(demo_config_path: Path, tmp_path: Path) -> None:
    app = pty_app.start(demo_config_path, tmp_path)
    try:
        app.wait_for_output(pty_app.READY, 120)
        # (No ESC here: Textual's parser ends a bracketed paste at an ESC and replays what follows as keys; see README.)
        hostile = "first line\nsecond\x07 \u202eevil\tend\x85x\x9b31m\x7f"
        mark = app.mark()
        app.write(b"\x1b[200~" + hostile.encode() + b"\x1b[201~", 60)
        cleaned = "first line second evil end x31m"  # line breaks and tab -> space; BEL, U+202E, C1 CSI and DEL removed
        app.wait_for_output(cleaned.encode(), 60, mark)  # the prompt box shows the cleaned text
        big = "x" * (MAX_PROMPT_CHARS + 1000)
        mark = app.mark()
        app.write(b"\x1b[200~" + big.encode() + b"\x1b[201~", 120)
        app.wait_for_output(b"x" * 60, 120, mark)  # the prompt box shows the pasted x's
        report = _quit_and_report(app, 120)
    finally:
        pty_app.stop(app)
    assert report["notes"][-2:] == [
        "Pasted text: 2 line breaks and 1 tab became spaces; 4 control characters (such as ESC or bidi overrides) were "
        "removed. The prompt box shows exactly what will be sent.",
        f"The prompt box holds at most {MAX_PROMPT_CHARS:,} characters (256 KiB): what did not fit was not added. "
        "Shorten the prompt, or send the rest as a follow-up (i) after the answers.",
    ]
    assert report["prompt"] == cleaned + "x" * (MAX_PROMPT_CHARS - len(cleaned))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_termination_signal_restores_the_terminal(demo_config_path: Path, tmp_path: Path, sig: int) -> None:
    app = pty_app.start(demo_config_path, tmp_path)
    try:
        app.wait_for_output(pty_app.READY, 120)
        mark = app.mark()
        app.signal(sig)
        assert app.wait_exit(60) == 128 + sig  # ended by the app itself, not killed by the signal
        app.wait_for_output(ALT_SCREEN_OFF, 10, mark)  # the alternate screen was left: the terminal is restored
    finally:
        pty_app.stop(app)
