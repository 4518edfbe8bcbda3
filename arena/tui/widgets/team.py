"""The statistics screen's "Team" section: per-voter rows, agreement between voters, the pooled result with voters as
clusters (iid, cluster-robust and voter-bootstrap intervals drawn one above the other, so the widening is visible)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from arena.stats.bradley_terry import DEFAULT_ROUNDS, DEFAULT_SEED
from arena.stats.clustered import ClusteredMean
from arena.stats.team import TeamReport, build_team_report
from arena.stats.team_render import agreement_lines, design_effect_sentence, pair_cells, short_name
from arena.store import Filters, VoteStore
from arena.store.team import iter_team_votes, voters
from arena.tui.widgets.bars import ci_bar
from arena.untrusted import one_line

BAR = 28


def team_report(store: VoteStore, filters: Filters, big: str, small: str, labels: dict[str, str]) -> TeamReport | None:
    """The matchup's team report when its votes (under `filters`) come from 2 or more voters, else None.

    Bootstrap rounds and seed are `arena stats`'s defaults, so the screen and the command show the same intervals.
    """
    if len(voters(store, filters)) < 2:
        return None
    votes = iter_team_votes(store, filters)
    return build_team_report(votes, big, small, labels, rounds=DEFAULT_ROUNDS, seed=DEFAULT_SEED)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"{100 * ci[0]:.0f}–{100 * ci[1]:.0f}%"


def voters_table(report: TeamReport) -> Table:
    big, small = report.label(report.big), report.label(report.small)
    k = report.n_voters
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("voter")
    table.add_column("n", justify="right")
    table.add_column(Text(f"{big} wins"), justify="right")  # Text: a label's "[...]" is not markup
    table.add_column(Text(f"{small} wins"), justify="right")
    table.add_column("tie", justify="right")
    table.add_column("both bad", justify="right")
    table.add_column(Text(f"{big} share of decided (anytime-valid CS, 5%/{k} each)"))
    for v in report.voters:
        s = v.pair
        bar = ci_bar(s.win_rate, *(s.anytime_ci or (None, None)), width=BAR)
        bar.append(f" {_pct(s.win_rate)} {_ci(s.anytime_ci)}")
        table.add_row(
            Text(short_name(v.voter, one_line)), str(s.n), str(s.big_wins), str(s.small_wins), str(s.ties), str(s.both_bad), bar
        )
    return table


def agreement_table(report: TeamReport) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in (("voters", "left"), ("shared prompts", "right"), ("agree", "right"), ("Cohen's κ", "right"), ("", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for (a, b), p in report.agreement.pairs.items():
        cells = pair_cells(a, b, p, one_line)
        table.add_row(Text(cells[0]), cells[1], "—" if p.rate is None else f"{100 * p.rate:.0f}%", "—" if p.kappa is None else cells[3], Text(cells[4], style="dim"))
    return table


def _pooled_row(t: Text, name: str, m: ClusteredMean, ci: tuple[float, float] | None, note: str, width: int) -> None:
    t.append(name.ljust(width))
    t.append(ci_bar(m.estimate, *(ci or (None, None)), width=BAR))
    t.append(f"  {_pct(m.estimate)}  {_ci(ci)}  {note}\n")


def pooled_block(report: TeamReport) -> Text:
    d = report.decided
    t = Text()
    t.append(f"Pooled, voters as clusters: {report.label(report.big)} share of decided votes", style="bold")
    t.append("  (fixed-sample 95% intervals; one person's votes are not independent)\n", style="dim")
    names = ["every vote independent (iid)", "cluster-robust (CR1)", "voter bootstrap"]
    width = max(len(n) for n in names) + 2
    _pooled_row(t, names[0], d, d.iid_ci, f"n = {d.votes}", width)
    df = f"t, {d.cluster_df} df" if d.cluster_df is not None else "needs 2+ voters"
    _pooled_row(t, names[1], d, d.cluster_ci, df, width)
    boot = f"{d.bootstrap_rounds} resamples, seed {d.seed}" if d.bootstrap_ci is not None else "needs 2+ voters"
    _pooled_row(t, names[2], d, d.bootstrap_ci, boot, width)
    h = report.ties_half
    t.append(
        f"With ties as half: {_pct(h.estimate)}, cluster-robust {_ci(h.cluster_ci)}, voter bootstrap {_ci(h.bootstrap_ci)}.\n",
        style="dim",
    )
    sentence = design_effect_sentence(d)
    if sentence:
        t.append(sentence + "\n")
    caution = d.caution or h.caution
    if caution:
        t.append(f"Caution: {caution}.\n", style="yellow")
    return t


def team_block(report: TeamReport) -> Group:
    """The whole section (the screen shows it only for 2+ voters)."""
    k = report.n_voters
    heading = Text(f"Team — {k} voter{'s' * (k != 1)}", style="bold")
    verdicts = Text()
    for v in report.voters:
        verdicts.append(f"{short_name(v.voter, one_line)}: ", style="bold")
        verdicts.append(v.verdict + "\n", style="dim")
    lines = agreement_lines(report, one_line)
    agreement_head = Text(lines[0], style="bold")
    agreement_tail = Text("\n".join(line for line in lines[1:] if not line.startswith("  ")), style="dim")
    return Group(
        heading, voters_table(report), verdicts, agreement_head, agreement_table(report), agreement_tail, Text(""), pooled_block(report)
    )
