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


def verdict(pair: PairSummary, big_label: str, small_label: str) -> str:
    """E.g. "14B Q2_K wins 62% of decided votes (95% CI 54-70%, p = 0.004, n = 120)."."""
    if pair.n == 0:
        return f"No votes yet for {big_label} vs {small_label}."
    if pair.decided == 0:
        return (
            f"No decided votes yet ({pair.ties} ties, {pair.both_bad} both bad): "
            f"a vote for A or B is needed to compare {big_label} and {small_label}."
        )
    assert pair.win_rate is not None and pair.win_ci is not None and pair.p_value is not None
    n = pair.decided
    if pair.big_wins == pair.small_wins:
        lo, hi = pair.win_ci
        return (
            f"No difference so far: {big_label} and {small_label} each win 50% of decided votes "
            f"(95% CI for {big_label} {pct(lo)}-{pct(hi)}%, n = {n})."
        )
    # Speak about whoever is ahead, with that model's share and interval.
    if pair.big_wins > pair.small_wins:
        leader, share, (lo, hi) = big_label, pair.win_rate, pair.win_ci
    else:
        leader, share, (lo, hi) = small_label, 1.0 - pair.win_rate, (1.0 - pair.win_ci[1], 1.0 - pair.win_ci[0])
    digits = 1 if hi - lo < 0.04 else 0  # with thousands of votes whole percents would blur the interval
    facts = (
        f"{leader} wins {pct(share, digits)}% of decided votes "
        f"(95% CI {pct(lo, digits)}-{pct(hi, digits)}%, {format_p(pair.p_value)}, n = {n})"
    )
    if pair.significant:
        return facts + "."
    opener = "Too few votes to tell yet" if n < FEW_VOTES else "No significant difference yet"
    more = pair.more_votes_needed
    if more is None:
        tail = "at this rate it would take an impractical number of votes to reach p < 0.05"
    else:
        tail = f"about {more} more decided votes at this rate would reach p < 0.05"
    return f"{opener}: {facts}; {tail}."
