"""Make model text safe to draw: it is shown literally, never interpreted.

Markdown rendering in Textual does not interpret Rich/Textual markup, so "[bold red]x[/]" already shows as typed. What
must not reach the terminal are control characters: ESC (ANSI/CSI/OSC sequences such as OSC 52 clipboard writes or title
changes), BEL, backspace, carriage returns, DEL and C1 controls. They are replaced by visible Unicode "control pictures"
(ESC -> U+241B), so a person sees that the model emitted them. The store keeps the exact original text.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_PICTURES = {0x7F: "\u2421"}


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code in _PICTURES:
        return _PICTURES[code]
    return f"\\x{code:02x}"  # C1 controls have no pictures: show their escape


def visible_text(text: str) -> str:
    """Replace control characters (keeping newline and tab) with visible stand-ins."""
    return _CONTROL.sub(_picture, text)
