"""Pure objective-measure maths (combine, percentiles, which texts compare, the agreement sentence) against brute force."""

from __future__ import annotations

import math
import random
from array import array

import numpy as np
import pytest

from arena.records.score import ModelScore, TextScore
from arena.stats.objective import agreement_line, combine, common_texts, leader_by_bpb, percentile


def _row(model: str, text: str, nll: float, tokens: int, n_bytes: int, kld: list[float] | None = None, same: int | None = None) -> TextScore:
    return TextScore(
        model_id=model, fingerprint="f" + model, text_sha256=text, text_name=text, settings="s", tokens=tokens, bytes=n_bytes,
        nll_nats=nll, reference_id="ref" if kld is not None else None, reference_fingerprint="fref" if kld is not None else "",
        kld=array("f", kld) if kld is not None else None, same_top=same,
    )  # fmt: skip


def test_combine_adds_sums_not_ratios() -> None:
    rows = [_row("m", "t1", 700.0, 300, 1000), _row("m", "t2", 100.0, 50, 9000)]
    s = combine("m", rows)
    assert s.bits_per_byte == pytest.approx(800.0 / math.log(2) / 10000)
    assert s.perplexity == pytest.approx(math.exp(800.0 / 350))
    assert (s.tokens, s.bytes, s.texts) == (350, 10000, 2)
    assert s.kld_mean is None and s.reference is None
    mean_of_ratios = (700 / math.log(2) / 1000 + 100 / math.log(2) / 9000) / 2
    assert s.bits_per_byte != pytest.approx(mean_of_ratios)


def test_kl_statistics_over_all_tokens_of_all_texts_match_numpy() -> None:
    rng = random.Random(3)
    a = [rng.expovariate(20) for _ in range(517)]
    b = [rng.expovariate(5) for _ in range(91)]
    s = combine("m", [_row("m", "t1", 1.0, 517, 10, a, 400), _row("m", "t2", 1.0, 91, 10, b, 50)])
    allv = np.array(a + b, dtype=np.float32).astype(np.float64)
    assert s.kld_mean == pytest.approx(allv.mean(), rel=1e-6)
    assert s.kld_p99 == pytest.approx(np.percentile(allv, 99), rel=1e-6)
    assert s.kld_max == pytest.approx(allv.max(), rel=1e-6)
    assert s.same_top_pct == pytest.approx(100 * 450 / 608)
    assert s.reference == "ref"


def test_kl_is_left_out_when_a_text_lacks_it() -> None:
    s = combine("m", [_row("m", "t1", 1.0, 5, 10, [0.1] * 5, 5), _row("m", "t2", 1.0, 5, 10)])
    assert s.kld_mean is None and s.same_top_pct is None


@pytest.mark.parametrize("q", [0, 1, 50, 99, 99.9, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [random.Random(1).random() for _ in range(7)] + [5.0, -1.0, 2.5]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], q) is None


def test_common_texts_keeps_only_texts_every_model_has() -> None:
    newer_kl = _row("b", "t2", 2, 1, 1, [0.1], 1)
    by_model = {
        "a": [_row("a", "t1", 1, 1, 1), _row("a", "t2", 1, 1, 1)],
        "b": [_row("b", "t2", 2, 1, 1), _row("b", "t3", 2, 1, 1), newer_kl],
    }
    shared = common_texts(by_model)
    assert [r.text_sha256 for r in shared["a"]] == ["t2"]
    assert shared["b"] == [newer_kl]  # equal times: the KL row wins
    older = _row("b", "t2", 9, 1, 1)
    older.created, newer_kl.created = "2026-01-01T00:00:00", "2026-01-02T00:00:00"
    assert common_texts({"b": [newer_kl, older]})["b"] == [newer_kl]
    newer_plain = _row("b", "t2", 3, 1, 1)
    newer_plain.created = "2026-01-03T00:00:00"
    assert common_texts({"b": [newer_kl, newer_plain]})["b"] == [newer_plain]  # the newest run wins


def _score(bpb: float | None) -> ModelScore:
    return ModelScore(id="x", label="x", bits_per_byte=bpb, perplexity=None, tokens=1, bytes=1, texts=1)


def test_leader_by_bpb_with_a_level_band() -> None:
    assert leader_by_bpb(_score(1.00), _score(1.20)) == "big"
    assert leader_by_bpb(_score(1.20), _score(1.00)) == "small"
    assert leader_by_bpb(_score(1.000), _score(1.004)) is None  # within 0.5%
    assert leader_by_bpb(_score(None), _score(1.0)) is None


def test_agreement_line_says_plainly_when_votes_and_bpb_disagree() -> None:
    line = agreement_line("small", True, _score(0.9), _score(1.1))
    assert line.startswith("They disagree:")
    assert "votes prefer the small model; bits per byte favours the big model" in line
    assert "not a preference" in line
    assert agreement_line("big", True, _score(0.9), _score(1.1)).startswith("They agree")
    assert "not significant yet" in agreement_line("big", False, _score(0.9), _score(1.1))
    assert "no leader" in agreement_line(None, False, _score(0.9), _score(1.1))
    assert "no clear difference" in agreement_line("small", True, _score(1.0), _score(1.001))
    assert "run `arena score`" in agreement_line("small", True, _score(None), _score(1.0))
