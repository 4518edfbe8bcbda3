"""One blind pane: the conversation as this side's model saw it, its streamed answers, and, after the vote, the reveal.

Both panes are built identically (same width, colours, labels "A"/"B"); nothing about the model is drawn before the vote.
"""

from __future__ import annotations

from typing import Final, Literal

from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.layout import DockArrangeResult
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets import Static

from arena.untrusted import one_line, visible
from arena.tui.widgets import stream_view
from arena.tui.widgets.stream_view import StreamView

# Where the reader is, in terms that survive a change of width: the widget at the top of the view and, in an answer,
# (chunk, fraction of it) from StreamView.locate, else a line offset from the widget's top; or the end of the pane.
_Place = tuple[Widget, tuple[int, float] | None, int] | Literal["end"]
_END: Final = "end"


class AnswerPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    AnswerPane {
        width: 1fr;
        height: 1fr;
        border: round $primary-darken-1;
        border-title-align: center;
        border-subtitle-align: right;
        padding: 0 1;
        /* Keep the scrollbar's column even before an answer overflows, so the text width never changes mid-stream
           (a width change re-renders the whole answer). */
        scrollbar-gutter: stable;
    }
    AnswerPane:focus { border: round $accent; }
    AnswerPane .user-turn { color: $text-muted; text-style: italic; margin: 1 0 0 0; }
    AnswerPane .pane-error { color: $error; margin: 1 0 0 0; }
    AnswerPane .reveal { border: round $success; padding: 0 1; margin: 1 0 0 0; height: auto; }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.border_title = label
        self.shown = 0  # characters of the current turn's answer already appended
        self.queued = 0  # characters handed to enqueue() for the current turn (>= shown)
        self._generation = 0  # bumped when the turn's widgets change, so stale queued appends are dropped
        self._stream: StreamView | None = None
        self._turns: list[list[Widget]] = []  # widgets of each turn, so regenerate can drop the last one
        self._follow_pending = False  # a scroll to the end is due after the next refresh
        self._placed: list[tuple[Widget, Region]] = []  # each child's region in the scrolled content, last arrange
        self._arranged_width = -1
        self._arranged_height = 0  # of the view (the size the children were last arranged in)
        self._place_due: _Place | None = None  # the reader's place, to keep at the next arrange
        self._margin_due = False  # the next arrange also renders a screen above and below the view
        self._margin_scheduled = False

    async def start_turn(self, user_text: str) -> None:
        prompt = Static(Text("You: " + visible(user_text)), classes="user-turn")
        self._stream = StreamView(classes="answer")
        if isinstance(self._stream, stream_view.StreamView):  # (benchmarks/tui.py swaps in a reference renderer)
            self._stream.before_reflow = self._keep_place
        self._turns.append([prompt, self._stream])
        self._generation += 1
        await self.mount(prompt, self._stream)
        self.shown = self.queued = 0
        self.call_after_refresh(self.scroll_end, animate=False)

    async def drop_last_turn(self) -> None:
        """For regenerate: remove the last prompt, its answer and any error shown for it."""
        self._generation += 1
        if self._turns:
            await self.remove_children(self._turns.pop())
        self._stream = None

    def enqueue(self, fragment: str) -> None:
        """Append without making the caller wait: the pane draws it from its own message queue, in order.
        The screen's refresh timer uses this so key presses are not queued behind Markdown re-rendering."""
        if fragment:
            self.queued += len(fragment)
            self.call_next(self._append_if_current, fragment, self._generation)

    async def _append_if_current(self, fragment: str, generation: int) -> None:
        if generation == self._generation:
            await self.append(fragment)

    async def append(self, fragment: str) -> None:
        if self._stream is not None and fragment:
            # Follow the answer as it grows, unless the person has scrolled up to read.
            following = self.scroll_y >= self.max_scroll_y - 1
            self._stream.append(fragment)
            self.shown += len(fragment)
            if following:
                # After the next refresh, when the new height is laid out. The person may scroll up before then: that
                # cancels it (watch_scroll_y), or the view would jump back to the end under them.
                self._follow_pending = True
                self.call_after_refresh(self._follow)

    def _follow(self) -> None:
        if self._follow_pending:
            self._follow_pending = False
            self.scroll_end(animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value:  # following only ever scrolls down: this is the person scrolling up to read
            self._follow_pending = False
        if self._place_due is None and self._estimates_in_view(round(new_value)):
            # Scrolled onto text not rendered at this width yet (after a resize): render it in the layout that goes
            # with this scroll (a layout pass includes the scroll), keeping the text now at the top where it is.
            self._keep_place()

    # -- lazy re-rendering after a width change ------------------------------------------------------------------------
    # After a resize an answer re-renders only what is near the view (StreamView estimates the rest). Its lines then
    # move as estimates become real heights; the reader's text must not. Textual's own hook for this (what
    # `Widget.anchor()` uses) is the arrangement: the compositor arranges a scrolling container's children, then reads
    # its scroll offset. So `arrange` finds the reader's place in the previous arrangement, lets the answers render the
    # lines the view will show, and sets the scroll offset, all before the frame is drawn: no frame shows a jump.
    def _views(self) -> list[StreamView]:
        return [child for child in self._nodes if isinstance(child, stream_view.StreamView)]

    def _estimates_in_view(self, y: int) -> bool:
        # Cheap when there is nothing to render (the usual case: every scroll while following the stream comes here).
        # No region queries: asking Textual for a widget's region right after a layout rebuilds its full map.
        height = self._arranged_height
        for widget, region in self._placed:
            if isinstance(widget, stream_view.StreamView) and widget.estimated_chunks and region.y < y + height \
                    and region.bottom > y:
                if widget.has_estimates(y - region.y, y + height - region.y):
                    return True
        return False

    def _keep_place(self) -> None:
        """Note where the reader is now; the next arrangement keeps that text at the top (or the end in view)."""
        if self._placed:
            if self._place_due is None:
                self._place_due = self._reader_place()
            self._clear_arrangement_cache()
            self.refresh(layout=True)

    def _render_margin(self) -> None:
        """After a frame: render a screen above and below the view too, so the next page key finds its lines
        rendered and its frame waits for no Markdown rendering."""
        self._margin_scheduled = False
        self._margin_due = True
        self._keep_place()

    def _reader_place(self) -> _Place | None:
        if self.scroll_y >= self.max_scroll_y - 1:
            return _END
        y = round(self.scroll_y)
        for widget, region in self._placed:
            if region.bottom > y:
                if isinstance(widget, stream_view.StreamView) and region.y <= y:
                    return widget, widget.locate(y - region.y), 0
                return widget, None, y - region.y
        return None

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        place, self._place_due = self._place_due, None
        views = self._views()
        if place is None and self._placed and (
            size.width != self._arranged_width or any(view.estimated_chunks for view in views)
        ):
            place = self._reader_place()
        result = super().arrange(size, optimal)
        if place is not None and views:
            result = self._settle(place, result, size, optimal, views)
        self._placed = sorted(((p.widget, p.region) for p in result.placements), key=lambda item: item[1].y)
        self._arranged_width, self._arranged_height = size.width, size.height
        return result

    def _settle(self, place: _Place, result: DockArrangeResult, size: Size, optimal: bool,
                views: list[StreamView]) -> DockArrangeResult:
        """Render what the view will show and scroll so that `place` is at the top again; repeat while rendering moved
        lines (estimates were off). A screen above and below is rendered after the frame (`_render_margin`)."""
        height = size.height
        margin, self._margin_due = (height if self._margin_due else 0), False
        top = round(self.scroll_y)
        relaid = False
        for _ in range(20):  # each round renders more chunks; in practice 1-3 rounds
            regions = {p.widget: p.region for p in result.placements}
            limit = max(0, result.total_region.bottom - height)
            if place == _END:
                top = limit
            else:
                widget, text_place, offset = place
                region = regions.get(widget)
                if region is not None:  # else the widget was removed: keep the offset
                    y = region.y + (widget.position(text_place) if text_place is not None
                                    and isinstance(widget, stream_view.StreamView) else offset)
                    top = max(0, min(y, limit))
            moved = False
            for view in views:
                region = regions.get(view)
                if region is not None and region.y < top + height + margin and region.bottom > top - margin:
                    moved = view.prepare(top - margin - region.y, top + height + margin - region.y) or moved
            if not moved:
                break
            relaid = True
            self._clear_arrangement_cache()
            result = super().arrange(size, optimal)
        if not margin and not self._margin_scheduled and any(
            view.has_estimates(top - height - region.y, top + 2 * height - region.y)
            for view in views if (region := regions.get(view)) is not None
        ):
            self._margin_scheduled = True
            self.call_after_refresh(self._render_margin)
        if relaid:
            # A scroll-only pass (no layout) updates no sizes: the content height and scrollbar catch up next frame.
            # (No repaint flag: marking a widget dirty asks the compositor for its region, which it is computing now.)
            self.refresh(layout=True, repaint=False)
        if top != round(self.scroll_y):
            self.set_reactive(AnswerPane.scroll_y, float(top))
            self.set_reactive(AnswerPane.scroll_target_y, float(top))
            if self._vertical_scrollbar is not None:  # as Textual's anchor does: no watcher runs mid-arrangement
                self._vertical_scrollbar.set_reactive(ScrollBar.position, top)
        return result

    # Keyboard scrolling jumps instead of animating (an animated page scroll repaints both linked panes about eight
    # times per key), and happens at once: Textual's default defers a scroll until after the next frame, so the frame
    # that shows it came one refresh later (measured in benchmarks/tui.py: two refreshes per page key instead of one).
    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False, immediate=True)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False, immediate=True)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self.scrollable_content_region.height, animate=False, immediate=True)

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self.scrollable_content_region.height, animate=False, immediate=True)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False, immediate=True)

    async def show_error(self, message: str) -> None:
        """An error line under this turn's answer (its text may quote a server: drawn through the sanitizer)."""
        error = Static(Text(visible(message)), classes="pane-error")
        if self._turns:
            self._turns[-1].append(error)
        await self.mount(error)

    async def reveal(self, title: str, body: Text) -> None:
        self.border_title = Text(f"{self.label} \u00b7 {one_line(title)}")  # Text: literal, never parsed as markup
        await self.mount(Static(body, classes="reveal"))
        self.scroll_end(animate=False)

    async def reset(self) -> None:
        self._generation += 1
        await self.remove_children()
        self._turns = []
        self._placed = []
        self.queued = 0
        self.border_title = self.label
        self.border_subtitle = ""
        self._stream = None
        self.shown = 0
