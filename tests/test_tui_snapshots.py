"""Snapshot tests (pytest-textual-snapshot) of the arena before the vote, after the reveal, and the statistics screen.

Pure layout tests: answers come from the scripted engine so the pictures are deterministic. The real-model round is
covered by test_tui_e2e.py. Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.store import VoteStore
from arena.tui.app import ArenaApp
from tests.support.fake_engine import fake_backend
from tests.support.pilot import wait_for as _until

SIZE = (130, 36)
ANSWERS = {
    "gemma3-270m": "Red, yellow and blue are the traditional primary colors.\n\n```python\nprint('paint')\n```",
    "smollm2-135m": "The primary colors are:\n\n1. **Red**\n2. **Green**\n3. **Blue**\n\n(for light: RGB)",
}


async def _play_round(pilot) -> None:
    screen = pilot.app.screen
    await _until(pilot, lambda: getattr(screen, "round", None) is not None)
    await pilot.click("#prompt")
    await pilot.press(*"Name the primary colors.", "enter")
    await _until(pilot, lambda: screen.voting_open)
    await pilot.pause(0.3)


def _app(config, db: Path) -> ArenaApp:
    return ArenaApp(config, db, matchup_id="demo", seed=11, backend=fake_backend(ANSWERS))


def test_arena_before_vote(snap_compare, demo_config, tmp_path: Path) -> None:
    assert snap_compare(_app(demo_config, tmp_path / "v.db"), run_before=_play_round, terminal_size=SIZE)


def test_arena_after_reveal(snap_compare, demo_config, tmp_path: Path) -> None:
    async def run_before(pilot) -> None:
        await _play_round(pilot)
        await pilot.press("2")
        await _until(pilot, lambda: pilot.app.screen.round.voted is not None)
        await pilot.pause(0.3)

    assert snap_compare(_app(demo_config, tmp_path / "v.db"), run_before=run_before, terminal_size=SIZE)


def _seed_votes(db: Path) -> None:
    """A fixed set of votes (fixed uuids and times) so the statistics are the same on every run."""
    store = VoteStore(db)
    facts = {
        "gemma3-270m": ModelFacts(id="gemma3-270m", name="Gemma 3 270M", source="test", quant_type="Q4_K_M"),
        "smollm2-135m": ModelFacts(id="smollm2-135m", name="SmolLM2 135M Instruct", source="test", quant_type="Q4_1"),
    }
    plan = [("code", Vote.A)] * 7 + [("code", Vote.B)] * 2 + [("math", Vote.B)] * 5 + [("math", Vote.TIE)] * 2
    plan += [("json", Vote.BOTH_BAD), ("json", Vote.A), ("json", Vote.A)]
    for i, (category, outcome) in enumerate(plan):
        left, right = ("gemma3-270m", "smollm2-135m") if i % 2 == 0 else ("smollm2-135m", "gemma3-270m")

        def side(model: str) -> SideRecord:
            return SideRecord(model, [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], {}, [1], [{}], ["stop"])

        store.record_vote(
            BattleRecord(
                matchup_id="demo", big_model="gemma3-270m", small_model="smollm2-135m", side_a=side(left), side_b=side(right),
                outcome=outcome, display_policy="paced", category=category, uuid=f"00000000-0000-0000-0000-{i:012d}",
                tstamp=f"2026-01-01T00:{i:02d}:00.000+00:00",
            ),
            facts,
        )
    store.close()


def test_statistics_screen(snap_compare, demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    _seed_votes(db)

    async def run_before(pilot) -> None:
        await _until(pilot, lambda: getattr(pilot.app.screen, "round", None) is not None)
        await pilot.press("escape")  # leave the prompt box: `s` is a key, not text
        await pilot.press("s")
        await pilot.pause(0.3)

    assert snap_compare(_app(demo_config, db), run_before=run_before, terminal_size=(150, 48))
