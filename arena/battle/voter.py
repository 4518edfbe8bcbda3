"""Who votes: the rule for a voter's name, shared by `--voter` and the team arena's name screen.

A name is untrusted text (a person typed it, possibly into a browser): it is stored exactly as accepted and drawn only
through `arena.untrusted`. The rule keeps out what would make it unreadable or misleading wherever it is printed
(statistics by voter, exports): control characters, line breaks, bidi overrides; and it bounds the length so a name
fits a status line and a table column.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_VOTER_CHARS = 40

# Bidi embeddings/overrides and isolates reorder the text around them ("Trojan Source"): a name holding one could
# display as another voter's name.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class VoterCheck:
    """A name accepted as `name` (outer whitespace removed), or refused with `reason` (words for the person)."""

    name: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.name is not None


def _refused_char(ch: str) -> bool:
    # Cc: C0, DEL, C1 (tab and newline included); Cs: lone surrogates; Zl/Zp: line and paragraph separators.
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def _joins_emoji(name: str, i: int) -> bool:
    """A zero-width joiner between two symbols, as inside an emoji sequence (👩\u200d💻), shows as one glyph."""
    return (name[i] == "\u200d" and 0 < i < len(name) - 1
            and unicodedata.category(name[i - 1]) == "So" and unicodedata.category(name[i + 1]) == "So")


def check_voter_name(value: str) -> VoterCheck:
    """1 to MAX_VOTER_CHARS characters after stripping outer whitespace, none of them a control character."""
    name = value.strip()
    if not name:
        return VoterCheck(reason=f"Type your name (1 to {MAX_VOTER_CHARS} characters): it is stored with each of your votes.")
    if len(name) > MAX_VOTER_CHARS:
        return VoterCheck(reason=f"That name has {len(name)} characters; at most {MAX_VOTER_CHARS} fit. Shorten it.")
    for position, ch in enumerate(name, start=1):
        if _refused_char(ch):
            return VoterCheck(
                reason=f"The name contains a control character (U+{ord(ch):04X}, character {position}): "
                "use letters, digits, spaces and punctuation only."
            )
        if unicodedata.category(ch) == "Cf" and not _joins_emoji(name, position - 1):
            # Zero-width spaces and joiners, word joiners, BOM, soft hyphens, bidi marks: invisible, so "bob" and
            # "bob\u200b" would be two voters that look like one in every per-voter table and agreement statistic.
            return VoterCheck(
                reason=f"The name contains an invisible formatting character (U+{ord(ch):04X}, character {position}): "
                "use letters, digits, spaces and punctuation only."
            )
    return VoterCheck(name=name)
