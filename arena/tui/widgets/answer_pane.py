"""One blind pane: the conversation as this side's model saw it, its streamed answers, and, after the vote, the reveal.

Both panes are built identically (same width, colours, labels "A"/"B"); nothing about the model is drawn before the vote.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static

from arena.tui.sanitize import visible_text
from arena.tui.widgets.stream_view import StreamView

# Finished answer chunks within this fraction of a viewport height above or below the visible lines stay live widgets; farther
# ones are swapped for blank spacers (see stream_view), so the cost of a frame does not grow with the conversation.
LIVE_MARGIN_VIEWPORTS = 0.25


class AnswerPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    AnswerPane {
        width: 1fr;
        height: 1fr;
        border: round $primary-darken-1;
        border-title-align: center;
        border-subtitle-align: right;
        padding: 0 1;
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

    async def start_turn(self, user_text: str) -> None:
        prompt = Static(Text("You: " + visible_text(user_text)), classes="user-turn")
        self._stream = StreamView(classes="answer")
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
            await self._stream.append(fragment)
            self.shown += len(fragment)
            if following:
                self.call_after_refresh(self.scroll_end, animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._virtualize(new_value)

    @on(StreamView.ChunksReady)
    def _chunks_ready(self, event: StreamView.ChunksReady) -> None:
        event.stop()
        self._virtualize(self.scroll_y)

    def _virtualize(self, scroll_y: float) -> None:
        """Show the answer chunks near the viewport (about to be drawn), hide the rest behind same-height spacers.

        Runs on every scroll step, so it must not ask the compositor where widgets are (`virtual_region` rebuilds the
        whole screen map after a scroll). Our own arrangement gives the same offsets: it is what the compositor laid
        out (same size, same children), cached by Textual, and costs O(turns) when it is not."""
        gutter = self.scrollbar_gutter
        size = Size(max(0, self.container_size.width - gutter.width), max(0, self.container_size.height - gutter.height))
        if not size.height:
            return
        margin = int(size.height * LIVE_MARGIN_VIEWPORTS)
        top, bottom = int(scroll_y) - margin, int(scroll_y) + size.height + margin
        for placement in self.arrange(size).placements:
            if isinstance(placement.widget, StreamView):
                y = placement.region.y  # in this pane's scrollable area, like scroll_y
                placement.widget.virtualize(top - y, bottom - y, placement.region.size)

    # Keyboard scrolling jumps instead of animating: an animated page scroll repaints both panes (they are linked) about
    # eight times per key, which made key presses slow while answers stream. Measured in benchmarks/tui.py.
    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    async def show_error(self, message: str) -> None:
        error = Static(Text(message), classes="pane-error")
        if self._turns:
            self._turns[-1].append(error)
        await self.mount(error)

    async def reveal(self, title: str, body: Text) -> None:
        self.border_title = Text(f"{self.label} \u00b7 {title}")  # Text: literal, never parsed as markup
        await self.mount(Static(body, classes="reveal"))
        self.scroll_end(animate=False)

    async def reset(self) -> None:
        self._generation += 1
        await self.remove_children()
        self._turns = []
        self.queued = 0
        self.border_title = self.label
        self.border_subtitle = ""
        self._stream = None
        self.shown = 0
