"""The ladder section of the statistics screen: one ranking table, the rating-vs-bits-per-weight chart (textual-plotext,
drawn by the same arena.stats.chart.draw_plotext as `arena stats --plot`), the crossover sentence and per-category lines.
Computation lives in arena.stats.ladder; this module only lays it out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from arena.stats.chart import ChartData, chart_data, draw_plotext
from arena.stats.ladder import LadderReport, ladder_report, params_text, safe_facts
from arena.store import Filters, VoteStore

from arena.untrusted import visible as _visible  # the one sanitizer for untrusted text (names from YAML and the DB)


class LadderChart(PlotextPlot):
    """A PlotextPlot that draws a ChartData (and redraws it at any size: textual-plotext rebuilds on render)."""

    DEFAULT_CSS = "LadderChart { height: 22; width: 1fr; }"

    def show(self, chart: ChartData) -> None:
        self.plt.clear_figure()
        draw_plotext(self.plt, chart)
        self.refresh()


def ranking_table(report: LadderReport) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for name in ("rank", "model", "rating (Elo)", "95% CI", "votes", "bits/weight", "params"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for e in report.overall.entries:
        table.add_row(
            "—" if e.rank is None else str(e.rank), Text(e.label), "—" if e.rating is None else f"{e.rating:.0f}",
            "—" if e.ci_low is None or e.ci_high is None else f"{e.ci_low:.0f} … {e.ci_high:.0f}", str(e.votes),
            "—" if e.bits_per_weight is None else f"{e.bits_per_weight:.2f}", params_text(e.n_params) or "—",
        )  # fmt: skip
    return table


def category_text(report: LadderReport) -> Text:
    t = Text()
    if not report.categories:
        return t
    t.append("Per category\n", style="bold")
    for name, result in report.categories.items():
        t.append(f"{_visible(name)} ({result.votes} votes): ", style="bold")
        t.append(" · ".join(f"{e.label} {e.rating:.0f}" for e in result.entries if e.rating is not None) + "\n")
        t.append(f"  {result.sentence}\n", style="italic")
    return t


def build_report(store: VoteStore, config: Any, models: Sequence[str], ladder_id: str | None, include_leaks: bool) -> LadderReport:
    """The same report as `arena stats --ladder` (labels and families from the config, facts from the store)."""
    facts = safe_facts(store.models(), _visible)
    labels = {m: fact.name for m, fact in facts.items() if fact.name}
    labels.update({m: spec.label for m, spec in config.models.items()})
    families = {m: _visible(spec.family) if spec.family else None for m, spec in config.models.items()}
    rows = store.aggregate(Filters(include_leaks=include_leaks))
    safe = {m: _visible(labels.get(m, m)) for m in models}
    return ladder_report(rows, models, facts, safe, families, ladder_id=ladder_id)


class LadderSection(Vertical):
    """Ranking, chart and sentences for one ladder (or any set of models)."""

    DEFAULT_CSS = """
    LadderSection { height: auto; margin-bottom: 1; }
    LadderSection > #ladder-sentence { margin: 0 0 1 0; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="ladder-title")
        yield Static(id="ladder-table")
        yield LadderChart(id="ladder-chart")
        yield Static(id="ladder-sentence")
        yield Static(id="ladder-categories")

    def show(self, report: LadderReport) -> None:
        title = f"Ladder {_visible(report.ladder_id)}" if report.ladder_id else "Ranking"
        head = Text(f"{title}: ", style="bold")
        head.append(f"one Bradley-Terry ranking from all {report.overall.votes} votes among its {len(report.models)} models")
        self.query_one("#ladder-title", Static).update(head)
        self.query_one("#ladder-table", Static).update(ranking_table(report))
        self.query_one("#ladder-chart", LadderChart).show(chart_data(report.overall, f"{title}: rating against bits per weight"))
        self.query_one("#ladder-sentence", Static).update(Text(report.overall.sentence, style="bold"))
        self.query_one("#ladder-categories", Static).update(category_text(report))
