"""Plain-text rendering of a TeamReport (for `arena stats` and the TUI's plain-text block): aligned columns, no markup.

Voter names are untrusted text: the shell passes its one-line sanitizer as `clean` (a name with a newline must not break
a table row); the shell still passes the whole text through its terminal sanitizer, as for the rest of the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from arena.stats.agreement import PairAgreement
from arena.stats.clustered import ClusteredMean
from arena.stats.render import table
from arena.stats.team import TeamReport, voter_name

DASH = "-"
NAME_WIDTH = 24  # a longer voter name is cut with an ellipsis in tables (JSON keeps it whole)


def short_name(voter: str | None, clean: Callable[[str], str] = str, width: int = NAME_WIDTH) -> str:
    text = clean(voter_name(voter))
    return text if len(text) <= width else text[: width - 1] + "…"


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{100.0 * x:.1f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return DASH if ci is None else f"{100.0 * ci[0]:.1f}-{100.0 * ci[1]:.1f}"


def _num(x: float | None, digits: int = 2) -> str:
    return DASH if x is None else f"{x:.{digits}f}"


def voters_heading(report: TeamReport) -> str:
    k = report.n_voters
    big, small = report.label(report.big), report.label(report.small)
    return f"Team: {k} voter{'s' * (k != 1)} on {big} vs {small}"


def voter_rows(report: TeamReport, clean: Callable[[str], str] = str) -> tuple[list[str], list[list[str]]]:
    k = report.n_voters
    cs = "anytime CS" if k < 2 else f"anytime CS (5%/{k})"
    headers = ["voter", "votes", "big", "small", "tie", "bad", "big%", cs, "p(any)", "ties½%"]
    rows = []
    for v in report.voters:
        s = v.pair
        p = s.anytime_p_adjusted
        rows.append([
            short_name(v.voter, clean), str(s.n), str(s.big_wins), str(s.small_wins), str(s.ties), str(s.both_bad),
            _pct(s.win_rate), _ci(s.anytime_ci), DASH if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}"),
            _pct(s.ties_half_rate),
        ])  # fmt: skip
    return headers, rows


def pair_cells(a: str | None, b: str | None, p: PairAgreement, clean: Callable[[str], str] = str) -> list[str]:
    return [
        f"{short_name(a, clean, 16)} / {short_name(b, clean, 16)}",
        str(p.shared),
        _pct(p.rate),
        _num(p.kappa),
        p.note or "",
    ]


def agreement_lines(report: TeamReport, clean: Callable[[str], str] = str) -> list[str]:
    ag = report.agreement
    lines = ["Agreement between voters on the same prompt (each voter's latest vote on it):"]
    if report.n_voters < 2:
        return lines + ["  needs votes from 2 or more voters."]
    rows = [pair_cells(a, b, p, clean) for (a, b), p in ag.pairs.items()]
    lines += ["  " + line for line in table(["voters", "shared", "agree%", "Cohen's κ", ""], rows)]
    if ag.fleiss is not None:
        f = ag.fleiss
        if f.kappa is None:
            lines.append(f"Fleiss' κ (all {f.raters} voters): undefined: {f.note}.")
        else:
            lines.append(
                f"Fleiss' κ over the {f.items} prompt{'s' * (f.items != 1)} all {f.raters} voters rated: {f.kappa:.2f} "
                f"(observed agreement {_pct(f.observed)}%)."
            )
    if ag.krippendorff is not None:
        a = ag.krippendorff
        if a.alpha is None:
            lines.append(f"Krippendorff's α (nominal): undefined: {a.note}.")
        else:
            lines.append(
                f"Krippendorff's α (nominal; {a.items} prompt{'s' * (a.items != 1)} rated by 2+ voters, {a.values} "
                f"ratings, missing ratings allowed): {a.alpha:.2f}."
            )
    if ag.repeats:
        lines.append(
            f"{ag.repeats} earlier vote{'s' * (ag.repeats != 1)} by a voter on a prompt they voted on again "
            f"{'are' if ag.repeats != 1 else 'is'} left out of agreement (the latest counts); all votes count in the tallies."
        )
    lines.append(
        "Over 4 outcomes (big better, small better, tie, both bad); κ, α: 1 = full agreement, 0 = no more than chance; "
        "with few shared prompts they are very uncertain."
    )
    return lines


def pooled_rows(report: TeamReport) -> tuple[list[str], list[list[str]]]:
    headers = ["measure", "votes", "big%", "iid 95% CI", "clustered 95% CI", "voter bootstrap 95% CI", "design effect", "effective votes"]

    def row(name: str, m: ClusteredMean) -> list[str]:
        eff = DASH if m.effective_votes is None else f"{m.effective_votes:.0f}"
        return [name, str(m.votes), _pct(m.estimate), _ci(m.iid_ci), _ci(m.cluster_ci), _ci(m.bootstrap_ci), _num(m.design_effect), eff]

    return headers, [row("share of decided", report.decided), row("ties as half", report.ties_half)]


def design_effect_sentence(m: ClusteredMean) -> str | None:
    """What the design effect means for the verdict above (which counts every vote as independent)."""
    if m.design_effect is None or m.effective_votes is None:
        return None
    deff = m.design_effect
    if deff <= 1.0:
        return (
            f"Design effect {deff:.2f} (share of decided): voters differ no more than chance alone would make them; "
            "the iid intervals (and the verdict above) need no widening."
        )
    return (
        f"Design effect {deff:.2f} (share of decided): the {m.votes} decided votes weigh like {m.effective_votes:.0f} "
        f"independent ones; intervals that treat every vote as independent (the verdict above) are about "
        f"{math.sqrt(deff):.1f}x too narrow."
    )


def pooled_lines(report: TeamReport) -> list[str]:
    lines = ["Pooled, voters as clusters (fixed-sample; votes from one person are not independent):"]
    headers, rows = pooled_rows(report)
    lines += ["  " + line for line in table(headers, rows)]
    d = report.decided
    method = "clustered: cluster-robust CR1"
    if d.cluster_df is not None:
        method += f", t with {d.cluster_df} df (voters - 1)"
    if d.bootstrap_rounds and d.clusters >= 2:
        method += f"; voter bootstrap: {d.bootstrap_rounds} resamples of whole voters, seed {d.seed}"
    lines.append(method + "; iid: every vote independent.")
    sentence = design_effect_sentence(d)
    if sentence:
        lines.append(sentence)
    caution = d.caution or report.ties_half.caution
    if caution:
        lines.append(f"Caution: {caution}.")
    return lines


def render_team_text(report: TeamReport, clean: Callable[[str], str] = str) -> str:
    """The whole team section: per-voter table and verdicts, agreement, pooled clustered intervals."""
    lines = [voters_heading(report)]
    headers, rows = voter_rows(report, clean)
    lines += table(headers, rows)
    if report.n_voters > 1:
        lines.append(
            f"big%: big's share of decided votes; anytime CS: anytime-valid confidence sequence, Bonferroni over the "
            f"{report.n_voters} voters (each at 5%/{report.n_voters}); ties½%: ties and both-bad as half a win."
        )
    width = max(len(short_name(v.voter, clean)) for v in report.voters) + 1 if report.voters else 0
    for v in report.voters:
        lines.append(f"  {(short_name(v.voter, clean) + ':').ljust(width)} {v.verdict}")
    lines.append("")
    lines += agreement_lines(report, clean)
    lines.append("")
    lines += pooled_lines(report)
    return "\n".join(lines) + "\n"
