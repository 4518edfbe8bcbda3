"""The one sanitizer for text that did not come from this program, on its way to a terminal.

Untrusted text is everything this program did not write itself: model output, a server's error bodies and model names,
YAML values, file names, messages of library exceptions. It is stored exactly; only what is *drawn* passes through
`visible()`, in the TUI (answers, error boxes, status line, notifications, reveal) and in the CLI (stdout and stderr).

What a terminal would act on instead of showing is turned into something a person can see and read:
- C0 controls (ESC, BEL, BS, CR, NUL, ...) become Unicode "control pictures" (ESC -> U+241B), DEL becomes U+2421. Every
  escape sequence (CSI `ESC [`, OSC `ESC ]` including title changes, OSC 8 hyperlinks and OSC 52 clipboard writes, DCS
  `ESC P`, ...) starts with ESC, so it is shown as text and never interpreted: "ESC ]0;x BEL" shows as "␛]0;x␇".
- C1 controls (U+0080-U+009F; U+009B is a one-character CSI, U+009D an OSC) have no pictures: shown as `\\x9b`.
- Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) would reorder the text around them ("Trojan Source"): shown
  as `\\u202e`. Lone surrogates (from a server's JSON) cannot be encoded for a terminal at all: shown as `\\ud800`.
- Newline and tab are kept where layout needs them (`newlines=False` shows a newline as U+2424 for one-line places).

The result contains none of those characters, so applying `visible()` twice changes nothing (it is idempotent), and
text without them is returned unchanged. Lowest layer: no imports from the rest of `arena`.
"""

from __future__ import annotations

import re

# \t (0x09) and \n (0x0a) are left out of the first range on purpose; the newline is added back for one-line use.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_MULTI_LINE = re.compile(f"[{_UNSAFE}]")
_ONE_LINE = re.compile(f"[{_UNSAFE}\n]")

NEWLINE_PICTURE = "\u2424"  # SYMBOL FOR NEWLINE
DEL_PICTURE = "\u2421"  # SYMBOL FOR DELETE


def _picture(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return NEWLINE_PICTURE
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures block mirrors C0 one to one
    if code == 0x7F:
        return DEL_PICTURE
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str, *, newlines: bool = True) -> str:
    """`text` with every control, escape sequence, bidi override and lone surrogate made visible (see module doc)."""
    return (_MULTI_LINE if newlines else _ONE_LINE).sub(_picture, text)


def one_line(text: str) -> str:
    """`visible()` for places with room for one line (status line, titles): newlines are shown, not obeyed."""
    return visible(text, newlines=False)


def is_visible(text: str) -> bool:
    """True when `visible(text) == text`: nothing in it needs treatment."""
    return _MULTI_LINE.search(text) is None
