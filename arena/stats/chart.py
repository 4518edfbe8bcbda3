"""The ladder chart: rating (95% CI bars) against bits per weight for the big family, other models as bands.

`chart_data` is pure (what to draw); `draw_plotext` draws it on any plotext figure (the `plotext` module for the CLI,
textual-plotext's `PlotextPlot.plt` in the TUI), so terminal and TUI show the same picture; `save_chart` writes a
PNG/SVG with matplotlib (imported only then: it is slow to import and only a file report needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.stats.ladder import LadderResult, series_label

# plotext colour names, one per band (cycled); the curve is always the first
CURVE_COLOR = "orange"
BAND_COLORS = ("cyan", "magenta", "green", "blue", "red")
MPL_BAND_COLORS = ("tab:blue", "tab:purple", "tab:green", "tab:cyan", "tab:red")
FILE_SUFFIXES = (".png", ".svg")


@dataclass(frozen=True)
class Point:
    bpw: float
    rating: float
    low: float
    high: float
    label: str  # quant type, e.g. "Q4_K_M"


@dataclass(frozen=True)
class Band:
    label: str
    rating: float
    low: float
    high: float


@dataclass(frozen=True)
class ChartData:
    title: str
    curve_label: str | None
    curve: list[Point]  # ascending bits per weight
    bands: list[Band]
    x_range: tuple[float, float]
    sentence: str

    @property
    def drawable(self) -> bool:
        return bool(self.curve) or bool(self.bands)


def chart_data(result: LadderResult, title: str = "Ladder") -> ChartData:
    """Points of the big family (rated quants with known bits per weight) and bands for every other rated model."""
    curve = [
        Point(e.bits_per_weight, e.rating, e.ci_low if e.ci_low is not None else e.rating,
              e.ci_high if e.ci_high is not None else e.rating, e.quant_type or e.label)
        for e in sorted(result.entries, key=lambda e: e.bits_per_weight or 0.0)
        if e.series == result.big_series and e.rating is not None and e.bits_per_weight is not None
    ]  # fmt: skip
    bands = [
        Band(e.label, e.rating, e.ci_low if e.ci_low is not None else e.rating, e.ci_high if e.ci_high is not None else e.rating)
        for e in result.entries
        if e.series != result.big_series and e.rating is not None
    ]
    if curve:
        lo, hi = curve[0].bpw, curve[-1].bpw
        pad = max(0.25, 0.08 * (hi - lo))
        x_range = (lo - pad, hi + pad)
    else:
        x_range = (2.0, 9.0)  # the usual span of GGUF quants, when there is no curve to fit
    label = series_label(result.entries, result.big_series) if result.big_series else None
    return ChartData(title, label, curve, bands, x_range, result.sentence)


def _y_range(chart: ChartData) -> tuple[float, float]:
    values = [v for p in chart.curve for v in (p.low, p.high)] + [v for b in chart.bands for v in (b.low, b.high)]
    lo, hi = min(values), max(values)
    pad = max(10.0, 0.08 * (hi - lo))  # room for the quant labels above the bars
    return lo - pad, hi + pad


def draw_plotext(plt: Any, chart: ChartData) -> None:
    """Draw on a plotext figure (module or Figure object). Caller sets the size and builds/shows it."""
    plt.clear_data()
    plt.title(chart.title)
    plt.xlabel("bits per weight")
    plt.ylabel("rating (Elo scale)")
    if not chart.drawable:
        plt.xlim(*chart.x_range)
        plt.ylim(900, 1100)
        plt.text("no rated models yet", x=sum(chart.x_range) / 2, y=1000, alignment="center")
        return
    x0, x1 = chart.x_range
    for k, band in enumerate(chart.bands):
        color = BAND_COLORS[k % len(BAND_COLORS)]
        plt.plot([x0, x1], [band.rating, band.rating], color=color, marker="hd", label=f"{band.label} {band.rating:.0f}")
        for edge in (band.low, band.high):
            plt.plot([x0, x1], [edge, edge], color=color, marker="dot")
    if chart.curve:
        plt.plot([p.bpw for p in chart.curve], [p.rating for p in chart.curve], color=CURVE_COLOR, marker="hd", label=chart.curve_label)
        for p in chart.curve:
            plt.plot([p.bpw, p.bpw], [p.low, p.high], color=CURVE_COLOR, marker="|")
            plt.scatter([p.bpw], [p.rating], color=CURVE_COLOR, marker="o")
            plt.text(p.label, x=p.bpw, y=p.high, color=CURVE_COLOR, alignment="center")
    plt.xlim(x0, x1)
    plt.ylim(*_y_range(chart))


def render_terminal(chart: ChartData, width: int = 100, height: int = 24, color: bool = True) -> str:
    """The chart as text for a terminal (ANSI colours unless color=False)."""
    import plotext as plt

    plt.clf()
    draw_plotext(plt, chart)
    plt.plotsize(width, height)
    plt.theme("pro" if color else "clear")
    text = plt.build()
    plt.clf()
    return text if color else plt.uncolorize(text)


def save_chart(chart: ChartData, path: Path) -> None:
    """Write the chart to a PNG or SVG file with matplotlib, the sentence underneath."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import textwrap

    import matplotlib.pyplot as pyplot

    fig, ax = pyplot.subplots(figsize=(8, 5.2), dpi=120)
    try:
        x0, x1 = chart.x_range
        for k, band in enumerate(chart.bands):
            color = MPL_BAND_COLORS[k % len(MPL_BAND_COLORS)]
            ax.axhspan(band.low, band.high, color=color, alpha=0.15, lw=0)
            ax.axhline(band.rating, color=color, lw=1.5, label=f"{band.label} (band: 95% CI)")
        if chart.curve:
            xs = [p.bpw for p in chart.curve]
            ys = [p.rating for p in chart.curve]
            err = [[p.rating - p.low for p in chart.curve], [p.high - p.rating for p in chart.curve]]
            ax.errorbar(xs, ys, yerr=err, color="tab:orange", marker="o", capsize=4, lw=2, label=chart.curve_label)
            for p in chart.curve:
                ax.annotate(p.label, (p.bpw, p.high), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        if chart.drawable:
            ax.set_ylim(*_y_range(chart))
        else:
            ax.text(0.5, 0.5, "no rated models yet", transform=ax.transAxes, ha="center")
        ax.set_xlim(x0, x1)
        ax.set_xlabel("bits per weight")
        ax.set_ylabel("rating (Elo scale, mean 1000; bars: 95% CI)")
        ax.set_title(chart.title)
        ax.grid(alpha=0.3)
        if chart.drawable:
            ax.legend(fontsize=8, loc="best")
        fig.text(0.02, 0.02, "\n".join(textwrap.wrap(chart.sentence, 110)), fontsize=8, va="bottom")
        fig.subplots_adjust(bottom=0.2)
        fig.savefig(path, format=path.suffix.lstrip(".").lower())
    finally:
        pyplot.close(fig)
