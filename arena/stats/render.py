"""Plain-text rendering of a Report: aligned columns, no markup (safe for pipes, logs and Textual Static alike)."""

from __future__ import annotations

from collections.abc import Sequence

from arena.stats.checks import ChecksSummary, head_to_head_text, tallies_text
from arena.stats.pair import PairSummary
from arena.stats.report import Report
from arena.stats.verdict import FIXED_N_LABEL, format_p

DASH = "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Align columns: the first `left` columns flush left, the rest flush right (numbers)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if k < left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _rate(x: float | None) -> str:
    return DASH if x is None else f"{100.0 * x:.1f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return DASH if ci is None else f"{100.0 * ci[0]:.1f}-{100.0 * ci[1]:.1f}"


def _p(p: float | None) -> str:
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _pair_row(name: str, s: PairSummary, fixed_n: bool = False) -> list[str]:
    counts = [name, str(s.n), str(s.big_wins), str(s.small_wins), str(s.ties), str(s.both_bad), _rate(s.win_rate)]
    if fixed_n:
        middle = [_ci(s.win_ci), _p(s.p_value)]
    else:
        more = DASH if s.more_votes_needed is None else str(s.more_votes_needed)
        middle = [_ci(s.anytime_ci), _p(s.anytime_p_adjusted), more]
    return [*counts, *middle, _rate(s.ties_half_rate), _ci(s.ties_half_ci), _rate(s.left_share), _ci(s.left_ci)]


_TAIL_HEADERS = ["ties½%", "95% CI", "left%", "95% CI"]
PAIR_HEADERS = ["category", "votes", "big", "small", "tie", "bad", "big%", "anytime CS", "p(any)", "more", *_TAIL_HEADERS]
FIXED_N_HEADERS = ["category", "votes", "big", "small", "tie", "bad", "big%", "Wilson CI", "exact p", *_TAIL_HEADERS]


def _position_line(s: PairSummary) -> str:
    if s.left_share is None or s.left_ci is None or s.left_p_value is None:
        return "Position bias: no decided votes yet."
    lo, hi = s.left_ci
    text = (
        f"Position bias: the left pane won {100 * s.left_share:.0f}% of decided votes "
        f"(95% CI {100 * lo:.0f}-{100 * hi:.0f}%, {format_p(s.left_p_value)})"
    )
    if s.left_p_value < 0.05:
        side = "left" if s.left_share > 0.5 else "right"
        return text + f": voters favour the {side} pane; sides are random per round, so win rates stay fair."
    return text + ": no sign of a side preference."


def category_heading(report: Report, fixed_n: bool = False) -> str:
    k = len(report.categories)
    if fixed_n:
        chance = 100.0 * (1.0 - 0.95**k)
        return (
            f"Per category (fixed-sample, not corrected for multiplicity: with {k} categories at 5% each, "
            f"up to {chance:.0f}% chance of a false difference somewhere):"
        )
    if k < 2:
        return "Per category:"
    return (
        f"Per category (Bonferroni over {k} categories: each at 5%/{k}, so all together keep a 5% chance "
        "of any false \"you may stop\"):"
    )


def category_verdict_lines(report: Report, fixed_n: bool = False) -> list[str]:
    """One plain-words verdict per category ("code: Keep voting: Gemma 3 270M wins 70% ..."), or [] if uncategorized."""
    if not set(report.categories) - {"uncategorized"}:
        return []
    width = max(len(name) for name in report.categories) + 1
    lines = [category_heading(report, fixed_n)]
    verdicts = report.fixed_n_category_verdicts if fixed_n else report.category_verdicts
    for name in report.categories:
        text = verdicts.get(name)
        if text:
            lines.append(f"  {(name + ':').ljust(width)} {text}")
    return lines if len(lines) > 1 else []


def checks_lines(summary: ChecksSummary | None) -> list[str]:
    """Objective checks per model, overall, per category and per check type, plus the paired comparison; [] if none."""
    if summary is None or summary.empty:
        return []
    lines = [f"Objective checks (automatic, on suite prompts that have one): {tallies_text(summary, summary.overall)}"]
    width = max(len(name) for name in [*summary.by_category, *summary.by_type]) + 1
    if len(summary.by_category) > 1:
        for name, tallies in summary.by_category.items():
            lines.append(f"  {(name + ':').ljust(width)} {tallies_text(summary, tallies)}")
    # Per check type only where it adds something: in the built-in suites each type lives in one category.
    if len(summary.by_type) > 1 and any(t not in summary.by_category.values() for t in summary.by_type.values()):
        for name, tallies in summary.by_type.items():
            lines.append(f"  {(name + ' checks:').ljust(width + 7)} {tallies_text(summary, tallies)}")
    paired = head_to_head_text(summary)
    if paired:
        lines.append(paired)
    lines.append("(pass rate with Wilson 95% CI; checks are stored with each vote and never shown before it)")
    return lines


def _role(report: Report, model: str) -> str:
    role = report.role(model)
    return f"  — {role}" if role else ""


def render_text(report: Report, checks: ChecksSummary | None = None, fixed_n: bool = False) -> str:
    """The whole report as text. fixed_n: lead with the fixed-sample analysis (Wilson, exact p) instead of the
    anytime-valid one, for people who fixed the number of votes in advance."""
    s = report.pair
    title = "Quant Arena results" + (f": matchup {report.matchup}" if report.matchup else "")
    big, small = report.label(report.big), report.label(report.small)
    lines = [title]
    lines.append(f"  big:   {big}" + (f"  ({report.big})" if big != report.big else "") + _role(report, report.big))
    lines.append(f"  small: {small}" + (f"  ({report.small})" if small != report.small else "") + _role(report, report.small))
    lines.append("")
    if fixed_n and s.decided:
        lines.append(f"{FIXED_N_LABEL}:")
        lines.append(report.fixed_n_verdict)
    else:
        lines.append(report.verdict)
    if s.n == 0:
        return "\n".join(lines) + "\n"
    lines.append("")
    rows = [_pair_row("all", s, fixed_n)]
    if set(report.categories) - {"uncategorized"}:  # one row per category unless nothing was categorized
        rows += [_pair_row(f"  {name}", c, fixed_n) for name, c in report.categories.items()]
    lines += table(FIXED_N_HEADERS if fixed_n else PAIR_HEADERS, rows)
    lines.append("")
    if fixed_n:
        lines.append("big/small: decided wins; big%: big's share of decided votes (Wilson 95% CI); exact p: exact two-sided")
        lines.append("binomial test. Valid for a number of votes fixed in advance, looked at once; not after every vote.")
    else:
        lines.append("big/small: decided wins; big%: big's share of decided votes; anytime CS: anytime-valid 95% confidence")
        lines.append("sequence (category rows: Bonferroni-corrected CS and p); p(any): anytime-valid p; more: decided votes to a verdict")
        lines.append("at this rate. Valid however often you look (arena stats --fixed-n: Wilson CI and exact p instead).")
    lines.append("ties½%: ties and both-bad as half a win (score interval on per-vote scores); left%: share won by the left pane.")
    lines.append(_position_line(s))
    per_category = category_verdict_lines(report, fixed_n)
    if per_category:
        lines.append("")
        lines += per_category
    check_lines = checks_lines(checks)
    if check_lines:
        lines.append("")
        lines += check_lines
    if report.ratings:
        lines.append("")
        rounds = f"{report.bootstrap_rounds} bootstrap rounds, seed {report.seed}" if report.bootstrap_rounds else "no bootstrap"
        lines.append(f"Bradley-Terry ratings (Elo scale, mean 1000; ties as half; 95% CI from {rounds})")
        rating_rows = [
            [
                str(r.rank),
                report.label(r.model),
                f"{r.rating:.0f}",
                DASH if r.ci_low is None or r.ci_high is None else f"{r.ci_low:.0f} to {r.ci_high:.0f}",
                str(r.votes),
            ]
            for r in report.ratings
        ]
        lines += table(["rank", "model", "rating", "95% CI", "votes"], rating_rows, left=2)
    return "\n".join(lines) + "\n"
