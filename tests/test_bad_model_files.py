"""Bad model files meet clear, one-paragraph errors everywhere: header reading, the CLI, loading a matchup, the TUI.

Kinds tried (all real files on disk, built from the synthetic GGUF writer or cut from it):
missing, zero bytes, truncated mid-tensor, not GGUF at all (an HTML error page saved as .gguf), a valid GGUF of an
architecture llama.cpp does not know, a chat template that does not compile ("{% for %}"), and a chat template that
compiles but refuses to render any conversation.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from arena.config.loader import load_config
from arena.engine.local import LocalEngine
from arena.engine.types import ChatParams, Failed
from arena.errors import EngineError, ModelError
from arena.models.facts import read_facts
from tests.support.pilot import wait_for
from tests.support.synthetic_gguf import write_synthetic_gguf

REPO = Path(__file__).resolve().parent.parent
PLAIN_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
REFUSING_TEMPLATE = "{{ raise_exception('this template refuses every conversation') }}"


@dataclass(frozen=True)
class BadFile:
    kind: str
    path: Path
    header_error: str | None  # what read_facts says (None: the header is fine, llama.cpp refuses it later)
    load_error: str  # what loading the matchup says


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadFile]:
    d = tmp_path_factory.mktemp("bad-models")
    good = write_synthetic_gguf(d / "good.gguf", chat_template=PLAIN_TEMPLATE)
    data = good.read_bytes()
    (d / "zero.gguf").write_bytes(b"")
    (d / "truncated.gguf").write_bytes(data[: len(data) * 2 // 3])  # cut inside the tensor data
    (d / "html.gguf").write_bytes(b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n" * 40)
    write_synthetic_gguf(d / "alien.gguf", architecture="frobnicator", chat_template=PLAIN_TEMPLATE)
    write_synthetic_gguf(d / "broken-template.gguf", chat_template="{% for %}")
    write_synthetic_gguf(d / "refusing-template.gguf", chat_template=REFUSING_TEMPLATE)
    kinds = [
        BadFile("missing", d / "missing.gguf", "does not exist", "does not exist"),
        BadFile("zero", d / "zero.gguf", "empty (0 bytes)", "empty (0 bytes)"),
        BadFile("truncated", d / "truncated.gguf", "is truncated", "is truncated"),
        BadFile("html", d / "html.gguf", "is not a GGUF file", "is not a GGUF file"),
        BadFile("alien", d / "alien.gguf", None, "unknown model architecture: 'frobnicator'"),
        BadFile("broken-template", d / "broken-template.gguf", None, "chat template stored in"),
    ]
    return {b.kind: b for b in kinds} | {"good": BadFile("good", good, None, ""),
                                         "refusing": BadFile("refusing", d / "refusing-template.gguf", None, "")}


def assert_one_paragraph(text: str, *must: str) -> None:
    assert "Traceback" not in text and "\n" not in text.strip(), text
    for word in must:
        assert word in text, f"{word!r} not in {text!r}"


def model_yaml(entries: dict[str, Path], matchups: dict[str, tuple[str, str]], *, max_tokens: int = 8) -> str:
    lines = [
        "version: 1",
        "defaults:",
        "  display_policy: live",
        "  schedule: concurrent",
        f"  sampling: {{temperature: 0.7, max_tokens: {max_tokens}}}",
        "models:",
    ]
    for model_id, path in entries.items():
        fmt = "    chat_format: gemma\n" if model_id == "gemma" else ""
        lines.append(f"  - id: {model_id}\n    name: Model {model_id}\n{fmt}    n_ctx: 512\n    source: {{path: \"{path}\"}}")
    lines.append("matchups:")
    for mid, (big, small) in matchups.items():
        lines.append(f"  - {{id: {mid}, big: {big}, small: {small}}}")
    return "\n".join(lines) + "\n"


def arena_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena", *args], cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=timeout, env=os.environ.copy())


# -- the header reader ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "zero", "truncated", "html"])
def test_header_reader_names_the_damage(bad_files: dict[str, BadFile], kind: str) -> None:
    bad = bad_files[kind]
    with pytest.raises(ModelError) as info:
        read_facts(bad.path)
    assert_one_paragraph(info.value.render(), str(bad.path), bad.header_error or "", "Fix:")


@pytest.mark.parametrize("kind", ["alien", "broken-template", "refusing"])
def test_header_reader_accepts_well_formed_files_llama_cpp_may_still_refuse(bad_files: dict[str, BadFile], kind: str) -> None:
    facts = read_facts(bad_files[kind].path)
    assert facts.n_tensors > 0 and facts.has_chat_template


# -- the CLI ----------------------------------------------------------------------------------------------------------


def test_arena_models_lists_every_bad_file_and_explains_each(bad_files: dict[str, BadFile], tmp_path: Path) -> None:
    entries = {k: b.path for k, b in bad_files.items() if k != "missing"}
    cfg = tmp_path / "models.yaml"
    cfg.write_text(model_yaml(entries, {}), encoding="utf-8")
    run = arena_cli("--config", str(cfg), "models")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    status = {line.split()[0]: line.split()[-1] for line in run.stdout.splitlines()[1:] if line.strip()}
    for kind in ("zero", "truncated", "html"):
        assert status[kind] == "damaged"
        problem = [ln for ln in run.stderr.splitlines() if ln.startswith(f"arena: {kind}: ")]
        assert len(problem) == 1, run.stderr
        assert_one_paragraph(problem[0], bad_files[kind].header_error or "", "Fix:")
    # Headers that parse are listed with their facts (llama.cpp's verdict comes when the model is loaded).
    assert status["alien"] == "present" and "frobnicator" in run.stdout
    assert status["good"] == "present"


def test_arena_check_refuses_a_missing_file_with_exit_2(bad_files: dict[str, BadFile], tmp_path: Path) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(model_yaml({"gone": bad_files["missing"].path}, {}), encoding="utf-8")
    run = arena_cli("--config", str(cfg), "check")
    assert run.returncode == 2
    assert run.stdout == ""
    assert_one_paragraph(run.stderr, str(bad_files["missing"].path), "does not exist", "Fix:", "models.yaml")


@pytest.mark.parametrize("kind", ["truncated", "html", "alien"])
def test_arena_quantize_refuses_a_bad_source_cleanly(bad_files: dict[str, BadFile], kind: str, tmp_path: Path) -> None:
    out = tmp_path / "out.gguf"
    run = arena_cli("quantize", str(bad_files[kind].path), "Q4_K_M", "-o", str(out))
    assert run.returncode == 1
    problem = run.stderr.strip().splitlines()[-1]
    assert_one_paragraph(problem, "Fix:")
    assert (bad_files[kind].header_error or "unknown model architecture") in problem
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


# -- loading a matchup through the core (what the TUI and scripts call) -----------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "zero", "truncated", "html", "alien", "broken-template"])
def test_load_contenders_raises_one_clear_error(bad_files: dict[str, BadFile], smollm_path: Path, kind: str,
                                                tmp_path: Path) -> None:
    from arena.battle.session import load_contenders

    bad = bad_files[kind]
    big = bad.path if kind != "missing" else bad_files["good"].path
    cfg = tmp_path / "models.yaml"
    cfg.write_text(model_yaml({"big": big, "small": smollm_path}, {"m": ("big", "small")}), encoding="utf-8")
    config = load_config(cfg)
    if kind == "missing":  # the loader refuses a missing path; here the file vanishes after the config was read
        missing = tmp_path / "vanishing.gguf"
        missing.write_bytes(big.read_bytes())
        cfg.write_text(model_yaml({"big": missing, "small": smollm_path}, {"m": ("big", "small")}), encoding="utf-8")
        config = load_config(cfg)
        missing.unlink()
        bad = BadFile("missing", missing, bad.header_error, bad.load_error)
    seen: list[str] = []
    with pytest.raises((ModelError, EngineError)) as info:
        load_contenders(config, "m", progress=lambda mid, f, msg: seen.append(mid))
    assert_one_paragraph(info.value.render(), bad.load_error, "Fix:")
    assert str(bad.path) in info.value.render()
    assert "small" not in seen  # the big model failed first: the small one was never loaded


def test_a_template_that_refuses_to_render_fails_the_turn_not_the_app(bad_files: dict[str, BadFile]) -> None:
    engine = LocalEngine("refusing", bad_files["refusing"].path, n_ctx=256)
    engine.load()  # it compiles: the file loads
    try:
        events = list(engine.chat([{"role": "user", "content": "hi"}], ChatParams(max_tokens=4)))
        assert len(events) == 1 and isinstance(events[0], Failed)
        assert_one_paragraph(events[0].error.render(), "chat template of refusing rejected the conversation",
                             "this template refuses every conversation")
        # The engine stays usable: the same model still streams once a chat format overrides the template.
        engine.unload()
        engine = LocalEngine("refusing", bad_files["refusing"].path, n_ctx=256, chat_format="chatml")
        engine.load()
        events = list(engine.chat([{"role": "user", "content": "hi"}], ChatParams(max_tokens=4, seed=1)))
        assert not isinstance(events[-1], Failed), events[-1]
    finally:
        engine.unload()


# -- the TUI ------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_tui_shows_each_load_error_stays_up_and_a_good_matchup_still_plays(
    bad_files: dict[str, BadFile], gemma_path: Path, smollm_path: Path, tmp_path: Path
) -> None:
    from textual.widgets import OptionList

    from arena.tui.app import ArenaApp
    from arena.tui.screens.arena import ArenaScreen
    from arena.tui.screens.picker import PickerScreen

    entries = {k.replace("-", "_"): bad_files[k].path for k in ("truncated", "alien", "broken-template", "refusing")}
    entries |= {"gemma": gemma_path, "smollm": smollm_path}
    matchups = {f"bad_{k}": (k, "smollm") for k in ("truncated", "alien", "broken_template")}
    matchups |= {"refusing": ("refusing", "smollm"), "demo": ("gemma", "smollm")}
    cfg = tmp_path / "models.yaml"
    cfg.write_text(model_yaml(entries, matchups), encoding="utf-8")
    config = load_config(cfg)
    db = tmp_path / "votes.db"
    expected = {"bad_truncated": "is truncated", "bad_alien": "unknown model architecture",
                "bad_broken_template": "chat template stored in"}

    async def scenario() -> None:
        app = ArenaApp(config, db, matchup_id="bad_truncated", seed=5)
        async with app.run_test(size=(150, 45), notifications=True) as pilot:
            for i, (matchup, words) in enumerate(expected.items()):
                if i:  # back to the picker with `m`, then choose the next matchup
                    await pilot.press("m")
                    await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), 120, "the matchup picker")
                    await pick(pilot, app, matchup)
                screen = app.screen
                assert isinstance(screen, ArenaScreen) and screen.matchup_id == matchup
                await wait_for(pilot, lambda s=screen: s._load_error is not None, 60, f"the load error of {matchup}")
                bar = str(screen.query_one("#vote-bar").render())
                assert words in bar and "Fix:" in bar and "[m] pick another matchup" in bar, bar
                assert "Traceback" not in bar
                assert any(words in n.message for n in app._notifications), [n.message for n in app._notifications]
                assert screen.contenders is None and app.is_running

            # A model whose template refuses to render: loads, its side fails with the reason, the other side answers;
            # the round offers no vote (a failure is not a loss) and is discarded with `n`.
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), 120, "the matchup picker")
            await pick(pilot, app, "refusing")
            await play_round(pilot, app, expect_error="this template refuses every conversation")

            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), 120, "the matchup picker")
            await pick(pilot, app, "demo")
            await play_round(pilot, app, expect_error=None)

    async def pick(pilot, app, matchup: str) -> None:  # type: ignore[no-untyped-def]
        options = app.screen.query_one("#matchups", OptionList)
        options.highlighted = options.get_option_index(matchup)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ArenaScreen) and app.screen.matchup_id == matchup, 10,
                    f"the arena for {matchup}")

    async def play_round(pilot, app, expect_error: str | None) -> None:  # type: ignore[no-untyped-def]
        screen = app.screen
        await wait_for(pilot, lambda: screen.round is not None, 120, "the models to load")
        await pilot.click("#prompt")
        await pilot.press(*"Say hi.", "enter")
        bar = lambda: str(screen.query_one("#vote-bar").render())  # noqa: E731
        # Both answers are in: voting opens, or (a side failed) the bar offers retry/discard once the error is drawn.
        await wait_for(pilot, lambda: screen.voting_open or "[n] discard" in bar(), 120, "both answers")
        sides = screen.round.turns[-1].sides
        if expect_error is None:
            assert all(s.error is None and s.text for s in sides), sides
        else:
            failed = [i for i, s in enumerate(sides) if s.error]
            assert len(failed) == 1 and expect_error in (sides[failed[0]].error or "")
            assert sides[1 - failed[0]].text  # the good side's answer is there
            pane = screen.query_one("#pane-a" if failed[0] == 0 else "#pane-b")
            from textual.widgets import Static

            shown = " ".join(str(s.render()) for s in pane.query(Static))
            # Before the vote only the symmetric reason; the template's own words come with the reveal.
            assert "failed: the model's chat template rejected the conversation" in shown and expect_error not in shown
            assert not screen.voting_open and "[n] discard" in bar()
            await pilot.press("3")  # refused: no vote on a failed round
            await pilot.pause(0.2)
            assert screen.round.voted is None
            rounds = screen.round_no
            await pilot.press("n")  # discards: the template's own words come with the reveal of the dropped round
            await wait_for(pilot, lambda: "discarded" in bar(), 120, "the round to be discarded")
            assert screen.round.voted is None and screen.round.discarded
            await pilot.press("n")
            await wait_for(pilot, lambda: screen.round_no == rounds + 1, 120, "a new round")
            await pilot.press("escape")  # the new round focuses the prompt box: leave it so `m` reaches the screen
            return
        assert screen.voting_open
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.round.voted is not None, 120, "the vote")
        assert "saved" in str(screen.query_one("#vote-bar").render()).lower()
        if expect_error is not None:
            await wait_for(pilot, lambda: expect_error in " ".join(str(s.render()) for s in pane.query(Static)), 20,
                           "the error detail in the reveal")

    asyncio.run(scenario())
    import sqlite3

    rows = sqlite3.connect(db).execute("SELECT matchup_id, outcome FROM battles ORDER BY tstamp").fetchall()
    assert rows == [("demo", "tie")]  # the round where a side failed was discarded, not counted
