"""A Markdown view that grows by appends at a cost that does not depend on how long the answer already is.

Textual's Markdown.append re-parses from the last top-level block and re-joins the whole source, so one long answer
in one widget gets slower per token as it grows. We split the answer over a chain of Markdown widgets: when the current
one holds more than CHUNK_CHARS, the next fragment that starts at a block boundary (blank line, outside a code fence)
begins a new widget; a single block longer than HARD_LIMIT (e.g. a 1 MB line) is split at the next newline or space.
Appending therefore touches only the last, bounded widget.
"""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Markdown

from arena.tui.sanitize import visible_text

CHUNK_CHARS = 2_000
HARD_LIMIT = 8_000


class StreamView(Vertical):
    DEFAULT_CSS = """
    StreamView { height: auto; }
    StreamView > Markdown { margin: 0; padding: 0 1 0 0; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._current: Markdown | None = None
        self._current_len = 0
        self._in_fence = False
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    async def append(self, fragment: str) -> None:
        if not fragment:
            return
        self._text += fragment
        rest = visible_text(fragment)
        while rest:
            if self._current is None or self._current_len >= HARD_LIMIT:
                await self._new_widget()
            cut = min(len(rest), HARD_LIMIT - self._current_len)
            start_new = False
            if self._current_len + cut >= CHUNK_CHARS:
                boundary = self._block_boundary(rest[:cut])
                if boundary is not None and self._current_len + boundary >= CHUNK_CHARS // 2:
                    cut, start_new = boundary, True
            piece, rest = rest[:cut], rest[cut:]
            await self._current.append(piece)  # type: ignore[union-attr]
            self._current_len += len(piece)
            self._track_fences(piece)
            if start_new and rest:
                await self._new_widget()

    def _block_boundary(self, text: str) -> int | None:
        """End index (after a blank line) of the last block boundary in `text` that is outside a code fence."""
        in_fence = self._in_fence
        pos = 0
        best: int | None = None
        for line in text.split("\n")[:-1]:
            pos += len(line) + 1
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            elif not line.strip() and not in_fence:
                best = pos
        return best

    def _track_fences(self, piece: str) -> None:
        for line in piece.split("\n"):
            if line.lstrip().startswith("```"):
                self._in_fence = not self._in_fence

    async def _new_widget(self) -> None:
        md = Markdown("", open_links=False)
        await self.mount(md)
        self._current = md
        self._current_len = 0

    async def clear(self) -> None:
        await self.remove_children()
        self._current = None
        self._current_len = 0
        self._in_fence = False
        self._text = ""
