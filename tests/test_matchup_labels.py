"""Labels follow facts: the reveal, the statistics, the verdict and `arena check` describe a matchup by what its GGUF
files say (arena.models.compare), not by the `big`/`small` slots of models.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

from arena.models.compare import MEMORY_TOLERANCE, Comparison, Contender, parse_params, typical_bpw
from arena.models.contenders import compare_facts, stats_framing
from arena.models.facts import EMBEDDING_TENSORS, read_facts
from arena.models.preflight import estimate_memory
from arena.records import BattleRecord, ModelFacts, SideRecord, Vote
from arena.stats.render import render_text
from arena.stats.report import build_report
from arena.store import Filters, VoteStore
from arena.tui.reveal import reveal_body, reveal_role, reveal_title

ROOT = Path(__file__).resolve().parent.parent


def _contender(cid: str, params: float, bpw: float, body: float | None = None, memory: float | None = None) -> Contender:
    return Contender(
        id=cid, name=cid.upper(), n_params=int(params), bpw=bpw, bpw_body=body, file_size=int(params * bpw / 8),
        memory=None if memory is None else int(memory),
    )  # fmt: skip


# -- the pure comparison ---------------------------------------------------------------------------------------------


def test_intended_pair_keeps_the_slot_wording() -> None:
    c = Comparison(_contender("big", 14e9, 3.1, 3.0, 6.4e9), _contender("small", 7e9, 6.6, 6.56, 6.9e9))
    assert c.intended and c.shape == "big-harsh vs small-light"
    assert c.role("big") == "big model, harsh quant" and c.role("small") == "small model, light quant"
    assert c.memory_ratio == pytest.approx(6.9e9 / 6.4e9) and c.memory_matched
    assert c.warnings() == [] and c.verdict_note() is None


def test_bigger_model_with_more_bits_is_said_so() -> None:
    c = Comparison(_contender("g", 268e6, 7.36, 5.45, 849e6), _contender("s", 134.5e6, 5.74, 5.01, 278e6))
    assert not c.intended
    assert c.shape == "bigger model, more bits per weight"
    assert c.role("g") == "bigger model, more bits/weight" and c.role("s") == "smaller model, fewer bits/weight"
    assert c.memory_ratio == pytest.approx(849 / 278) and c.memory_matched is False
    warnings = c.warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("not big-harsh vs small-light: G vs S: bigger model, more bits per weight")
    assert "7.36 vs 5.74 bits/weight" in warnings[0] and "5.45 vs 5.01 without the embeddings" in warnings[0]
    assert warnings[1] == (
        "not memory-matched: G needs 3.1x S's RAM (tolerance: within 25%; RAM estimate (weights + KV cache + buffers))"
    )
    assert c.verdict_note() == (
        "Note: G is the bigger model with more bits/weight (2.0x the parameters; 7.36 vs 5.74 bits/weight; 5.45 vs 5.01 "
        "without the embeddings): this matchup does not test big-harsh vs small-light; it is not memory-matched: "
        "G needs 3.1x S's RAM (tolerance 25%)."
    )
    # Intended but not memory-matched: the note says only that.
    unmatched = Comparison(_contender("big", 14e9, 3.1, 3.0, 9e9), _contender("small", 7e9, 6.6, 6.56, 6e9))
    assert unmatched.intended and unmatched.verdict_note() == "Note: it is not memory-matched: BIG needs 1.5x SMALL's RAM (tolerance 25%)."


def test_swapped_slots_and_mixed_measures() -> None:
    swapped = Comparison(_contender("a", 3e9, 8.5, 8.5), _contender("b", 8e9, 3.2, 3.1))
    assert swapped.size == "smaller" and swapped.precision == "more"
    assert "swapped" in swapped.shape and swapped.role("a") == "smaller model, more bits/weight"
    # Overall says more bits, the transformer's weights say fewer: neither harsh nor light, both numbers shown.
    mixed = Comparison(_contender("a", 2e9, 7.0, 4.5), _contender("b", 1e9, 6.0, 5.0))
    assert mixed.precision == "mixed" and not mixed.intended
    assert "7.00 vs 6.00 bits/weight" in mixed.numbers() and "4.50 vs 5.00 without the embeddings" in mixed.numbers()


def test_memory_tolerance_boundary() -> None:
    base = _contender("a", 8e9, 3.2, memory=1.25e9)
    assert Comparison(base, _contender("b", 3e9, 8.5, memory=1.0e9)).memory_matched is True  # exactly 1.25x
    assert Comparison(base, _contender("b", 3e9, 8.5, memory=0.99e9)).memory_matched is False
    assert Comparison(base, _contender("b", 3e9, 8.5, memory=0.99e9), tolerance=0.3).memory_matched is True


def test_catalog_labels() -> None:
    assert parse_params("270M") == 270_000_000 and parse_params("1.5B") == 1_500_000_000 and parse_params("8x7B") is None
    assert typical_bpw("q2_k") == 3.2 and typical_bpw("Q8_0") == 8.5 and typical_bpw("weird") is None


# -- the demo's real files -------------------------------------------------------------------------------------------


def _body_bits(path: Path) -> float:
    """Non-embedding bits per weight, summed independently over gguf.GGUFReader's tensors."""
    reader = GGUFReader(str(path))
    body = [t for t in reader.tensors if t.name not in EMBEDDING_TENSORS]
    elements = sum(int(np.prod([int(d) for d in t.shape], dtype=np.int64)) for t in body)
    return 8.0 * sum(int(t.n_bytes) for t in body) / elements


def test_demo_bits_per_weight_overall_and_without_embeddings(gemma_path: Path, smollm_path: Path) -> None:
    gemma, smol = read_facts(gemma_path), read_facts(smollm_path)
    assert round(gemma.bits_per_weight, 2) == 7.36 and round(smol.bits_per_weight, 2) == 5.74
    assert gemma.non_embedding_bits_per_weight == pytest.approx(_body_bits(gemma_path), rel=1e-12)
    assert smol.non_embedding_bits_per_weight == pytest.approx(_body_bits(smollm_path), rel=1e-12)
    assert gemma.embedding_params == 262144 * 640  # the table that dominates Gemma-3-270M
    assert gemma.embedding_params / gemma.n_params > 0.6


@pytest.fixture(scope="module")
def demo_facts(demo_config) -> dict[str, ModelFacts]:
    from arena.models.resolve import describe

    return {mid: describe(spec, demo_config).model_facts() for mid, spec in demo_config.models.items()}


def test_demo_reveal_does_not_call_gemma_the_harsh_quant(demo_config, demo_facts) -> None:
    matchup = demo_config.matchups["demo"]
    gemma, smol = demo_facts["gemma3-270m"], demo_facts["smollm2-135m"]
    assert gemma.memory_estimate == estimate_memory(read_facts(demo_config.model("gemma3-270m").source.path), 1024).total
    role_g, role_s = reveal_role(demo_facts, matchup, "gemma3-270m"), reveal_role(demo_facts, matchup, "smollm2-135m")
    assert role_g == "bigger model, more bits/weight" and role_s == "smaller model, fewer bits/weight"
    side = SideRecord("gemma3-270m", [], {}, [1], [{"ttft_s": 0.1, "gen_tps": 40.0, "completion_tokens": 9}], ["stop"])
    shown = reveal_title(gemma, role_g) + reveal_body(gemma, role_g, side).plain
    shown += reveal_title(smol, role_s) + reveal_body(smol, role_s, side).plain
    assert "harsh" not in shown and "light quant" not in shown
    assert "7.36 bits/weight (5.45 without embeddings)" in shown


def test_demo_statistics_and_verdict_use_the_true_description(demo_config, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    stored = {  # what an older vote stored: no non-embedding figure, no RAM estimate, no fingerprint
        mid: ModelFacts(id=mid, name=spec.name, source="test", quant_type=spec.quant) for mid, spec in demo_config.models.items()
    }
    with VoteStore(db) as store:
        for k in range(12):
            left, right = ("gemma3-270m", "smollm2-135m") if k % 2 else ("smollm2-135m", "gemma3-270m")
            sides = [SideRecord(m, [], {}, [1], [{}], ["stop"]) for m in (left, right)]
            store.record_vote(
                BattleRecord("demo", "gemma3-270m", "smollm2-135m", sides[0], sides[1], Vote.A if k < 9 else Vote.B, "paced"),
                stored,
            )
        rows = store.aggregate(Filters(matchup="demo"))
        kept = store.models()
    extra = stats_framing(demo_config, "gemma3-270m", "smollm2-135m", kept)
    report = build_report(rows, "gemma3-270m", "smollm2-135m", {m: s.label for m, s in demo_config.models.items()}, **extra)
    text = render_text(report)
    assert "big:   Gemma 3 270M Q4_K_M  (gemma3-270m)  — bigger model, more bits/weight" in text
    assert "small: SmolLM2 135M Instruct Q4_1  (smollm2-135m)  — smaller model, fewer bits/weight" in text
    assert "harsh" not in report.verdict.replace("does not test big-harsh vs small-light", "")
    assert "this matchup does not test big-harsh vs small-light; it is not memory-matched" in report.verdict
    assert report.to_dict()["big"]["role"] == "bigger model, more bits/weight"
    # Through the real CLI too (JSON): the same roles and note.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "arena", "--config", str(demo_config.path), "--db", str(db), "stats", "--json", "--rounds", "0"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["reports"][0]
    assert out["big"]["role"] == "bigger model, more bits/weight" and "does not test" in out["framing_note"]


def test_picker_rows_warn(demo_config) -> None:
    from arena.tui.screens.picker import matchup_row

    row = matchup_row(demo_config, demo_config.matchups["demo"]).plain
    assert "⚠ not big-harsh vs small-light: Gemma 3 270M is the bigger model, more bits per weight" in row
    paths = {mid: demo_config.model(mid).source.path for mid in ("gemma3-270m", "smollm2-135m")}
    ratio = estimate_memory(read_facts(paths["gemma3-270m"]), 1024).total / estimate_memory(read_facts(paths["smollm2-135m"]), 1024).total
    assert f"⚠ not memory-matched: {ratio:.1f}x the RAM of the other (tolerance 25%)" in row


def test_facts_of_loaded_contenders_compare(demo_facts) -> None:
    c = compare_facts(demo_facts, "gemma3-270m", "smollm2-135m")
    assert c is not None and c.precision_basis == "non-embedding" and c.precision == "more"
    gemma, smol = demo_facts["gemma3-270m"], demo_facts["smollm2-135m"]
    assert c.memory_ratio == pytest.approx(gemma.memory_estimate / smol.memory_estimate)
    assert c.tolerance == MEMORY_TOLERANCE


# -- `arena check` through the real CLI ------------------------------------------------------------------------------


def _check(cfg: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARENA_CONFIG", "ARENA_DB")}
    env.update(ARENA_HOME=str(home), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", HF_HOME=str(home / "hf"))
    return subprocess.run([sys.executable, "-m", "arena", "--config", str(cfg), "check"], capture_output=True, text=True, env=env, timeout=60)


def test_check_warns_when_labels_contradict_the_files(tmp_path: Path, gemma_path: Path, smollm_path: Path) -> None:
    """The catalog claims a 14B Q2_K vs a 7B Q8_0; the files are SmolLM2 (135M, 5.74 bpw) and Gemma (268M, 7.36)."""
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        f"  - {{id: claimed-14b, name: Claimed 14B, params: 14B, quant: Q2_K, n_ctx: 1024, source: {{path: '{smollm_path}'}}}}\n"
        f"  - {{id: claimed-7b, name: Claimed 7B, params: 7B, quant: Q8_0, n_ctx: 1024, source: {{path: '{gemma_path}'}}}}\n"
        "matchups:\n  - {id: liar, big: claimed-14b, small: claimed-7b}\n",
        encoding="utf-8",
    )
    run = _check(cfg, tmp_path / "home")
    assert run.returncode == 0, run.stderr  # a warning, not an error
    warnings = [line for line in run.stdout.splitlines() if line.startswith("  warning: ")]
    assert len(warnings) == 2, run.stdout
    assert warnings[0].startswith("  warning: matchup liar: not big-harsh vs small-light: Claimed 14B vs Claimed 7B: ")
    assert "slots are swapped" in warnings[0] or "smaller model" in warnings[0]
    assert "0.5x the parameters" in warnings[0]
    ratio = estimate_memory(read_facts(gemma_path), 1024).total / estimate_memory(read_facts(smollm_path), 1024).total
    assert f"not memory-matched: Claimed 7B needs {ratio:.1f}x Claimed 14B's RAM (tolerance: within 25%" in warnings[1]


def test_check_warns_from_catalog_labels_when_files_are_absent(tmp_path: Path) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - {id: a, name: A 3B, params: 3B, quant: Q8_0, source: {repo: someone/A-GGUF, file: A-Q8_0.gguf}}\n"
        "  - {id: b, name: B 8B, params: 8B, quant: Q2_K, source: {repo: someone/B-GGUF, file: B-Q2_K.gguf}}\n"
        "  - {id: c, name: C 7B, params: 7B, quant: Q2_K, source: {repo: someone/C-GGUF, file: C-Q2_K.gguf}}\n"
        "  - {id: d, name: D 3B, params: 3B, quant: Q6_K, source: {repo: someone/D-GGUF, file: D-Q6_K.gguf}}\n"
        "matchups:\n  - {id: backwards, big: a, small: b}\n  - {id: fine, big: c, small: d}\n",
        encoding="utf-8",
    )
    run = _check(cfg, tmp_path / "home")
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stdout.splitlines() if line.startswith("  warning: ")]
    assert warnings == [
        "  warning: matchup backwards: not big-harsh vs small-light: A 3B vs B 8B: small-light vs big-harsh (the slots are "
        "swapped) (0.4x the parameters; ~8.5 vs ~3.2 bits/weight (estimated from the quant labels); files ~3.19 GB vs ~3.20 GB)"
    ], run.stdout


def test_check_help_says_warnings_exit_0() -> None:
    proc = subprocess.run([sys.executable, "-m", "arena", "check", "--help"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)  # fmt: skip
    assert proc.returncode == 0
    assert "warnings keep the exit code 0" in " ".join(proc.stdout.split())


def test_check_does_not_trust_a_derived_k_quant_label_on_narrow_rows(tmp_path: Path, gemma_path: Path, smollm_path: Path) -> None:
    """Gemma-3-270M's rows are 640 wide: "Q2_K" of it falls back to wider types, so its label proves nothing."""
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        f"  - {{id: gemma, name: Gemma, params: 270M, quant: Q4_K_M, source: {{path: '{gemma_path}'}}}}\n"
        "  - {id: gemma-q2, name: Gemma Q2, params: 270M, source: {derived: {from: gemma, type: Q2_K}}}\n"
        f"  - {{id: smol, name: Smol, params: 135M, quant: Q4_1, source: {{path: '{smollm_path}'}}}}\n"
        "matchups:\n  - {id: q2, big: gemma-q2, small: smol}\n",
        encoding="utf-8",
    )
    widths = sorted({t.shape[0] for t in read_facts(gemma_path).tensors if len(t.shape) == 2 and t.shape[0] % 256})
    assert widths == [640]
    run = _check(cfg, tmp_path / "home")
    assert run.returncode == 0, run.stderr
    assert (
        "  warning: matchup q2: gemma-q2: Q2_K needs rows whose width is a multiple of 256; gemma has rows 640 wide, "
        "which llama.cpp quantizes with wider fallback types: bits per weight unknown until it is built"
    ) in run.stdout.splitlines()
    assert "big-harsh vs small-light: Gemma Q2" not in run.stdout  # no verdict either way from a label it cannot trust


def test_the_picker_shows_the_warnings_once_the_headers_are_read(demo_config, tmp_path) -> None:
    """The picker paints at once; the warnings (every GGUF header read) arrive from a worker a moment later."""
    import asyncio

    from textual.widgets import OptionList

    from arena.tui.app import ArenaApp
    from arena.tui.screens.picker import PickerScreen
    from tests.support.fake_engine import fake_backend
    from tests.support.pilot import wait_for

    async def scenario() -> None:
        app = ArenaApp(demo_config, tmp_path / "v.db", seed=1, backend=fake_backend({}))
        async with app.run_test(size=(120, 40)) as pilot:
            assert isinstance(app.screen, PickerScreen)
            options = app.screen.query_one("#matchups", OptionList)
            row = lambda: str(options.get_option("demo").prompt)  # noqa: E731
            await wait_for(pilot, lambda: "⚠ not big-harsh vs small-light" in row(), what="the picker's warning")

    asyncio.run(scenario())
