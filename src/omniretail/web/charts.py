"""Charts drawn on the server as inline SVG: no chart library, nothing to download, readable
without JavaScript. Each chart has a title for screen readers; pages show the numbers as a
table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Distinguishable on white and for common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
INK = "#1f2328"
MUTED = "#57606a"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _intervals(top: float) -> int:
    """Five for a nice maximum of 2.5 or 5 (steps of 0.5 or 1 times its magnitude), else four."""
    leading = top / 10 ** (len(str(int(top))) - 1) if top >= 1 else top * 10
    return 5 if leading in (2.5, 5) else 4


def _short(value: float) -> str:
    if value != int(value) and value < 1_000:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1_000:.0f}k"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}"


def bars(items: Sequence[tuple[str, float]], *, title: str, width: int = 520) -> Markup:
    """Horizontal bars, one per item, with the value at the end of each bar."""
    longest = max((len(name) for name, _ in items), default=0)
    row, label_w, height = 26, max(180, 8 * longest + 12), max(1, len(items)) * 26 + 10
    width = max(width, label_w + 280)  # a long label widens the chart rather than being cut
    top = _nice_max(max((v for _, v in items), default=0))
    plot = width - label_w - 60
    parts = [_open(width, height, title)]
    for i, (name, value) in enumerate(items):
        y = 5 + i * row
        w = 0 if top == 0 else plot * value / top
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{INK}"'
            f' font-size="13">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}"'
            f' fill="{colour}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" fill="{INK}" font-size="13">'
            f"{_short(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_columns(
    columns: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """One column per period (e.g. week), stacked by series (e.g. channel), with a legend."""
    left, bottom, legend_h = 52, 40, 22
    plot_w, plot_h = width - left - 10, height - bottom - legend_h - 10
    totals = [sum(s[i] for s in series.values()) for i in range(len(columns))]
    top = _nice_max(max(totals, default=0))
    step = plot_w / max(1, len(columns))
    bar_w = max(4.0, step * 0.7)
    parts = [_open(width, height, title)]
    base_y = legend_h + 10 + plot_h
    # A count of at most 4 gets a line per whole number, never two lines with one label.
    ticks = int(top) if top == int(top) and top < 4 else _intervals(top)
    for tick in range(ticks + 1):
        value = top * tick / ticks
        y = base_y - plot_h * tick / ticks
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}"'
            f' font-size="11">{_short(value)}</text>'
        )
    for i, column in enumerate(columns):
        x = left + i * step + (step - bar_w) / 2
        y = base_y
        for k, values in enumerate(series.values()):
            h = plot_h * values[i] / top if top else 0
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"'
                f' fill="{PALETTE[k % len(PALETTE)]}"/>'
            )
        if len(columns) <= 8 or i % 2 == (len(columns) - 1) % 2:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{base_y + 16}" text-anchor="middle"'
                f' fill="{MUTED}" font-size="11">{escape(column)}</text>'
            )
    x = left
    for k, name in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="16" fill="{INK}" font-size="12">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
    )
