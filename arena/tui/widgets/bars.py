"""Terminal charts for the statistics screen: a win-rate bar with its 95% CI drawn as whiskers."""

from __future__ import annotations

from rich.text import Text

WIDTH = 40


def ci_bar(rate: float | None, low: float | None, high: float | None, *, width: int = WIDTH) -> Text:
    """A 0-100% track: the 95% CI drawn thick, the estimate as a dot, 50% (no preference) as a tick.

        ───────┆──━━━━━━━●━━━━━━────────
    """
    text = Text()
    if rate is None or low is None or high is None:
        text.append("·" * width, style="dim")
        return text
    last = width - 1
    lo_i, hi_i, r_i, mid = round(low * last), round(high * last), round(rate * last), round(0.5 * last)
    for i in range(width):
        if i == r_i:
            text.append("●", style="bold")
        elif lo_i <= i <= hi_i:
            text.append("━", style="bold green" if i != mid else "bold yellow")
        elif i == mid:
            text.append("┆", style="yellow")
        else:
            text.append("─", style="dim")
    return text


def share_bar(parts: list[tuple[str, int, str]], *, width: int = WIDTH) -> Text:
    """A stacked bar of counts: [(label, count, style), ...]."""
    total = sum(c for _, c, _ in parts)
    text = Text()
    if total == 0:
        text.append("·" * width, style="dim")
        return text
    used = 0
    for i, (_, count, style) in enumerate(parts):
        n = round(width * count / total) if i < len(parts) - 1 else width - used
        n = max(0, min(n, width - used))
        text.append("█" * n, style=style)
        used += n
    return text
