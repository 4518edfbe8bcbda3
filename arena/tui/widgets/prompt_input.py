"""The prompt box: a one-line Input that holds at most MAX_PROMPT_CHARS and shows exactly what will be sent.

Every way text gets in (a key, a bracketed paste, a coalesced unbracketed paste, see `arena.tui.input_flood`) ends in
`replace`, so the cap holds for all of them; pasted control characters and line breaks are cleaned once, with a note
(`arena.prompts.clean`), so the box never holds text it does not show.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from arena.battle.controller import MAX_PROMPT_CHARS
from arena.prompts.clean import clean_pasted


class PromptInput(Input):
    def __init__(self, *args: object, limit: int = MAX_PROMPT_CHARS, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self._over_limit = False  # one message per overflow, not one per key of a flood
        self.dropped = 0  # characters refused by the cap since the box was last under it (for the message and tests)

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()  # Input's own handler would keep only the first line, uncleaned
        if not event.text:
            return
        cleaned = clean_pasted(event.text)
        note = cleaned.note()
        if note:
            self.notify(note, timeout=8)
        if cleaned.text:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(cleaned.text)
            else:
                self.replace(cleaned.text, *selection)

    def replace(self, text: str, start: int, end: int) -> None:
        value = self.value
        start, end = sorted((max(0, start), min(len(value), end)))
        room = self.limit - (len(value) - (end - start))
        if len(text) > room:
            kept = max(0, room)
            self._overflow(len(text) - kept)
            text = text[:kept]
            if not text and start == end:
                return
        elif len(value) - (end - start) + len(text) < self.limit:
            self._over_limit = False
            self.dropped = 0
        super().replace(text, start, end)

    def _overflow(self, dropped: int) -> None:
        self.dropped += dropped
        if not self._over_limit:
            self._over_limit = True
            self.notify(
                f"The prompt box holds at most {self.limit:,} characters ({self.limit // 1024} KiB): what did not fit "
                "was not added. Shorten the prompt, or send the rest as a follow-up (i) after the answers.",
                severity="warning",
                timeout=10,
            )
