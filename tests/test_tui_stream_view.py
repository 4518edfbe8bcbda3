"""StreamView virtualization: finished answer chunks far from the viewport are swapped for same-height spacers.

What must hold: the screen looks exactly the same as without virtualization (at any scroll position, after a resize),
the full text is kept, and the number of widgets the compositor lays out stays bounded as the answer grows (that is
what keeps the display cost per token flat; benchmarks/tui.py measures the cost itself).
"""

from __future__ import annotations

import asyncio
import random

import pytest
from textual.app import App, ComposeResult

from arena.tui.widgets import answer_pane
from arena.tui.widgets.answer_pane import AnswerPane
from arena.tui.widgets.stream_view import StreamView

WORDS = ["the", "model", "answer", "layer", "weight", "quant", "bits", "error", "memory", "cache", "token", "prompt", "value", "scale", "block"]


def answer(seed: int, blocks: int) -> str:
    """Markdown with paragraphs, lists and code fences (the block kinds that become several widgets each)."""
    rng = random.Random(seed)
    out = []
    for i in range(blocks):
        kind = i % 4
        if kind == 0:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 70))))
        elif kind == 1:
            out.append("\n".join(f"- item {j} " + " ".join(rng.choice(WORDS) for _ in range(6)) for j in range(4)))
        elif kind == 2:
            out.append("```python\n" + "\n".join(f"x{j} = {j} * scale" for j in range(5)) + "\n```")
        else:
            out.append(f"## Part {i}")
    return "\n\n".join(out) + "\n\n"


class PaneApp(App[None]):
    CSS = "AnswerPane { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield AnswerPane("A", id="pane-a")


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.pause(0.1)
    await pilot.pause()


def _run(margin: float, blocks: int, size: tuple[int, int] = (100, 30), screenshots: bool = True) -> tuple[list[str], int, int, str]:
    """Screenshots at several scroll offsets and after a resize; at the end of the answer: hidden chunks and
    laid-out widgets; the view's text."""
    saved = answer_pane.LIVE_MARGIN_VIEWPORTS
    answer_pane.LIVE_MARGIN_VIEWPORTS = margin
    shots: list[str] = []
    result: dict[str, object] = {}

    async def scenario() -> None:
        app = PaneApp()
        async with app.run_test(size=size) as pilot:
            pane = app.query_one(AnswerPane)
            await pane.start_turn("question")
            text = answer(5, blocks)
            for i in range(0, len(text), 700):  # streamed in pieces, like the arena's refresh ticks
                await pane.append(text[i : i + 700])
            await _settle(pilot)
            for y in (0, pane.max_scroll_y // 2, 10**6):
                pane.scroll_to(y=y, animate=False)
                await _settle(pilot)
                shots.append(app.export_screenshot())
            view = pane.query_one(StreamView)
            result["hidden"] = sum(1 for c in view._chunks if c.hidden)
            result["laid_out"] = len(app.screen._compositor.full_map)  # every displayed widget a layout visits
            if not screenshots:
                return
            await pilot.resize_terminal(size[0] - 30, size[1])
            await _settle(pilot)
            pane.scroll_to(y=pane.max_scroll_y // 4, animate=False)
            await _settle(pilot)
            shots.append(app.export_screenshot())
            result["text"] = view.text

    try:
        asyncio.run(scenario())
    finally:
        answer_pane.LIVE_MARGIN_VIEWPORTS = saved
    return shots, int(result["hidden"]), int(result["laid_out"]), str(result.get("text", ""))  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[list[str], int, int, str]]:
    return {"virtualized": _run(answer_pane.LIVE_MARGIN_VIEWPORTS, 48), "all live": _run(1e9, 48)}


def test_virtualized_screen_is_identical_to_all_live(runs) -> None:  # type: ignore[no-untyped-def]
    virt, live = runs["virtualized"], runs["all live"]
    assert virt[1] > 0, "nothing was virtualized: the test would prove nothing"
    assert live[1] == 0
    assert len(virt[0]) == len(live[0]) == 4
    for i, (a, b) in enumerate(zip(virt[0], live[0])):
        assert a == b, f"screenshot {i} differs with virtualization"
    assert virt[3] == live[3] == answer(5, 48)


def test_laid_out_widgets_stay_bounded_as_the_answer_grows(runs) -> None:  # type: ignore[no-untyped-def]
    virt, live = runs["virtualized"], runs["all live"]
    assert virt[2] * 2 < live[2], (virt[2], live[2])
    _, hidden_long, laid_out_long, _ = _run(answer_pane.LIVE_MARGIN_VIEWPORTS, 144, screenshots=False)
    assert hidden_long > virt[1]
    # Three times the answer: the laid-out set grows only by the spacers of the extra hidden chunks.
    assert laid_out_long - virt[2] <= (hidden_long - virt[1]) + 10, (laid_out_long, virt[2])
