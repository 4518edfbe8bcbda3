"""The round controller's rules, without Textual: phases, what may be pressed when, failed sides, prompts, stop.

The engines here are scripted (a state machine needs a side that fails on cue and one that blocks until stopped); real
failures from a real server go through the same rules in test_faults_remote.py, real models in test_battle_runner.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.battle.controller import MAX_PROMPT_CHARS, VOTE_ACTIONS, NewRound, Phase, RoundController
from arena.battle.session import Contenders, save_vote
from arena.config.types import Config, DisplayPolicy
from arena.engine.types import ChatParams, Event, Failed, Finished, Message, TextDelta, Timings
from arena.errors import EngineError
from arena.records import Vote
from arena.store import VoteStore


class ScriptedEngine:
    """Streams `text` in 10-character pieces, then ends with `end` ("stop", "fail", or "block": wait for cancel)."""

    def __init__(self, model_id: str, text: str, end: str = "stop") -> None:
        self.model_id = model_id
        self.text = text
        self.end = end
        self.calls = 0
        self._cancel = threading.Event()

    def load(self, progress=None) -> None:  # type: ignore[no-untyped-def]
        pass

    def unload(self) -> None:
        pass

    @property
    def loaded(self) -> bool:
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def chat(self, messages: list[Message], params: ChatParams) -> Iterator[Event]:
        self._cancel.clear()
        self.calls += 1
        for i in range(0, len(self.text), 10):
            yield TextDelta(self.text[i : i + 10])
        if self.end == "fail":
            yield Failed(EngineError("The server stopped answering", "check the server"))
        elif self.end == "block":
            assert self._cancel.wait(30), "never cancelled"
            yield Finished("cancelled", Timings(), params.seed)
        else:
            yield Finished("stop", Timings(), params.seed)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def wait(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def controller(config: Config, engines: dict[str, ScriptedEngine], *, policy: DisplayPolicy = DisplayPolicy.PACED,
               clock=time.monotonic, seed: int = 1) -> RoundController:  # type: ignore[no-untyped-def]
    ctl = RoundController(config, "demo", rng=random.Random(seed), policy=policy, clock=clock)
    ctl.loaded(Contenders(matchup=config.matchups["demo"], engines=dict(engines)))  # type: ignore[arg-type]
    assert ctl.new_round(None, "uncategorized", None) is not None
    return ctl


def play_turn(ctl: RoundController, text: str | None = "Hi", *, regenerate: bool = False) -> None:
    """One turn to the end, as the screen does it: run, hand over on_done, show all, draw everything."""
    done = threading.Event()
    ctl.run_turn(ctl.open_turn(text, regenerate=regenerate), done.set)
    assert done.wait(20)
    ctl.runner.join(5)  # type: ignore[union-attr]
    ctl.runner_finished()
    assert ctl.phase is Phase.REVEALING and ctl.allows("show_all")
    ctl.show_all()
    visible, _texts = ctl.visible()  # type: ignore[misc]
    assert ctl.complete_if_shown(visible)


def test_a_round_goes_from_prompt_to_vote(demo_config: Config, tmp_path: Path) -> None:
    engines = {"gemma3-270m": ScriptedEngine("gemma3-270m", "one " * 20), "smollm2-135m": ScriptedEngine("smollm2-135m", "two " * 30)}
    ctl = RoundController(demo_config, "demo", rng=random.Random(1))
    assert ctl.phase is Phase.LOADING and not ctl.allows("new_round")
    ctl.loaded(Contenders(matchup=demo_config.matchups["demo"], engines=dict(engines)))  # type: ignore[arg-type]
    ctl.new_round(None, "uncategorized", None)
    assert ctl.phase is Phase.PROMPT
    assert not any(ctl.allows(a) for a in (*VOTE_ACTIONS, "stop", "regenerate", "show_all"))
    play_turn(ctl)
    assert ctl.phase is Phase.VOTING and ctl.voting_open
    assert all(ctl.allows(a) for a in (*VOTE_ACTIONS, "regenerate", "focus_prompt", "new_round"))
    with VoteStore(tmp_path / "v.db") as store:
        record = ctl.vote(Vote.TIE, store)
        assert store.get_vote(record.uuid) is not None
    assert ctl.phase is Phase.VOTED and not ctl.voting_open and not ctl.allows("vote_a")
    assert ctl.request_new_round() is NewRound.START


def test_an_unvoted_round_needs_a_second_n(demo_config: Config) -> None:
    engines = {m: ScriptedEngine(m, "answer") for m in ("gemma3-270m", "smollm2-135m")}
    ctl = controller(demo_config, engines)
    assert ctl.request_new_round() is NewRound.START  # no answers yet: nothing to lose
    play_turn(ctl)
    assert ctl.request_new_round() is NewRound.CONFIRM
    assert ctl.request_new_round() is NewRound.START


@pytest.mark.parametrize("failing", ["gemma3-270m", "smollm2-135m"])
def test_a_failed_side_is_never_a_vote_only_retry_or_discard(demo_config: Config, failing: str, tmp_path: Path) -> None:
    engines = {m: ScriptedEngine(m, f"partial answer of {m}", end="fail" if m == failing else "stop")
               for m in ("gemma3-270m", "smollm2-135m")}
    ctl = controller(demo_config, engines)
    play_turn(ctl)
    assert ctl.round is not None
    side = ctl.round.models.index(failing)
    assert ctl.failed_sides == (side,)
    assert ctl.phase is Phase.FAILED and not ctl.voting_open
    assert not any(ctl.allows(a) for a in VOTE_ACTIONS)
    assert ctl.allows("regenerate") and ctl.allows("new_round") and not ctl.allows("focus_prompt")
    note = ctl.failure_note()
    assert note is not None and f"side {'AB'[side]} failed" in note
    assert "gemma" not in note.lower() and "smollm" not in note.lower()  # model-free before the vote
    follow_up = ctl.check_prompt("and then?")
    assert not follow_up.ok and "ctrl+r" in (follow_up.reason or "") and " n" in (follow_up.reason or "")
    # Nothing can record it: not the controller, not the shared save path the CLI would use.
    with VoteStore(tmp_path / "v.db") as store:
        for outcome in Vote:
            with pytest.raises(RuntimeError):
                ctl.vote(outcome, store)
            with pytest.raises(RuntimeError):
                save_vote(store, ctl.round, outcome, {})
        assert store.count() == 0
    # Discard: one `n`, no confirmation (there is no answer pair to lose); it ends the round without a vote, so its
    # identities and error details may now be shown. The next `n` starts a new round.
    assert ctl.request_new_round() is NewRound.DISCARD
    assert ctl.round.discarded and ctl.phase is Phase.DISCARDED and not ctl.voting_open and not ctl.allows("regenerate")
    assert ctl.request_new_round() is NewRound.START


def test_retry_after_a_failure_reruns_both_sides_and_opens_the_vote(demo_config: Config) -> None:
    engines = {"gemma3-270m": ScriptedEngine("gemma3-270m", "ok " * 5), "smollm2-135m": ScriptedEngine("smollm2-135m", "no", end="fail")}
    ctl = controller(demo_config, engines)
    play_turn(ctl)
    assert ctl.phase is Phase.FAILED
    engines["smollm2-135m"].end = "stop"  # the server is back
    play_turn(ctl, None, regenerate=True)
    assert ctl.phase is Phase.VOTING and ctl.voting_open and not ctl.failed_sides
    assert len(ctl.round.turns) == 1  # type: ignore[union-attr]
    assert [e.calls for e in engines.values()] == [2, 2]  # both sides ran again, not only the failed one


def test_prompt_rules(demo_config: Config) -> None:
    engines = {m: ScriptedEngine(m, "answer") for m in ("gemma3-270m", "smollm2-135m")}
    ctl = controller(demo_config, engines)
    for blank in ("   ", "\n\t \n", "\u3000"):
        check = ctl.check_prompt(blank)
        assert not check.ok and "only spaces or line breaks" in (check.reason or "")
    assert not ctl.check_prompt("").ok and "empty" in (ctl.check_prompt("").reason or "")
    big = "x" * 200_000  # a 200 KB paste is well inside the limit
    assert ctl.check_prompt(big).text == big
    assert ctl.check_prompt("y" * MAX_PROMPT_CHARS).ok
    too_long = ctl.check_prompt("y" * (MAX_PROMPT_CHARS + 1))
    assert not too_long.ok and f"{MAX_PROMPT_CHARS:,}" in (too_long.reason or "") and "256 KiB" in (too_long.reason or "")
    assert ctl.check_prompt("  hello  ").text == "hello"


@pytest.mark.parametrize("fast_model", ["gemma3-270m", "smollm2-135m"])
def test_stop_under_paced_keeps_exactly_what_was_shown(demo_config: Config, fast_model: str, tmp_path: Path) -> None:
    """The fast model has finished 500 characters, the slow one has 50 and is still going: a stop ends both at what
    the shared reveal showed, marks both stopped, and the stored answers are exactly those characters."""
    slow_model = next(m for m in ("gemma3-270m", "smollm2-135m") if m != fast_model)
    engines = {fast_model: ScriptedEngine(fast_model, "F" * 500), slow_model: ScriptedEngine(slow_model, "s" * 50, end="block")}
    clock = FakeClock()
    ctl = controller(demo_config, engines, clock=clock)
    done = threading.Event()
    ctl.run_turn(ctl.open_turn("Hi"), done.set)
    wait(lambda: sorted(map(len, ctl.pacer.texts())) == [50, 500] and ctl.pacer._sides[ctl.round.models.index(fast_model)].finished)  # type: ignore[union-attr]
    ctl.visible()  # the reveal starts ticking
    clock.t = 1.0
    visible, _ = ctl.visible()  # type: ignore[misc]
    assert 0 < visible[0] == visible[1] < 50  # both panes show the same count: the slow side limits the pace
    assert ctl.allows("stop") and ctl.stop()
    assert done.wait(20)
    ctl.runner.join(5)  # type: ignore[union-attr]
    ctl.runner_finished()
    shown, texts = ctl.visible()  # type: ignore[misc]
    assert shown == visible and tuple(map(len, texts)) == visible
    assert ctl.complete_if_shown(shown) and ctl.voting_open
    turn = ctl.round.turns[-1]  # type: ignore[union-attr]
    assert [s.reason for s in turn.sides] == ["cancelled", "cancelled"]  # the finished fast side too: it was cut
    with VoteStore(tmp_path / "v.db") as store:
        record = ctl.vote(Vote.A, store)
        stored = store.get_vote(record.uuid)
    assert stored is not None
    for s, suffix in enumerate("ab"):
        assert stored[f"conversation_{suffix}"][-1]["content"] == texts[s]
        assert stored[f"stopped_{suffix}"] and stored[f"finish_reasons_{suffix}"] == ["cancelled"]
    assert not ctl.runner.stop()  # type: ignore[union-attr]  # after the end a stop changes nothing


def test_a_matchup_schedule_overrides_the_default(tmp_path: Path, smollm_path: Path) -> None:
    from arena.config.loader import load_config

    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\ndefaults:\n  schedule: concurrent\n"
        f"models:\n  - {{id: a, name: A, source: {{path: '{smollm_path}'}}}}\n"
        f"  - {{id: b, name: B, source: {{path: '{smollm_path}'}}}}\n"
        "matchups:\n  - {id: local, big: a, small: b, schedule: sequential}\n  - {id: other, big: a, small: b}\n",
        encoding="utf-8",
    )
    config = load_config(cfg)
    assert config.schedule_for("local").value == "sequential"
    assert config.schedule_for("other").value == "concurrent"
    assert RoundController(config, "local").schedule.value == "sequential"


@pytest.mark.slow
def test_a_prompt_too_long_for_both_real_models_is_discarded_not_voted(demo_config: Config, tmp_path: Path) -> None:
    """Real engines: a prompt over the demo models' 1,024-token context fails on both sides; no vote is possible."""
    from arena.battle.session import load_contenders

    contenders = load_contenders(demo_config, "demo")
    try:
        ctl = RoundController(demo_config, "demo", rng=random.Random(4))
        ctl.loaded(contenders)
        ctl.new_round(None, "uncategorized", None)
        play_turn(ctl, "Repeat after me: " + "lighthouse keeper " * 1500)
        assert ctl.failed_sides == (0, 1) and ctl.phase is Phase.FAILED
        assert not any(ctl.allows(a) for a in VOTE_ACTIONS)
        assert "side A and side B failed" in (ctl.failure_note() or "")
        with VoteStore(tmp_path / "v.db") as store:
            with pytest.raises(RuntimeError):
                ctl.vote(Vote.BOTH_BAD, store)
            assert store.count() == 0
        assert ctl.request_new_round() is NewRound.DISCARD
        assert ctl.request_new_round() is NewRound.START
    finally:
        contenders.unload()


def _stats_states(ctl: RoundController) -> list[tuple[str, bool, str | None]]:
    return [(ctl.phase.value, ctl.allows("stats"), ctl.refusal("stats"))]


def test_a_team_voter_sees_no_statistics_while_a_round_waits_for_their_vote(demo_config: Config, tmp_path: Path) -> None:
    """Team arena: results (statistics, anyone's votes) stay closed from the first turn of a round until its vote or
    its discard; before a prompt and after the vote they open. `allows` says no exactly when `refusal` says why."""
    from arena.battle.controller import STATS_AFTER_VOTE

    engines = {m: ScriptedEngine(m, "answer " * 3, end="block" if m == "smollm2-135m" else "stop")
               for m in ("gemma3-270m", "smollm2-135m")}
    ctl = RoundController(demo_config, "demo", rng=random.Random(1), team=True)
    seen = _stats_states(ctl)  # loading: no round
    ctl.loaded(Contenders(matchup=demo_config.matchups["demo"], engines=dict(engines)))  # type: ignore[arg-type]
    ctl.new_round(None, "uncategorized", None)
    seen += _stats_states(ctl)  # waiting for a prompt: nothing to sway yet
    done = threading.Event()
    ctl.run_turn(ctl.open_turn("Hi"), done.set)
    seen += _stats_states(ctl)  # answering
    assert ctl.stop() and done.wait(20)
    ctl.runner.join(5)  # type: ignore[union-attr]
    ctl.runner_finished()
    seen += _stats_states(ctl)  # revealing
    ctl.show_all()
    assert ctl.complete_if_shown(ctl.visible()[0])  # type: ignore[index]
    seen += _stats_states(ctl)  # voting
    with VoteStore(tmp_path / "v.db") as store:
        with pytest.raises(RuntimeError, match="needs its voter"):
            ctl.vote(Vote.A, store)  # a team vote always names its voter (the session asks first)
        assert store.count() == 0
        record = ctl.vote(Vote.A, store, voter="ada")
        assert store.get_vote(record.uuid)["voter"] == "ada"  # type: ignore[index]
    seen += _stats_states(ctl)  # voted
    assert seen == [
        ("loading", True, None),
        ("prompt", True, None),
        ("answering", False, STATS_AFTER_VOTE),
        ("revealing", False, STATS_AFTER_VOTE),
        ("voting", False, STATS_AFTER_VOTE),
        ("voted", True, None),
    ]
    # A failed round waits for a retry and then a vote; discarding it ends the wait.
    engines["smollm2-135m"].end = "fail"
    ctl.new_round(None, "uncategorized", None)
    play_turn(ctl)
    assert _stats_states(ctl) == [("failed", False, STATS_AFTER_VOTE)]
    assert ctl.request_new_round() is NewRound.DISCARD
    assert _stats_states(ctl) == [("discarded", True, None)]


def test_a_single_voter_may_look_at_statistics_mid_round(demo_config: Config) -> None:
    """Outside a team arena nothing changes: the statistics key works in every phase (the person peeks at their own
    votes; the anytime-valid verdict is built for that)."""
    engines = {m: ScriptedEngine(m, "answer") for m in ("gemma3-270m", "smollm2-135m")}
    ctl = controller(demo_config, engines)
    play_turn(ctl)
    assert ctl.phase is Phase.VOTING and ctl.allows("stats") and ctl.refusal("stats") is None


@pytest.mark.parametrize("team", [False, True])
def test_statistics_locked_by_the_host_stay_locked_in_every_phase(demo_config: Config, tmp_path: Path, team: bool) -> None:
    from arena.battle.controller import STATS_LOCKED

    engines = {m: ScriptedEngine(m, "answer") for m in ("gemma3-270m", "smollm2-135m")}
    ctl = RoundController(demo_config, "demo", rng=random.Random(1), team=team, stats_locked=True)
    phases = _stats_states(ctl)
    ctl.loaded(Contenders(matchup=demo_config.matchups["demo"], engines=dict(engines)))  # type: ignore[arg-type]
    ctl.new_round(None, "uncategorized", None)
    phases += _stats_states(ctl)
    play_turn(ctl)
    phases += _stats_states(ctl)
    with VoteStore(tmp_path / "v.db") as store:
        ctl.vote(Vote.B, store, voter="bo")
    phases += _stats_states(ctl)
    assert phases == [(p, False, STATS_LOCKED) for p in ("loading", "prompt", "voting", "voted")]
    assert "locked" in STATS_LOCKED and "host" in STATS_LOCKED
    # Only the statistics are locked: the round itself plays as usual.
    assert ctl.allows("new_round") and ctl.refusal("new_round") is None
