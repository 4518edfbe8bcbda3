"""Terminal charts for the statistics screen: a win-rate bar with its 95% CI drawn as whiskers."""

from __future__ import annotations

from rich.text import Text

WIDTH = 40


def ci_bar(rate: float | None, low: float | None, high: float | None, *, width: int = WIDTH) -> Text:
    """|-----[=====|=====]------|  : filled to `rate`, brackets at the CI bounds, a tick at 50%."""
    text = Text()
    if rate is None or low is None or high is None:
        text.append("·" * width, style="dim")
        return text
    cells = []
    lo_i, hi_i, r_i, mid = int(low * (width - 1)), int(high * (width - 1)), int(rate * (width - 1)), (width - 1) // 2
    for i in range(width):
        if i == lo_i:
            cells.append(("[", "bold"))
        elif i == hi_i:
            cells.append(("]", "bold"))
        elif i == r_i:
            cells.append(("●", "bold green"))
        elif i == mid:
            cells.append(("┆", "yellow"))
        elif i < r_i:
            cells.append(("█" if lo_i <= i <= hi_i else "▓", "green"))
        elif lo_i < i < hi_i:
            cells.append(("░", "green"))
        else:
            cells.append(("─", "dim"))
    for ch, style in cells:
        text.append(ch, style=style)
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
