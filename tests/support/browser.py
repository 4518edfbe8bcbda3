"""A real browser on `arena serve`: Playwright (from PyPI, with its own driver) driving Debian's Chromium.

Playwright's own browser download cannot work here (no network but the package registries), so the browser is the
system's: `/usr/bin/chromium` (Debian's `chromium` package; `scripts/setup.sh --test` installs it where it can), or
`$ARENA_CHROMIUM`. Where either is missing or the browser does not start, the tests skip with the reason.

Reading the screen: textual-serve draws the app into an xterm.js terminal on a WebGL/canvas layer, so the page holds no
text nodes. An init script catches textual-serve's terminal object as its page script creates it (the object that
gets `websocket_url`), and the tests read the xterm.js buffer through xterm's public API (`buffer.active.getLine(y)
.translateToString()`): exactly the cells the person sees. Keys go to the page as keyboard events into xterm's input
textarea, as a person's typing does.

Process memory: `tree_rss()` sums VmRSS over a process and all its descendants (from /proc), and `PeakRss` samples it
in a thread, for "the whole server" numbers that include every app and model process it spawned.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    # As the machine notes say works here: no sandbox (root), no GPU, and no background connections (this machine's
    # closed network refuses them, many at a time). `--headless` is added by Playwright itself (headless=True).
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

# Catch textual-serve's terminal wrapper when its page script sets `this.websocket_url` in the constructor: a setter
# on Object.prototype sees the assignment (the property is not yet the object's own), records the object and turns
# the property into a plain one again.
HOOK_JS = """
(() => {
  window.__arenaTerminals = [];
  Object.defineProperty(Object.prototype, 'websocket_url', {
    configurable: true,
    set(value) {
      Object.defineProperty(this, 'websocket_url', {value, writable: true, configurable: true, enumerable: true});
      window.__arenaTerminals.push(this);
    },
  });
})();
"""

SCREEN_JS = """() => {
  const owner = (window.__arenaTerminals || [])[0];
  if (!owner || !owner.terminal) return null;
  const term = owner.terminal, buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("ARENA_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_browser() -> str:
    """The Chromium executable, or skip the calling test with the reason (never a failure: a machine may lack it)."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test: the `playwright` package is not installed (it comes with the `test` extra: "
                    "pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        pytest.skip("browser test: no Chromium at /usr/bin/chromium or $ARENA_CHROMIUM (Debian: apt-get install "
                    "chromium; scripts/setup.sh --test does it when run as root with apt-get)")
    return path


@contextlib.asynccontextmanager
async def launched_browser():  # type: ignore[no-untyped-def]  # -> AsyncIterator[playwright Browser]
    """Headless Chromium with a fresh profile (Playwright's launch() makes a new temporary user-data-dir each time).
    A browser that is there but will not start skips the test with the error: a broken browser install is not a
    failure of the arena."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    path = require_browser()
    async with async_playwright() as p:
        try:
            browser = await p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.skip(f"browser test: {path} did not start: {str(exc).splitlines()[0]}")
        try:
            yield browser
        finally:
            await browser.close()


class TerminalPage:
    """One browser tab on a textual-serve URL: read the terminal's text, type, press keys, wait for text."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page

    @classmethod
    async def open(cls, context, url: str) -> TerminalPage:  # type: ignore[no-untyped-def]
        page = await context.new_page()
        await page.add_init_script(HOOK_JS)
        await page.goto(url)
        return cls(page)

    async def text(self) -> str:
        return (await self.page.evaluate(SCREEN_JS)) or ""

    async def wait_for(self, *needles: str, timeout: float, what: str) -> str:
        """Poll the screen until it shows every needle; the timeout only bounds a test that is failing anyway."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            screen = await self.text()
            if all(n in screen for n in needles):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; the screen shows:\n{screen}")
            await asyncio.sleep(0.2)

    async def type(self, text: str) -> None:
        await self.page.locator(".xterm-helper-textarea").focus()
        await self.page.keyboard.type(text)

    async def press(self, key: str) -> None:
        await self.page.locator(".xterm-helper-textarea").focus()
        await self.page.keyboard.press(key)


# --- the server under test -------------------------------------------------------------------------------------------
def http_status(port: int, path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


@contextlib.contextmanager
def arena_serve(args: list[str], port: int, log: Path, *, timeout_s: float = 300.0) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m arena ... serve ... --port PORT` in its own process group, answering HTTP; stopped afterwards with
    SIGTERM (textual-serve then quits every session it spawned), and its process group killed if it lingers."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arena", *args, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while http_status(port) != 200:
            if proc.poll() is not None:
                raise AssertionError(f"arena serve exited with code {proc.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise AssertionError(f"arena serve did not answer within {timeout_s:.0f} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGTERM to the server we started; after `grace_s`, SIGKILL to its process group (its id is the server's pid)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of this group is left (sessions, model servers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


# --- memory of a process tree ----------------------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # The command name (field 2) may contain spaces and parentheses: the fields after the last ')' are fixed.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree_pids(root: int) -> list[int]:
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def tree_rss(root: int) -> tuple[int, dict[str, int]]:
    """Total VmRSS (bytes) of `root` and all its descendants now, and per process ("pid cmdline" -> bytes)."""
    per = {f"{pid} {_cmdline(pid)[:120]}": _status_kb(pid, "VmRSS") * 1024 for pid in tree_pids(root)}
    return sum(per.values()), per


class PeakRss:
    """Samples tree_rss(root) every `interval_s` in a thread; `peak` is the largest total seen and `breakdown` the
    per-process numbers at that moment. Sampling the sum (not adding each process's VmHWM) counts processes that exit
    before the end and never adds peaks that did not happen at the same time."""

    def __init__(self, root: int, interval_s: float = 0.25) -> None:
        self.root = root
        self.interval_s = interval_s
        self.peak = 0
        self.breakdown: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        total, per = tree_rss(self.root)
        self.samples += 1
        if total > self.peak:
            self.peak, self.breakdown = total, per

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.sample()

    def report(self) -> str:
        lines = [f"peak {self.peak / 2**20:.0f} MiB over {self.samples} samples:"]
        for name, rss in sorted(self.breakdown.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {rss / 2**20:7.1f} MiB  {name}")
        return "\n".join(lines)
