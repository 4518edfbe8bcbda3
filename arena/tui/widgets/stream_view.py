"""A Markdown view that grows by appends at a cost that does not depend on how long the answer already is.

Textual's Markdown.append re-parses from the last top-level block and re-joins the whole source, so one long answer
in one widget gets slower per token as it grows. We split the answer over a chain of Markdown widgets: when the current
one holds more than CHUNK_CHARS, the next fragment that starts at a block boundary (blank line, outside a code fence)
begins a new widget; a single block longer than HARD_LIMIT (e.g. a 1 MB line) is split at the next newline or space.
Appending therefore touches only the last, bounded widget.

Bounded widgets are not enough on their own: Textual's compositor re-arranges every displayed widget of the screen on
each layout (and a Markdown chunk is dozens of block widgets), so a 5,000-token answer made each append ~10x dearer than
a 100-token one (measured in benchmarks/tui.py). So finished chunks far from the viewport are virtualized: the owner
(AnswerPane) calls `virtualize(top, bottom)` with the band of lines worth keeping live, and each finished chunk outside
it is swapped for a blank ChunkSpacer of exactly its laid-out height (display toggles, no mounts, same layout), and
swapped back before it comes into view. A width change brings every chunk back, since their heights change with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Markdown

from arena.tui.sanitize import visible_text

CHUNK_CHARS = 2_000
HARD_LIMIT = 8_000


class ChunkSpacer(Widget):
    """Draws nothing; holds the place (height) of a hidden finished chunk."""

    DEFAULT_CSS = "ChunkSpacer { height: 0; margin: 0; padding: 0; }"


@dataclass(eq=False)
class _Chunk:
    md: Markdown
    spacer: ChunkSpacer
    ready: bool = False  # finished, and laid out since (at this width)
    hidden: bool = False


class StreamView(Vertical):
    DEFAULT_CSS = """
    StreamView { height: auto; }
    StreamView > Markdown { margin: 0; padding: 0 1 0 0; }
    """

    class ChunksReady(Message):
        """A finished chunk has its final height: the owner may virtualize again."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._current: Markdown | None = None
        self._current_len = 0
        self._in_fence = False
        self._text = ""
        self._chunks: list[_Chunk] = []
        self._width = 0

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
        if self._chunks:
            self._mark_ready(self._chunks[-1])  # the previous chunk is finished
        md = Markdown("", open_links=False)
        spacer = ChunkSpacer()
        spacer.display = False
        await self.mount_all([spacer, md])  # the spacer sits where its chunk is, so swapping keeps every line in place
        self._chunks.append(_Chunk(md, spacer))
        self._current = md
        self._current_len = 0

    def _mark_ready(self, chunk: _Chunk, refreshes: int = 2) -> None:
        """Ready after two more refreshes: by then the layout that followed its last append has surely run (one
        callback can run early, while another widget holds a batch update)."""
        if chunk not in self._chunks or chunk.ready:
            return
        if refreshes > 1:
            self.call_after_refresh(self._mark_ready, chunk, refreshes - 1)
        else:
            chunk.ready = True
            self.post_message(self.ChunksReady())

    def virtualize(self, top: int, bottom: int, size: Size) -> None:
        """Keep chunks overlapping lines [top, bottom) of this view live; swap finished ones outside for spacers.

        `size` is this view's laid-out size. Offsets and heights come from our own arrangement at that size: what the
        compositor uses (cached by Textual, so usually free), and right even for chunks off screen, whose
        `outer_size` Textual does not refresh."""
        regions = {p.widget: p.region for p in self.arrange(size).placements}
        last = len(self._chunks) - 1
        for i, chunk in enumerate(self._chunks):
            region = regions.get(chunk.spacer if chunk.hidden else chunk.md)
            if region is None:
                continue
            near = region.y < bottom and region.bottom > top
            if chunk.hidden and near:
                self._show(chunk)
            elif not chunk.hidden and not near and chunk.ready and i < last and region.height > 0:
                chunk.spacer.styles.height = region.height
                chunk.spacer.display = True
                chunk.md.display = False
                chunk.hidden = True

    @staticmethod
    def _show(chunk: _Chunk) -> None:
        chunk.md.display = True
        chunk.spacer.display = False
        chunk.hidden = False

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            # Heights depend on the width: bring every chunk back; they are measured again after this layout.
            self._width = event.size.width
            for i, chunk in enumerate(self._chunks):
                if chunk.hidden:
                    self._show(chunk)
                if i < len(self._chunks) - 1:
                    chunk.ready = False
                    self._mark_ready(chunk)

    async def clear(self) -> None:
        await self.remove_children()
        self._chunks = []
        self._current = None
        self._current_len = 0
        self._in_fence = False
        self._text = ""
