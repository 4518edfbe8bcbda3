"""The one-line answer in plain words, honest about uncertainty."""

from __future__ import annotations

from arena.stats.pair import PairSummary

FEW_VOTES = 10  # below this many decided votes we say "too few votes to tell" rather than "no difference"


def format_p(p: float) -> str:
    """p = 0.004, p = 0.013, p = 0.37, p < 0.001: enough digits to read, no false precision."""
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:  # near the 0.05 line a third digit matters
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def pct(x: float, digits: int = 0) -> str:
    return f"{100.0 * x:.{digits}f}"


def interval_label(pair: PairSummary) -> str:
    """"anytime-valid 95% CS", or for a Bonferroni-corrected category "anytime-valid 99.4% CS"."""
    level = 100.0 * (1.0 - pair.alpha)
    text = f"{level:.0f}" if abs(level - round(level)) < 1e-9 else f"{level:.1f}"
    return f"anytime-valid {text}% CS"


def _leader(pair: PairSummary, big_label: str, small_label: str, ci: tuple[float, float]) -> tuple[str, float, float, float]:
    """Whoever is ahead, with that model's share of decided votes and interval."""
    assert pair.win_rate is not None
    if pair.big_wins >= pair.small_wins:
        return big_label, pair.win_rate, ci[0], ci[1]
    return small_label, 1.0 - pair.win_rate, 1.0 - ci[1], 1.0 - ci[0]


def _no_decided(pair: PairSummary, big_label: str, small_label: str) -> str | None:
    if pair.n == 0:
        return f"No votes yet for {big_label} vs {small_label}."
    if pair.decided == 0:
        return (
            f"No decided votes yet ({pair.ties} ties, {pair.both_bad} both bad): "
            f"a vote for A or B is needed to compare {big_label} and {small_label}."
        )
    return None


def verdict(pair: PairSummary, big_label: str, small_label: str) -> str:
    """The anytime-valid verdict, safe to read after every vote.

    E.g. "You may stop: 14B Q2_K wins 64% of decided votes (anytime-valid 95% CS 55-72%, n = 200), valid however
    often you looked." or "Keep voting: ...; about 80 more decided votes at this rate would settle it."
    """
    empty = _no_decided(pair, big_label, small_label)
    if empty:
        return empty
    assert pair.anytime_ci is not None
    n = pair.decided
    label = interval_label(pair)
    if pair.big_wins == pair.small_wins:
        lo, hi = pair.anytime_ci
        return (
            f"Keep voting: {big_label} and {small_label} each win 50% of decided votes so far "
            f"({label} for {big_label} {pct(lo)}-{pct(hi)}%, n = {n})."
        )
    leader, share, lo, hi = _leader(pair, big_label, small_label, pair.anytime_ci)
    digits = 1 if hi - lo < 0.04 else 0  # with thousands of votes whole percents would blur the interval
    facts = f"{leader} wins {pct(share, digits)}% of decided votes ({label} {pct(lo, digits)}-{pct(hi, digits)}%, n = {n})"
    if pair.significant:
        return f"You may stop: {facts}, valid however often you looked."
    more = pair.more_votes_needed
    if more is None:
        tail = "at this rate it would take an impractical number of votes to settle it"
    else:
        tail = f"about {more} more decided vote{'s' * (more != 1)} at this rate would settle it"
    return f"Keep voting: {facts} so far; {tail}."


FIXED_N_LABEL = "Fixed-sample analysis (valid only if you fixed the number of votes in advance and look once)"


def fixed_n_verdict(pair: PairSummary, big_label: str, small_label: str) -> str:
    """The classical analysis: Wilson 95% CI and exact binomial p. Checked after every vote it is NOT valid.

    E.g. "14B Q2_K wins 62% of decided votes (Wilson 95% CI 54-70%, exact binomial p = 0.004, n = 120)."
    """
    empty = _no_decided(pair, big_label, small_label)
    if empty:
        return empty
    assert pair.win_ci is not None and pair.p_value is not None
    n = pair.decided
    if pair.big_wins == pair.small_wins:
        lo, hi = pair.win_ci
        return (
            f"No difference: {big_label} and {small_label} each win 50% of decided votes "
            f"(Wilson 95% CI for {big_label} {pct(lo)}-{pct(hi)}%, n = {n})."
        )
    leader, share, lo, hi = _leader(pair, big_label, small_label, pair.win_ci)
    digits = 1 if hi - lo < 0.04 else 0
    facts = (
        f"{leader} wins {pct(share, digits)}% of decided votes "
        f"(Wilson 95% CI {pct(lo, digits)}-{pct(hi, digits)}%, exact binomial {format_p(pair.p_value)}, n = {n})"
    )
    if pair.fixed_n_significant:
        return facts + "."
    opener = "Too few votes to tell" if n < FEW_VOTES else "No significant difference"
    return f"{opener}: {facts}."
