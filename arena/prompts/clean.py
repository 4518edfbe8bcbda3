"""What a pasted prompt becomes in the one-line prompt box, so that what is sent and stored is what the box shows.

The box is one line and draws text as it is: a control character in it would either act on the terminal or vanish from
view while still being sent. So a paste is cleaned once, visibly: line breaks and tabs become a space (a multi-line
paste keeps all its lines, not only the first), and other controls (C0, DEL, C1, ESC sequences' introducer, and the bidi
overrides U+202A-U+202E / U+2066-U+2069 that reorder how text looks) are removed. The caller shows `note()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_REMOVED = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class CleanedPrompt:
    text: str
    line_breaks: int = 0
    tabs: int = 0
    removed: int = 0  # control characters dropped

    @property
    def changed(self) -> bool:
        return bool(self.line_breaks or self.tabs or self.removed)

    def note(self) -> str | None:
        """One sentence for the person, or None when the text went in unchanged."""
        if not self.changed:
            return None
        parts = []
        if self.line_breaks:
            parts.append(f"{self.line_breaks} line break{'s' * (self.line_breaks != 1)}")
        if self.tabs:
            parts.append(f"{self.tabs} tab{'s' * (self.tabs != 1)}")
        said = ""
        if parts:
            said = " and ".join(parts) + (" became spaces" if self.line_breaks + self.tabs != 1 else " became a space")
        if self.removed:
            gone = f"{self.removed} control character{'s' * (self.removed != 1)} (such as ESC or bidi overrides) " \
                   f"{'were' if self.removed != 1 else 'was'} removed"
            said = f"{said}; {gone}" if said else gone
        return f"Pasted text: {said}. The prompt box shows exactly what will be sent."


def clean_pasted(text: str) -> CleanedPrompt:
    text, breaks = _BREAKS.subn(" ", text)
    tabs = text.count("\t")
    text = text.replace("\t", " ")
    text, removed = _REMOVED.subn("", text)
    return CleanedPrompt(text=text, line_breaks=breaks, tabs=tabs, removed=removed)
