"""One blind pane: the conversation as this side's model saw it, its streamed answers, and, after the vote, the reveal.

Both panes are built identically (same width, colours, labels "A"/"B"); nothing about the model is drawn before the vote.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from arena.untrusted import one_line, visible
from arena.tui.widgets.stream_view import StreamView


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

    async def start_turn(self, user_text: str) -> None:
        prompt = Static(Text("You: " + visible(user_text)), classes="user-turn")
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
        self.queued = 0
        self.border_title = self.label
        self.border_subtitle = ""
        self._stream = None
        self.shown = 0
