"""Statistics screen: the same report as `arena stats`, with charts where a picture reads faster than numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from arena.stats.checks import (
    ChecksSummary,
    head_to_head_text,
    summarize_checks,
    tallies_text,
    tally_text,
)
from arena.stats.pair import PairSummary
from arena.stats.render import render_text
from arena.stats.report import Report, build_report
from arena.stats.verdict import FIXED_N_LABEL, format_p
from arena.store import Filters
from arena.store.checks import aggregate_checks
from arena.tui.widgets.bars import ci_bar, share_bar
from arena.tui.widgets.ladder_chart import LadderSection
from arena.tui.widgets.ladder_chart import build_report as build_ladder_report
from arena.untrusted import one_line, visible
from arena.tui.widgets.objective import objective_block
from arena.tui.widgets.team import team_block, team_report

if TYPE_CHECKING:
    from arena.tui.app import ArenaApp


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"{100 * ci[0]:.0f}–{100 * ci[1]:.0f}%"


def pair_table(report: Report) -> Table:
    big, small = report.label(report.big), report.label(report.small)
    table = Table(title=None, expand=False, show_edge=False, pad_edge=False)
    table.add_column("category")
    table.add_column("n", justify="right")
    # Text, not str: Rich would read "[...]" in a model's label as markup.
    table.add_column(Text(f"{big} wins"), justify="right")
    table.add_column(Text(f"{small} wins"), justify="right")
    table.add_column("tie", justify="right")
    table.add_column("both bad", justify="right")
    table.add_column(Text(f"{big} share of decided (anytime-valid CS)"))
    table.add_column("p (anytime)", justify="right")

    def row(name: str, s: PairSummary) -> None:
        bar = ci_bar(s.win_rate, *(s.anytime_ci or (None, None)), width=24)
        bar.append(f" {_pct(s.win_rate)} {_ci(s.anytime_ci)}")
        p_any = s.anytime_p_adjusted
        table.add_row(
            Text(one_line(name)), str(s.n), str(s.big_wins), str(s.small_wins), str(s.ties), str(s.both_bad), bar,
            "—" if p_any is None else format_p(p_any).removeprefix("p = "),
        )

    row("all", report.pair)
    for name, summary in report.categories.items():
        row(name, summary)
    return table


def summary_block(report: Report) -> Text:
    s = report.pair
    big, small = report.label(report.big), report.label(report.small)
    labels = [f"{big} share of decided votes", "with ties counted as half", "left pane (A) share, bias check", "all votes"]
    width = max(len(x) for x in labels) + 2
    t = Text()
    t.append(report.verdict + "\n", style="bold")
    if s.decided:
        t.append(f"{FIXED_N_LABEL}: {report.fixed_n_verdict}\n", style="dim")
    t.append("\n")
    t.append(labels[0].ljust(width))
    t.append(ci_bar(s.win_rate, *(s.anytime_ci or (None, None))))
    t.append(f"  {_pct(s.win_rate)}  (anytime-valid 95% CS {_ci(s.anytime_ci) or '—'})\n")
    t.append(labels[1].ljust(width))
    t.append(ci_bar(s.ties_half_rate, *(s.ties_half_ci or (None, None))))
    t.append(f"  {_pct(s.ties_half_rate)}  (95% CI {_ci(s.ties_half_ci) or '—'})\n")
    t.append(labels[2].ljust(width))
    t.append(ci_bar(s.left_share, *(s.left_ci or (None, None))))
    t.append(f"  {_pct(s.left_share)}  (95% CI {_ci(s.left_ci) or '—'}; 50% = no position bias)\n\n")
    t.append(labels[3].ljust(width))
    t.append(share_bar([(big, s.big_wins, "green"), (small, s.small_wins, "blue"), ("tie", s.ties, "yellow"), ("both bad", s.both_bad, "red")]))
    t.append("  ")
    t.append(f"{big} {s.big_wins}", style="green")
    t.append(" · ")
    t.append(f"{small} {s.small_wins}", style="blue")
    t.append(" · ")
    t.append(f"tie {s.ties}", style="yellow")
    t.append(" · ")
    t.append(f"both bad {s.both_bad}", style="red")
    if s.more_votes_needed:
        t.append(
            f"\nAbout {s.more_votes_needed} more decided votes at the current rate would reach the anytime-valid verdict.",
            style="dim",
        )
    return t


def ratings_table(report: Report) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for col in ("rank", "model", "rating (Elo scale)", "95% CI", "votes"):
        table.add_column(col)
    for r in report.ratings:
        ci = "—" if r.ci_low is None else f"{r.ci_low:.0f} … {r.ci_high:.0f}"
        table.add_row(str(r.rank), Text(one_line(report.label(r.model))), f"{r.rating:.0f}", ci, str(r.votes))
    return table


def checks_block(summary: ChecksSummary) -> Text:
    """Objective checks per model (pass rate with its CI as a bar), per category, and the paired comparison."""
    t = Text()
    t.append("Objective checks", style="bold")
    t.append("  (automatic: final number / JSON shape, on suite prompts that have a check)\n", style="dim")
    width = max(len(summary.label(m)) for m in summary.overall) + 2
    for model, tally in summary.overall.items():
        lo_hi = tally.ci or (None, None)
        t.append(summary.label(model).ljust(width))
        t.append(ci_bar(tally.rate, *lo_hi))
        t.append("  " + tally_text("", tally).strip() + "\n")
    if len(summary.by_category) > 1:
        for name, tallies in summary.by_category.items():
            t.append(f"  {one_line(name)}: ", style="bold")
            t.append(tallies_text(summary, tallies) + "\n")
    paired = head_to_head_text(summary)
    if paired:
        t.append(paired + "\n", style="italic")
    return t


class StatsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,s,q", "close", "Back to the arena"),
        Binding("l", "toggle_leaks", "Include/exclude leak votes"),
    ]

    def __init__(self, matchup_id: str, *, ladder_id: str | None = None, ladder_models: Sequence[str] | None = None) -> None:
        super().__init__()
        self.matchup_id = matchup_id
        self.include_leaks = False
        # A ladder (or any set of models): one pooled ranking and its chart on top. Models come from the caller or
        # from config.ladders.
        self.ladder_id = ladder_id
        self.ladder_models = list(ladder_models) if ladder_models else None

    @property
    def arena_app(self) -> ArenaApp:
        return self.app  # type: ignore[return-value]

    @property
    def locked(self) -> bool:
        """The host locked statistics for this session: the keys that open this screen refuse with a message; should
        any other way reach it, it shows that message and reads nothing from the store."""
        return self.arena_app.lock_stats

    def compose(self) -> ComposeResult:
        if self.ladder_id is None and self.matchup_id in self.arena_app.config.ladders:
            self.ladder_id = self.matchup_id  # a ladder's votes are recorded under its id: show its pooled ranking
        yield Header()
        if self.locked:
            from arena.battle.controller import STATS_LOCKED

            yield Static(Text(STATS_LOCKED, style="bold"), id="stats-locked")
            yield Footer()
            return
        with VerticalScroll(id="stats-body"):
            if self.ladder_id is not None or self.ladder_models:
                yield LadderSection(id="stats-ladder")
            yield Static(id="stats-summary")
            yield Static(id="stats-categories")
            team = Static(id="stats-team")
            team.display = False  # only for votes from 2+ voters (refresh_report)
            yield team
            yield Static(id="stats-checks")
            yield Static(id="stats-objective")
            yield Static(id="stats-ratings")
            yield Static(id="stats-text")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Quant Arena — statistics"
        if not self.locked:
            self.refresh_report()

    def build(self) -> Report | None:
        app = self.arena_app
        if self.matchup_id in app.config.ladders:
            return None  # pairs change per round: the ladder section above is the report, not one pair's
        matchup = app.config.matchups.get(self.matchup_id)
        pair = app.store.matchup_models(self.matchup_id) or ((matchup.big, matchup.small) if matchup else None)
        if pair is None:
            return None
        rows = app.store.aggregate(Filters(matchup=self.matchup_id, include_leaks=self.include_leaks))
        labels = {m.id: m.label for m in app.config.models.values()}  # the same labels as `arena stats`
        # Labels come from YAML, ids also from merged databases: every one drawn here passes the one sanitizer.
        labels = {mid: one_line(labels.get(mid, mid)) for mid in {*labels, *pair}}
        from arena.models.contenders import stats_framing  # what the files say each model is, not the slots

        extra = stats_framing(app.config, pair[0], pair[1], app.store.models())
        return build_report(rows, pair[0], pair[1], labels, matchup=self.matchup_id, **extra)

    def build_checks(self, report: Report) -> ChecksSummary:
        rows = aggregate_checks(self.arena_app.store, Filters(matchup=self.matchup_id, include_leaks=self.include_leaks))
        return summarize_checks(rows, models=(report.big, report.small), labels=report.labels)

    def refresh_ladder(self) -> bool:
        """Draw the ladder section, if this screen has one. True when it did."""
        models = self.ladder_models
        if models is None and self.ladder_id is not None:
            ladder = self.arena_app.config.ladders.get(self.ladder_id)
            models = list(ladder.models) if ladder is not None else None
        if not models:
            return False
        report = build_ladder_report(self.arena_app.store, self.arena_app.config, models, self.ladder_id, self.include_leaks)
        self.query_one("#stats-ladder", LadderSection).show(report)
        return True

    def refresh_report(self) -> None:
        has_ladder = self.refresh_ladder()
        report = self.build()
        leaks = "included" if self.include_leaks else "excluded"
        scope = f"ladder {self.ladder_id}" if has_ladder and self.ladder_id else f"matchup {self.matchup_id}"
        self.sub_title = f"{scope} · identity-leak votes {leaks}"
        summary = self.query_one("#stats-summary", Static)
        if report is None or report.pair.n == 0:
            message = "" if has_ladder else "No votes for this matchup yet. Vote a few rounds, then come back."
            summary.update(Text(message, style="bold"))
            self.query_one("#stats-team", Static).display = False
            for wid in ("#stats-categories", "#stats-team", "#stats-checks", "#stats-objective", "#stats-ratings", "#stats-text"):
                self.query_one(wid, Static).update("")
            return
        summary.update(summary_block(report))
        self.query_one("#stats-categories", Static).update(pair_table(report))
        # Votes from 2+ voters (a team sharing one DB): per-voter rows, agreement, the pooled result with voters as clusters.
        filters = Filters(matchup=self.matchup_id, include_leaks=self.include_leaks)
        team = team_report(self.arena_app.store, filters, report.big, report.small, report.labels)
        team_widget = self.query_one("#stats-team", Static)
        team_widget.update("" if team is None else team_block(team))
        team_widget.display = team is not None
        checks = self.build_checks(report)
        checks_widget = self.query_one("#stats-checks", Static)
        checks_widget.update("" if checks.empty else checks_block(checks))
        checks_widget.display = not checks.empty
        objective = objective_block(self.arena_app.store, report)  # bits per byte / KL from `arena score`, if any
        objective_widget = self.query_one("#stats-objective", Static)
        objective_widget.update(objective or "")
        objective_widget.display = objective is not None
        ratings = self.query_one("#stats-ratings", Static)
        ratings.update(ratings_table(report) if len(report.ratings) > 2 else "")
        self.query_one("#stats-text", Static).update(Text(visible(render_text(report, checks)), style="dim"))

    def action_toggle_leaks(self) -> None:
        if self.locked:
            return
        self.include_leaks = not self.include_leaks
        self.refresh_report()

    def action_close(self) -> None:
        self.app.pop_screen()
