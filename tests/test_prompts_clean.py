"""A pasted prompt is cleaned once, visibly: what the one-line box shows is what is sent and stored."""

from __future__ import annotations

import unicodedata

import pytest

from arena.prompts.clean import clean_pasted


def test_plain_text_is_untouched() -> None:
    text = "Explain Q2_K vs Q4_K_M — «quotes», emoji 👩‍💻, CJK 量子化"
    cleaned = clean_pasted(text)
    assert cleaned.text == text and not cleaned.changed and cleaned.note() is None


def test_every_line_is_kept_and_controls_are_named() -> None:
    cleaned = clean_pasted("a\r\nb\nc\rd\te\x1b[31mred\x07\u202eevil\u2066x\u2069\x9b\x7f")
    assert cleaned.text == "a b c d e[31mredevilx"
    assert (cleaned.line_breaks, cleaned.tabs, cleaned.removed) == (3, 1, 7)
    assert cleaned.note() == ("Pasted text: 3 line breaks and 1 tab became spaces; 7 control characters (such as ESC "
                              "or bidi overrides) were removed. The prompt box shows exactly what will be sent.")


@pytest.mark.parametrize("code", [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_no_control_or_bidi_override_survives(code: int) -> None:
    out = clean_pasted(f"x{chr(code)}y").text
    # Independent check: nothing left is a control (Cc) or one of the bidi embedding/override/isolate characters.
    assert all(unicodedata.category(ch) != "Cc" for ch in out)
    assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in out)
    assert out in ("xy", "x y")
