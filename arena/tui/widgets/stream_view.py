"""One streamed answer drawn as Markdown, at a cost per append and per frame that does not grow with its length.

Why not Textual's `Markdown` widget: it builds a widget per block (paragraphs, list items, table cells, fences), and the
compositor re-arranges and re-styles every one of them on each layout. With two panes of Markdown a single scroll or
key press repainted ~100 widgets (~60-110 ms of CPU on this 2-core machine; measured in benchmarks/tui.py), which missed
the keypress-to-repaint target by far. Here an answer is ONE widget that draws lines (Textual's line API):

- The source is split into chunks at block boundaries (see `_split_point`) once a chunk holds CHUNK_CHARS; a single
  block longer than HARD_LIMIT (e.g. a 1 MB line) is cut at its last newline or at the limit. An append re-renders
  only the last chunk, so its cost is bounded however long the answer is.
- Each chunk is rendered by Rich's Markdown (with code highlighting) to lines once per width and kept; a frame asks only
  for the lines on screen, and Textual caches those too.
- After a width change (a terminal resize) chunks are NOT all re-rendered at once (a 434 KB answer took 2.7 s): a chunk
  that was rendered at another width keeps an estimated height (its lines' drawn widths re-wrapped at the new width)
  until it is near the viewport. The scrolling container asks for the lines it is about to show (`prepare`) and keeps
  the reader's text in place while estimates turn into real heights (`arena.tui.widgets.answer_pane`).
- Model text is shown literally: raw HTML is not interpreted (it would otherwise be dropped silently), links are not
  made clickable, Rich/Textual markup is plain text to Markdown, and control characters are replaced by visible
  pictures first (`arena.untrusted.visible`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.markdown import Markdown
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from arena.untrusted import visible

# An append re-renders the last chunk: about this many characters (more for one long block). 400 cut the median append
# cost by ~30% against 1,000 in benchmarks/tui.py; the per-frame cost does not depend on it.
CHUNK_CHARS = 400
HARD_LIMIT = 4_000
CODE_THEME = "monokai"

# CommonMark with raw HTML off: "<b>x</b>" or "<script>" must show as typed, not vanish (Rich drops HTML it cannot draw).
_PARSER = MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


# Rich puts a blank line before a block when the element closed just before it asks for one (all but a horizontal rule).
# For a document's first block that is never the case for a leaf block, while a list, quote or table gets its blank line
# from its own inner elements. So a chunk that starts with a leaf block after a block boundary gets the blank line it
# would have had in the whole answer (checked against a whole-answer render in tests/test_tui_stream_view.py).
_LEAF_BLOCKS = {"paragraph_open", "heading_open", "fence", "code_block", "hr"}


_LIST_MARKER = re.compile(r"([-*+]|\d{1,9}[.)])(\s|$)")


def _starts_new_block(line: str) -> bool:
    return not line[:1].isspace() and not _LIST_MARKER.match(line)


def _in_fence_after(text: str, in_fence: bool) -> bool:
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
    return in_fence


class LiteralMarkdown(Markdown):
    """Rich Markdown parsed without raw HTML and without terminal hyperlinks."""

    def __init__(self, markup: str) -> None:
        super().__init__("", code_theme=CODE_THEME, hyperlinks=False)
        self.markup = markup
        self.parsed = _PARSER.parse(markup)


@dataclass(eq=False)
class _Chunk:
    source: str = ""
    lines: list[Strip] = field(default_factory=list)
    width: int = -1  # the width `lines` were rendered at; -1 = not rendered since the last change
    cells: list[int] = field(default_factory=list)  # drawn width of each line in `lines` (0 = blank): for estimates
    estimate: tuple[int, int] = (-1, 0)  # (width, estimated height at that width), cached
    after_block: bool = False  # begins at a block boundary of the answer (not mid-block at HARD_LIMIT)
    ends_with_rule: bool = False  # its last top-level block is a horizontal rule (set when rendered)
    starts_in_fence: bool = False  # begins inside a ``` code fence (only after a HARD_LIMIT cut)


class StreamView(Widget):
    DEFAULT_CSS = """
    StreamView { height: auto; padding: 0 1 0 0; }
    """

    def __init__(self, *, lazy: bool = True, id: str | None = None, classes: str | None = None) -> None:
        """lazy: after a width change, re-render only the chunks asked for (`prepare`, or drawn); False re-renders
        every chunk at once (the behaviour before; benchmarks/tui.py measures both)."""
        super().__init__(id=id, classes=classes)
        self._lazy = lazy
        self._text = ""
        self._chunks: list[_Chunk] = []
        self._starts: list[int] = []  # first line of each chunk, valid for the width of the last _layout_at
        self._heights: list[int] = []  # lines of each chunk at that width: real, or estimated (not rendered at it yet)
        self._estimated = 0  # how many of _heights are estimates
        self._laid_out_width = -1  # the width _starts and _heights are valid for; -1 after a change
        self._line_style: Style | None = None  # this widget's style, looked up once per render pass (it is not free)
        self._height = 0
        self.chunk_renders = 0  # chunks rendered to lines so far (tests and benchmarks count them)
        # Called just before estimated heights are replaced by real ones outside `prepare` (a full render for copying,
        # or a chunk drawn before it was asked for): the scrolling container notes where the reader is, to keep it.
        self.before_reflow: Callable[[], None] | None = None

    @property
    def text(self) -> str:
        """Exactly what was appended (before control characters were made visible)."""
        return self._text

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    @property
    def estimated_chunks(self) -> int:
        """Chunks whose height at the current width is still an estimate (not rendered at this width)."""
        return self._estimated

    def rendered_lines(self) -> list[str]:
        """The plain text of every line as drawn at the current width (for tests and copying): renders every chunk."""
        width = self._content_width()
        self._layout_at(width)
        if self._estimated:
            if self.before_reflow is not None:
                self.before_reflow()
            if self.prepare(0, self._height):
                self.refresh(layout=True)
        return [strip.text.rstrip() for chunk in self._chunks for strip in chunk.lines]

    # -- appending ----------------------------------------------------------------------------------------------------
    def append(self, fragment: str) -> None:
        if not fragment:
            return
        self._text += fragment
        if not self._chunks:
            self._chunks.append(_Chunk())
        changed = len(self._chunks) - 1  # the first chunk this append re-renders
        current = self._chunks[-1]
        current.source += visible(fragment)
        current.width = -1
        while len(current.source) >= CHUNK_CHARS:
            cut, at_block = self._split_point(current)
            if cut is None:
                break
            tail = _Chunk(source=current.source[cut:], after_block=at_block,
                          starts_in_fence=_in_fence_after(current.source[:cut], current.starts_in_fence))
            current.source = current.source[:cut]
            self._chunks.append(tail)
            current = tail
        self._laid_out_width = -1
        width = self._content_width()
        if width > 0:
            # Render now, so a frame only has to copy lines. A new height needs a layout (and Textual then repaints the
            # whole widget); the same height only a repaint of the lines from the first changed chunk down.
            before = self._height
            self._layout_at(width)
            if self._height != before:
                self.refresh(layout=True)
            else:
                first = self._starts[changed] if changed < len(self._starts) else 0
                self.refresh(Region(0, first, self.outer_size.width, max(1, self._height - first)))
        else:
            self.refresh(layout=True)

    @staticmethod
    def _split_point(chunk: _Chunk) -> tuple[int | None, bool]:
        """Where to end `chunk` (which holds at least CHUNK_CHARS): at a block boundary between CHUNK_CHARS / 2 and
        CHUNK_CHARS (the last one), or else the first one up to HARD_LIMIT; failing that, once it holds HARD_LIMIT, after
        its last newline, or at HARD_LIMIT. Returns (index or None, whether the cut is at a block boundary). Scans at
        most HARD_LIMIT characters, so a megabyte appended at once is split in linear time.

        A block boundary is a blank line outside a code fence whose next line is already complete and starts a block
        that cannot continue the one before: not indented (a list item's continuation, indented code) and not a list
        marker (a loose list's next item). Splitting there draws the same lines as the whole answer would."""
        source = chunk.source
        limit = min(len(source), HARD_LIMIT)
        best: int | None = None
        in_fence = chunk.starts_in_fence
        lines = source[: limit + 1].split("\n")
        pos = 0
        for i in range(len(lines) - 2):  # the last two may be incomplete: a boundary needs a complete next line
            line = lines[i]
            pos += len(line) + 1
            if pos > limit:
                break
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            elif not line.strip() and not in_fence and pos >= CHUNK_CHARS // 2 and _starts_new_block(lines[i + 1]):
                if best is not None and pos > CHUNK_CHARS:
                    break
                best = pos
                if pos > CHUNK_CHARS:
                    break
        if best is not None:
            return best, True
        if len(source) < HARD_LIMIT:
            return None, False
        newline = source.rfind("\n", CHUNK_CHARS // 2, HARD_LIMIT)
        return (newline + 1 if newline >= 0 else HARD_LIMIT), False

    # -- rendering ----------------------------------------------------------------------------------------------------
    def _content_width(self) -> int:
        return self.content_region.width if self.is_mounted else 0

    def _layout_at(self, width: int) -> None:
        """Line offsets of every chunk at `width`. A chunk changed since it was last rendered (only the last one changes
        while streaming) is rendered now; one rendered at another width (after a resize) gets an estimated height when
        lazy, and is rendered when asked for (`prepare`) or drawn."""
        if width <= 0 or width == self._laid_out_width:
            return
        for index, chunk in enumerate(self._chunks):
            if chunk.width != width and (chunk.width == -1 or not self._lazy):
                self._render(index, width)
        self._measure(width)

    def _render(self, index: int, width: int) -> None:
        chunk = self._chunks[index]
        console = self.app.console
        options = console.options.update(width=width, height=None, min_width=width, max_width=width)
        # A chunk cut inside a long code fence (HARD_LIMIT) reopens the fence, so it still draws as code.
        markdown = LiteralMarkdown("```\n" + chunk.source if chunk.starts_in_fence else chunk.source)
        rendered = console.render_lines(markdown, options, pad=False, new_lines=False)
        chunk.lines = [Strip(Segment.simplify(line)) for line in rendered]
        chunk.width = width
        top = [token for token in markdown.parsed if token.level == 0]
        chunk.ends_with_rule = bool(top) and top[-1].type == "hr"
        previous_ends_with_rule = index > 0 and self._chunks[index - 1].ends_with_rule
        if chunk.after_block and top and top[0].type in _LEAF_BLOCKS and not previous_ends_with_rule:
            chunk.lines.insert(0, Strip.blank(width))
        chunk.cells = [cell_len(strip.text.rstrip()) for strip in chunk.lines]
        self.chunk_renders += 1

    @staticmethod
    def _estimate(chunk: _Chunk, width: int) -> int:
        """Lines `chunk` will take at `width`, from the lines it drew at another: a blank line stays one line, a drawn
        line takes its width / `width` lines but at least one (wrapped paragraph lines re-flow, code and list lines do
        not merge). Corrected when the chunk is rendered."""
        if chunk.estimate[0] != width:
            rows = sum(max(1.0, cells / width) for cells in chunk.cells)
            chunk.estimate = (width, round(rows))
        return chunk.estimate[1]

    def _measure(self, width: int) -> None:
        starts: list[int] = []
        heights: list[int] = []
        total = estimated = 0
        for chunk in self._chunks:
            if chunk.width == width:
                height = len(chunk.lines)
            else:
                height = self._estimate(chunk, width)
                estimated += 1
            starts.append(total)
            heights.append(height)
            total += height
        self._starts, self._heights, self._height, self._estimated = starts, heights, total, estimated
        self._laid_out_width = width

    # -- lazy re-rendering after a width change (used by the scrolling container) -------------------------------------
    def _indices(self, top: int, bottom: int) -> range:
        """Indices of the chunks that overlap lines [top, bottom) of the current layout."""
        if not self._starts or bottom <= top or bottom <= 0 or top >= self._height:
            return range(0)
        first = max(0, bisect_right(self._starts, max(0, top)) - 1)
        last = bisect_right(self._starts, bottom - 1)
        return range(first, last)

    def has_estimates(self, top: int, bottom: int) -> bool:
        """Whether lines [top, bottom) include a chunk not yet rendered at the current width."""
        if not self._estimated:
            return False
        width = self._laid_out_width
        return any(self._chunks[i].width != width for i in self._indices(top, bottom))

    def prepare(self, top: int, bottom: int) -> bool:
        """Render the chunks overlapping lines [top, bottom) that are not rendered at the current width. Returns
        whether a height changed (the container must lay out again; lines after those chunks moved)."""
        width = self._laid_out_width
        if width <= 0 or not self._estimated:
            return False
        moved = rendered = False
        for index in self._indices(top, bottom):
            if self._chunks[index].width != width:
                self._render(index, width)
                rendered = True
                moved = moved or len(self._chunks[index].lines) != self._heights[index]
        if rendered:
            self._measure(width)
        if moved:
            # The container re-arranges at once (it is mid-arrangement): Textual caches each widget's box model under
            # this counter, which `refresh(layout=True)` bumps only when no layout is pending yet.
            self._layout_updates += 1
        # No repaint here: no line of a chunk rendered now was drawn (and cached by Textual) at this width before.
        return moved

    def locate(self, y: int) -> tuple[int, float]:
        """(chunk index, how far into that chunk's text) at line `y`: a place in the text that survives a change of
        width, unlike a line number. Measured in drawn cells (a blank line counts one) when the chunk is rendered at
        this width, so a code line and a re-wrapped paragraph line each keep their share."""
        if not self._starts:
            return 0, 0.0
        index = max(0, min(bisect_right(self._starts, y) - 1, len(self._starts) - 1))
        local = max(0, y - self._starts[index])
        chunk = self._chunks[index]
        if chunk.width == self._laid_out_width and chunk.cells:
            weights = [max(1, cells) for cells in chunk.cells]
            return index, sum(weights[:local]) / sum(weights)
        height = self._heights[index]
        return index, (min(local, height) / height if height else 0.0)

    def position(self, place: tuple[int, float]) -> int:
        """The line that shows `place` (from `locate`) in the current layout."""
        index, fraction = place
        if index >= len(self._starts):
            return self._height
        chunk = self._chunks[index]
        if chunk.width == self._laid_out_width and chunk.cells:
            weights = [max(1, cells) for cells in chunk.cells]
            target = fraction * sum(weights) + 1e-9
            reached = 0
            for line, weight in enumerate(weights):
                reached += weight
                if reached > target:
                    return self._starts[index] + line
            return self._starts[index] + len(weights) - 1
        return self._starts[index] + int(fraction * self._heights[index] + 0.5)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._layout_at(width)
        return self._height

    def render_lines(self, crop: Region) -> list[Strip]:
        self._line_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._line_style = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self._line_style or self.rich_style
        self._layout_at(width)
        index = bisect_right(self._starts, y) - 1
        if index < 0 or y >= self._height:
            return Strip.blank(width, style)
        chunk = self._chunks[index]
        before = self._height
        while chunk.width != width:
            # Not asked for by the container before being drawn (a StreamView outside AnswerPane, or a frame between a
            # scroll and its layout): render it now, and lay out again if that moved the lines below it. Its real
            # height can differ from the estimate, so line y may now fall into another chunk still at the old width:
            # repeat until the chunk under y is rendered at this width.
            self._render(index, width)
            if len(chunk.lines) != self._heights[index] and self.before_reflow is not None:
                self.before_reflow()
            self._measure(width)
            if y >= self._height:
                break
            index = bisect_right(self._starts, y) - 1
            chunk = self._chunks[index]
        if self._height != before:
            self.refresh(layout=True)
        offset = y - self._starts[index]
        if y >= self._height or not 0 <= offset < len(chunk.lines):
            return Strip.blank(width, style)
        strip = chunk.lines[offset]
        if (selection := self.text_selection) is not None:
            strip = self._select(strip, y, selection)
        return strip.crop_extend(0, width, style).apply_style(style).apply_offsets(0, y)

    def _select(self, strip: Strip, y: int, selection: Selection) -> Strip:
        span = selection.get_span(y)
        if span is None:
            return strip
        start, end = span
        length = strip.cell_length
        end = length if end == -1 else min(end, length)
        if start >= end:
            return strip
        selected: Style = self.screen.get_component_rich_style("screen--selection")
        before, inside, after = strip.divide([start, end, length])
        return Strip.join([before, inside.apply_style(selected), after])

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """Mouse selection copies the answer as drawn (lines as on screen)."""
        return selection.extract("\n".join(self.rendered_lines())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()
