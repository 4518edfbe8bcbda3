"""Scoring on the real demo GGUFs: our per-token log-probabilities, windows and exact KL against independent
computations (llama-cpp-python with logits_all=True + numpy log-softmax in float64)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from arena.engine.scoring import (
    ScoreCancelled,
    ScoringModel,
    Vocabulary,
    batch_for_vocab,
    plan_windows,
    score_pair,
    score_tokens,
)

REPO = Path(__file__).resolve().parent.parent
TEXT = (REPO / "README.md").read_text(encoding="utf-8")


class Reference:
    """Independent: llama-cpp-python's own eval with logits for every position, log-softmax in float64 by numpy."""

    def __init__(self, path: Path, *, n_ctx: int, n_batch: int) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(
            model_path=str(path), n_ctx=max(32, n_ctx), n_batch=n_batch, n_ubatch=n_batch, n_threads=1,
            n_threads_batch=1, logits_all=True, verbose=False,
        )  # fmt: skip

    def logits(self, seq: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(seq)
        return np.array(self.llm.scores[: len(seq)], dtype=np.float64)

    def logprobs(self, seq: list[int]) -> np.ndarray:
        """Entry k is log p(seq[k + 1] | seq[: k + 1])."""
        logits = self.logits(seq)
        m = logits.max(axis=1, keepdims=True)
        logsoftmax = logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))
        return np.array([logsoftmax[k, seq[k + 1]] for k in range(len(seq) - 1)])

    def close(self) -> None:
        self.llm.close()


def reference_logprobs(path: Path, seq: list[int], *, n_batch: int) -> np.ndarray:
    ref = Reference(path, n_ctx=len(seq), n_batch=n_batch)
    try:
        return ref.logprobs(seq)
    finally:
        ref.close()


def _seq(model: ScoringModel, tokens: list[int]) -> list[int]:
    return ([model.bos] if model.add_bos else []) + tokens


@pytest.fixture(scope="module", params=["smollm", "gemma"])
def model_path(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(f"{request.param}_path")


def test_logprobs_equal_logits_all_and_numpy(model_path: Path) -> None:
    with ScoringModel("m", model_path, window=256, n_threads=1) as model:
        tokens = model.tokenize(TEXT)[:180]
        ours = score_tokens(model, tokens, stride=100)
        ref = reference_logprobs(model_path, _seq(model, tokens), n_batch=model.n_batch)
    # With BOS every text token is scored; without it the first one has no context.
    assert len(ours) == (len(tokens) if model.add_bos else len(tokens) - 1) == len(ref)
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)
    assert np.all(ours <= 0)


def test_windows_match_independent_passes_per_window(smollm_path: Path) -> None:
    """A text ~5 windows long: every scored token equals the same token's log-probability in an independent
    logits_all pass over its window (BOS rule and all)."""
    window, stride = 64, 24
    with ScoringModel("m", smollm_path, window=window, n_batch=32, n_threads=1) as model:
        tokens = model.tokenize(TEXT)[:170]
        ours = score_tokens(model, tokens, stride)
        windows = model.windows(len(tokens), stride)
        lead = 1 if model.add_bos else 0
        expected: list[float] = []
        ref = Reference(smollm_path, n_ctx=window, n_batch=32)
        for w in windows:
            seq = ([model.bos] if lead else []) + tokens[w.start : w.end]
            lp = ref.logprobs(seq)
            # lp[k] predicts seq[k + 1] = text token w.start + k + 1 - lead; keep the targets this window scores.
            for j in range(w.score_from, w.end):
                expected.append(lp[j - w.start + lead - 1])
        ref.close()
    assert len(windows) >= 5
    np.testing.assert_allclose(ours, np.array(expected), atol=1e-4, rtol=0)


def test_text_shorter_than_the_window_equals_one_pass(gemma_path: Path) -> None:
    with ScoringModel("m", gemma_path, window=512, n_threads=1) as model:
        tokens = model.tokenize(TEXT)[:150]
        windowed = score_tokens(model, tokens, stride=7)  # the stride never matters when one window holds the text
        assert len(model.windows(len(tokens), 7)) == 1
        one_pass = reference_logprobs(gemma_path, _seq(model, tokens), n_batch=model.n_batch)
    np.testing.assert_allclose(windowed, one_pass, atol=1e-4, rtol=0)


@pytest.mark.parametrize("n, window, stride, bos", [(1000, 64, 24, True), (1000, 64, 31, False), (10, 64, 32, True), (63, 64, 1, True), (64, 64, 5, False)])
def test_plan_windows_scores_every_token_once_with_enough_context(n: int, window: int, stride: int, bos: bool) -> None:
    windows = plan_windows(n, window, stride, bos=bos)
    scored = [j for w in windows for j in range(w.score_from, w.end)]
    assert scored == list(range(0 if bos else 1, n))  # every token once, in order
    room = window - (1 if bos else 0)
    for k, w in enumerate(windows):
        assert 0 <= w.start <= w.score_from < w.end <= n and w.end - w.start <= room
        if k:  # later windows: at least window - 1 - stride tokens of text context before the first scored token
            assert w.score_from - w.start >= min(room - stride, w.score_from)
            assert w.end - w.score_from <= stride


def test_batch_size_keeps_a_batch_of_logits_bounded() -> None:
    assert batch_for_vocab(262_144) == 128 and batch_for_vocab(49_152) == 512 and batch_for_vocab(10_000_000) == 16
    assert batch_for_vocab(262_144) * 262_144 * 4 <= 128 * 2**20


def test_kl_of_a_model_against_itself_is_zero(gemma_path: Path) -> None:
    with ScoringModel("a", gemma_path, window=128, n_threads=1) as a, ScoringModel("b", gemma_path, window=128, n_threads=1) as b:
        tokens = a.tokenize(TEXT)[:200]
        ref_lp, lp, kl, same = score_pair(a, b, tokens, stride=64)
        alone = score_tokens(a, tokens, stride=64)
    assert len(kl) == len(tokens) and np.max(np.abs(kl)) <= 1e-6
    assert same.all()
    np.testing.assert_allclose(ref_lp, alone, atol=1e-9)
    np.testing.assert_allclose(lp, alone, atol=1e-9)


@pytest.fixture(scope="module")
def gemma_requants(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo Gemma Q4_K_M requantized locally to a gentle (Q8_0) and a harsh (Q4_0) type."""
    from arena.models.quantize import quantize

    out = tmp_path_factory.mktemp("requant")
    return {t: quantize(gemma_path, out / f"gemma.{t}.gguf", t, threads=1) for t in ("Q8_0", "Q4_0")}


def _kl_reference(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(softmax p || softmax q) per row in float64, the textbook way."""
    p = p.astype(np.float64)
    q = q.astype(np.float64)
    lp = p - (p.max(1, keepdims=True) + np.log(np.exp(p - p.max(1, keepdims=True)).sum(1, keepdims=True)))
    lq = q - (q.max(1, keepdims=True) + np.log(np.exp(q - q.max(1, keepdims=True)).sum(1, keepdims=True)))
    return (np.exp(lp) * (lp - lq)).sum(1)


def test_kl_against_requantized_gemma_is_positive_and_larger_for_the_harsher_type(gemma_path: Path, gemma_requants: dict[str, Path]) -> None:
    from arena.models.facts import read_facts

    bpw = {t: read_facts(p).bits_per_weight for t, p in gemma_requants.items()}
    assert bpw["Q4_0"] < read_facts(gemma_path).bits_per_weight < bpw["Q8_0"]  # Q4_0 is the harsher one, honestly
    kls: dict[str, np.ndarray] = {}
    with ScoringModel("ref", gemma_path, window=128, n_threads=1) as ref:
        tokens = ref.tokenize(TEXT)[:120]
        for t, path in gemma_requants.items():
            with ScoringModel(t, path, window=128, n_threads=1) as m:
                _, _, kl, same = score_pair(ref, m, tokens, stride=64)
            kls[t] = kl
        seq = _seq(ref, tokens)
    assert kls["Q8_0"].mean() > 0 and kls["Q4_0"].mean() > 0
    assert kls["Q4_0"].mean() > 2 * kls["Q8_0"].mean()
    # Independent check of the KL values themselves on this one-window text: full logit matrices from logits_all.
    def logits(path: Path) -> np.ndarray:
        r = Reference(path, n_ctx=128, n_batch=128)
        try:
            return r.logits(seq)[: len(seq) - 1]
        finally:
            r.close()

    expected = _kl_reference(logits(gemma_path), logits(gemma_requants["Q4_0"]))
    np.testing.assert_allclose(kls["Q4_0"], expected, atol=2e-4, rtol=1e-3)


def test_vocabulary_hash_tells_tokenizers_apart(gemma_path: Path, smollm_path: Path, gemma_requants: dict[str, Path]) -> None:
    hashes = {}
    for name, path in {"gemma": gemma_path, "smollm": smollm_path, "q4_0": gemma_requants["Q4_0"]}.items():
        v = Vocabulary(path)
        hashes[name] = v.hash
        v.close()
    assert hashes["gemma"] == hashes["q4_0"] != hashes["smollm"]


def test_cancel_stops_within_a_batch(smollm_path: Path) -> None:
    """cancel() is polled between batches and, through llama.cpp's abort callback, inside a batch's graph."""
    decoded: list[int] = []
    polls = {"n": 0}

    def cancel() -> bool:
        polls["n"] += 1
        return polls["n"] > 50 or sum(decoded) >= 16  # true after the first batch, or part-way through the first one

    with ScoringModel("m", smollm_path, window=256, n_batch=256, n_threads=1) as model:
        tokens = model.tokenize(TEXT)[:600]
        with pytest.raises(ScoreCancelled) as info:
            score_tokens(model, tokens, stride=128, cancel=cancel, advance=decoded.append)
        assert decoded == []  # the abort callback stopped the first 256-token batch mid-graph
        # The context is usable again afterwards (the next pass clears the KV cache first).
        again = score_tokens(model, tokens[:100], stride=128)
    assert info.value.exit_code == 130 and len(again) == 99


def test_bits_per_byte_is_the_nll_sum_over_bytes(smollm_path: Path) -> None:
    from arena.stats.objective import bits_per_byte

    with ScoringModel("m", smollm_path, window=256, n_threads=1) as model:
        text = TEXT[:900]
        tokens = model.tokenize(text)
        lp = score_tokens(model, tokens, stride=128)
        v = Vocabulary(smollm_path)
        n_bytes = v.scored_bytes(text, tokens)
        v.close()
        expected_bytes = len(text.encode()) - (0 if model.add_bos else len(model.llm.detokenize([tokens[0]])))
    assert n_bytes == expected_bytes
    assert bits_per_byte(float(-lp.sum()), n_bytes) == pytest.approx(-lp.sum() / math.log(2) / expected_bytes, rel=1e-12)


FAMILY_YAML = """\
version: 1
models:
  - {{id: gemma-q4km, name: Gemma 3 270M, quant: Q4_K_M, chat_format: gemma, n_ctx: 1024, source: {{path: "{q4km}"}}}}
  - {{id: gemma-q4_0, name: Gemma 3 270M, quant: Q4_0, chat_format: gemma, n_ctx: 1024, source: {{path: "{q4_0}"}}}}
  - {{id: gemma-q8_0, name: Gemma 3 270M, quant: Q8_0, chat_format: gemma, n_ctx: 1024, source: {{path: "{q8_0}"}}}}
  - {{id: smollm, name: SmolLM2 135M, quant: Q4_1, n_ctx: 1024, source: {{path: "{smollm}"}}}}
matchups:
  - {{id: fam, big: gemma-q4_0, small: smollm}}
"""


def test_score_run_groups_by_tokenizer_and_measures_kl_against_the_most_precise(
    gemma_path: Path, smollm_path: Path, gemma_requants: dict[str, Path], tmp_path: Path
) -> None:
    from arena.battle.scoring import ScoreRun, ScoreText, contender
    from arena.config.loader import load_config
    from arena.store import VoteStore

    cfg = tmp_path / "models.yaml"
    cfg.write_text(FAMILY_YAML.format(q4km=gemma_path, q4_0=gemma_requants["Q4_0"], q8_0=gemma_requants["Q8_0"], smollm=smollm_path))
    config = load_config(cfg)
    contenders = [contender(config.models[i], config) for i in ("gemma-q4_0", "gemma-q4km", "gemma-q8_0", "smollm")]
    texts = [ScoreText("a", TEXT[:400]), ScoreText("b", TEXT[400:700])]
    seen: list[tuple[float, float | None]] = []
    with VoteStore(tmp_path / "v.db") as store:
        run = ScoreRun(contenders, texts, store, window=64, threads=1, progress=lambda f, eta, _m: seen.append((f, eta)))
        results = {r.id: r for r in run.run()}
        assert run.computed == 2 * len(texts) + len(texts)  # two lockstep pairs + SmolLM alone, per text
        again = ScoreRun(contenders, texts, store, window=64, threads=1)
        assert {r.id: r for r in again.run()} == results and again.computed == 0  # all from the cache
    # Q8_0 has the most bits per weight: it is the reference of the Gemma family; SmolLM has no same-tokenizer peer.
    assert results["gemma-q8_0"].is_reference and results["gemma-q8_0"].kld_mean is None
    for model in ("gemma-q4_0", "gemma-q4km"):
        r = results[model]
        assert r.reference == "gemma-q8_0" and r.kld_mean is not None and r.kld_mean > 0
        assert r.kld_p99 is not None and r.kld_max is not None and r.kld_mean <= r.kld_p99 <= r.kld_max
        assert r.same_top_pct is not None and 0 < r.same_top_pct <= 100
    assert results["gemma-q4_0"].kld_mean > results["gemma-q4km"].kld_mean  # the harsher quant strays further
    assert results["smollm"].reference is None and results["smollm"].kld_mean is None
    # Same tokens, same bytes within the family; bits per byte = NLL / ln 2 / bytes (combine's sums).
    assert len({(results[m].tokens, results[m].bytes) for m in ("gemma-q4_0", "gemma-q4km", "gemma-q8_0")}) == 1
    assert results["gemma-q4km"].bytes == len(texts[0].text.encode()) + len(texts[1].text.encode())
    # Progress: fractions never go back and end at 1; an ETA once tokens were decoded.
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and any(eta is not None for _, eta in seen)


def test_a_cancelled_lockstep_pass_leaves_nothing_running(smollm_path: Path) -> None:
    """Cancelling mid-pair stops both models; closing them afterwards (and collecting the generators) is safe."""
    import gc

    decoded: list[int] = []
    with ScoringModel("a", smollm_path, window=128, n_batch=32, n_threads=1) as a, ScoringModel("b", smollm_path, window=128, n_batch=32, n_threads=1) as b:
        tokens = a.tokenize(TEXT)[:400]
        with pytest.raises(ScoreCancelled):
            score_pair(a, b, tokens, stride=64, cancel=lambda: sum(decoded) >= 64, advance=decoded.append)
        assert sum(decoded) == 64  # the reference's batch, then the other model's: the next poll stops both
    gc.collect()
