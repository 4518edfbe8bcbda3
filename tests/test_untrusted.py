"""The one sanitizer (arena.untrusted): what a terminal would act on is made visible; everything else is unchanged."""

from __future__ import annotations

import random
import unicodedata

import pytest

from arena.errors import ArenaError, EngineError, Public
from arena.prompts.leaks import find_leaks
from arena.untrusted import is_visible, one_line, visible

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
# Every code point a terminal (or a bidi-aware renderer) acts on instead of showing, besides newline and tab.
ACTIVE = [c for c in C0 if c not in "\n\t"] + ["\x7f"] + C1 + BIDI

ESCAPE_FORMS = {
    "csi-colour": "\x1b[31mred\x1b[0m",
    "csi-clear": "\x1b[2J\x1b[H",
    "osc-title-bel": "\x1b]0;PWNED\x07",
    "osc-title-st": "\x1b]2;PWNED\x1b\\",
    "osc-52-clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "osc-8-hyperlink": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "dcs": "\x1bP1$r0m\x1b\\",
    "c1-csi": "\x9b31m",
    "c1-osc": "\x9d0;PWNED\x9c",
    "ss3-keypad": "\x1bOA",
    "apc-pm-sos": "\x1b_x\x1b\\\x1b^y\x1b\\\x1bXz\x1b\\",
}


def dangerous(text: str) -> list[str]:
    return [c for c in text if c in ACTIVE or 0xD800 <= ord(c) <= 0xDFFF]


@pytest.mark.parametrize("char", ACTIVE, ids=[f"U+{ord(c):04X}" for c in ACTIVE])
def test_every_control_and_bidi_character_becomes_visible(char: str) -> None:
    shown = visible(f"a{char}b")
    assert shown.startswith("a") and shown.endswith("b")
    middle = shown[1:-1]
    assert middle and not dangerous(middle)
    # It is something a person can see: a printable symbol or a backslash escape, never blank or invisible.
    assert all(unicodedata.category(c)[0] not in "CZ" for c in middle), [hex(ord(c)) for c in middle]


def test_the_exact_stand_ins() -> None:
    assert visible("\x1b") == "\u241b"  # SYMBOL FOR ESCAPE
    assert visible("\x07") == "\u2407"  # SYMBOL FOR BELL
    assert visible("\x00") == "\u2400"
    assert visible("\r") == "\u240d"
    assert visible("\x7f") == "\u2421"
    assert visible("\x9b") == "\\x9b"
    assert visible("\u202e") == "\\u202e"
    assert visible("\u2066") == "\\u2066"
    assert visible("\ud800") == "\\ud800"  # a lone surrogate from a server's JSON could not even be encoded


@pytest.mark.parametrize("name", list(ESCAPE_FORMS))
def test_escape_sequences_are_shown_not_obeyed(name: str) -> None:
    raw = ESCAPE_FORMS[name]
    shown = visible(raw)
    assert not dangerous(shown)
    assert "\x1b" not in shown and "\x07" not in shown
    # The words of the sequence stay readable, so a person sees what a server or model tried.
    runs = "".join(c if c.isprintable() else "\0" for c in raw).split("\0")
    assert all(run in shown for run in runs if run)


def test_newline_and_tab_are_kept_for_layout_and_shown_on_one_line() -> None:
    assert visible("a\nb\tc") == "a\nb\tc"
    assert one_line("a\nb\tc") == "a\u2424b\tc"
    assert one_line("\x1b]0;x\x07\n") == "\u241b]0;x\u2407\u2424"


def test_plain_text_is_unchanged() -> None:
    samples = [
        "",
        "Hello, world.",
        "[bold red]markup[/] and <b>html</b> and $math$ and `code`",
        "e\u0301 Z\u0324 \U0001F469\u200d\U0001F469\u200d\U0001F467 \U0001D54F 日本語 עברית العربية",
        "\u200b\u200c\u200d\ufeff\u2028\u2029",  # zero-width and Unicode line breaks: inert on a terminal
        "control pictures themselves: \u241b \u2407 and escapes as text: \\x1b \\u202e",
    ]
    for s in samples:
        assert visible(s) == s and is_visible(s)


def test_idempotent_on_random_hostile_text() -> None:
    rng = random.Random(7)
    alphabet = ACTIVE + ["\n", "\t", "a", "[", "]", ";", "\\", "\u241b", "\ud83d", "\ude00", "é", "日"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        once = visible(text)
        assert visible(once) == once
        assert not dangerous(once)
        assert is_visible(once)
        assert one_line(one_line(text)) == one_line(text) and "\n" not in one_line(text)


def test_arena_error_render_is_sanitized_but_the_message_is_kept_exactly() -> None:
    body = "boom \x1b]0;PWNED\x07 \x1b]52;c;cHduZWQ=\x07 \x1b[31mred \u202eevil"
    exc = ArenaError(f"The server said: {body}", "try \x1b[5mblinking")
    assert exc.message == f"The server said: {body}"  # exact, for logs and storage
    assert body in exc.render_exact()
    for text in (exc.render(), str(exc)):
        assert not dangerous(text)
        assert "\u241b]0;PWNED\u2407" in text and "\\u202eevil" in text


def test_public_engine_texts_are_model_free() -> None:
    texts = Public.all()
    assert len(texts) >= 10 and len(set(texts)) == len(texts)
    for text in texts:
        assert find_leaks(text) == [] and is_visible(text) and "/" not in text and not any(ch.isdigit() for ch in text)
    assert EngineError("detail naming smollm2 at http://x").public == Public.FAILED
