"""`arena serve` in a real browser: headless Chromium (Debian's) driven by Playwright types into the xterm.js terminal
of textual-serve, plays a blind round on the two real demo models, votes, and the vote is read back from the SQLite
file, with its voter.

These tests need the `playwright` package (the `test` extra) and a Chromium (`/usr/bin/chromium` or $ARENA_CHROMIUM);
without them they skip and say why (tests/support/browser.py). No fixed sleeps: every wait polls the screen or the
database, and its timeout only bounds a test that is failing anyway.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import PeakRss, TerminalPage, arena_serve, launched_browser, require_browser
from tests.support.server import free_port

pytestmark = pytest.mark.slow

# Loading two models in a session and answering on a loaded 2-core machine: generous hang guards, never expectations.
LOAD_S = 300.0
ANSWER_S = 600.0
RSS_RATIO = 1.2  # issue 15: the whole team server within 1.2x of one plain session


async def play_round(term: TerminalPage, prompt: str, vote_key: str) -> str:
    """From the loaded arena to a saved vote, as a person does it with the keyboard. Returns the screen at the end."""
    await term.wait_for("Type a prompt below", timeout=LOAD_S, what="the models to load and the first round")
    await term.type(prompt)
    await term.press("Enter")
    before_vote = await term.wait_for("[1] A better", timeout=ANSWER_S, what="both answers and the vote keys")
    # Nothing about the models is drawn before the vote (the panes say A and B only).
    for secret in ("Gemma 3 270M", "SmolLM2 135M", "Q4_K_M", "tokens/s"):
        assert secret not in before_vote, f"{secret!r} on screen before the vote"
    await term.press(vote_key)
    return await term.wait_for("Vote saved", timeout=60, what="the vote to be saved")


def votes(db: Path) -> list[tuple[str | None, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT voter, outcome, matchup_id FROM battles ORDER BY tstamp").fetchall()


def serve_args(config: Path, db: Path, *extra: str) -> list[str]:
    return ["serve", "--config", str(config), "--db", str(db), *extra]


def play_one_plain_session(config: Path, db: Path, log: Path, voter: str, vote_key: str) -> PeakRss:
    """A plain `arena serve` (one app process per browser session, models in it), one browser session playing one round
    to a saved vote; returns the peak memory of the whole server process tree over that time."""
    port = free_port()
    with arena_serve(serve_args(config, db, "--matchup", "demo", "--voter", voter), port, log) as server:
        with PeakRss(server.pid) as rss:

            async def session() -> None:
                async with launched_browser() as browser:
                    context = await browser.new_context()
                    term = await TerminalPage.open(context, f"http://127.0.0.1:{port}/")
                    await play_round(term, "Name three primary colors.", vote_key)
                    await context.close()

            asyncio.run(session())
    return rss


@pytest.mark.timeout(1200)
def test_a_round_and_a_vote_through_a_real_browser(demo_config_path: Path, tmp_path: Path) -> None:
    require_browser()
    db = tmp_path / "votes.db"
    rss = play_one_plain_session(demo_config_path, db, tmp_path / "serve.log", "Solo Voter", "1")
    assert votes(db) == [("Solo Voter", "A", "demo")]
    print(f"\nplain arena serve, one browser session: {rss.report()}")


def serve_has_team() -> bool:
    proc = subprocess.run([sys.executable, "-m", "arena", "serve", "--help"], capture_output=True, text=True, timeout=120)
    return "--team" in proc.stdout


@pytest.mark.timeout(2400)
def test_two_voters_in_two_browsers_share_one_team_server(demo_config_path: Path, tmp_path: Path) -> None:
    """Issue 15: two browser sessions at once on `arena serve --team`; each names its voter on the first screen, plays a
    round and votes; both votes land with their names.

    Memory ("RAM for N voters ~= RAM for one"): the whole team server (every process it started, summed) is sampled
    while the first voter plays alone (peak P1), then while both play at once (peak P2). P2 must stay within RSS_RATIO
    x P1, and what the second voter adds (P2 - P1) within (RSS_RATIO - 1) x one plain `arena serve` session, which is
    what each extra voter costs without --team. The ratio to one plain session is printed, not asserted: with the
    350 MB demo models it is dominated by fixed costs (two model servers' Python, ~75 MiB each) that do not grow with
    models or voters (README, "Team arena": the measured memory and the model sizes where 1.2x holds)."""
    require_browser()
    if not serve_has_team():
        pytest.skip("needs arena serve --team")

    single = play_one_plain_session(demo_config_path, tmp_path / "single.db", tmp_path / "single.log", "Solo", "3")

    db = tmp_path / "team.db"
    port = free_port()
    with arena_serve(serve_args(demo_config_path, db, "--team", "--matchup", "demo"), port, tmp_path / "team.log") as server:
        with PeakRss(server.pid) as team:

            async def voter_session(browser, name: str, prompt: str, vote_key: str) -> None:  # type: ignore[no-untyped-def]
                context = await browser.new_context()  # its own cookies and storage: another person
                term = await TerminalPage.open(context, f"http://127.0.0.1:{port}/")
                await term.wait_for("who is voting?", timeout=LOAD_S, what=f"the name screen for {name}")
                await term.type(name)
                await term.press("Enter")
                screen = await play_round(term, prompt, vote_key)
                assert f"voter {name}" in screen  # its own name in the title bar, and nobody else's
                assert not any(f"voter {other}" in screen for other in ("Ada", "Grace") if other != name)
                await context.close()

            async def play() -> int:
                async with launched_browser() as browser:
                    # Phase 1: Ada alone, one round to a saved vote.
                    await voter_session(browser, "Ada", "Ada asks: name a colour of the sky.", "1")
                    team.sample()
                    p1 = team.peak
                    # Phase 2: Ada (a new session) and Grace at once, one round each.
                    await asyncio.gather(
                        voter_session(browser, "Ada", "Ada asks again: name a fruit.", "3"),
                        voter_session(browser, "Grace", "Grace asks: name a colour of grass.", "2"),
                    )
                    return p1

            p1 = asyncio.run(play())

    assert sorted(votes(db)) == [("Ada", "A", "demo"), ("Ada", "tie", "demo"), ("Grace", "B", "demo")]
    p2 = team.peak
    mib = 2**20
    message = (f"team server: one voter peak {p1 / mib:.0f} MiB, two voters at once {p2 / mib:.0f} MiB "
               f"(x{p2 / p1:.2f}, allowed {RSS_RATIO}); the second voter added {(p2 - p1) / mib:.0f} MiB against "
               f"{single.peak / mib:.0f} MiB for one plain session (allowed {(RSS_RATIO - 1) * single.peak / mib:.0f}); "
               f"team with two voters / one plain session = {p2 / single.peak:.2f}\nteam {team.report()}\nsingle {single.report()}")
    print("\n" + message)
    assert p2 <= RSS_RATIO * p1, message
    assert p2 - p1 <= (RSS_RATIO - 1) * single.peak, message
