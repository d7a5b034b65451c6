"""Charts as hand-written SVG: pure functions of plain data returning an SVG string.

They render the same in browsers and in WeasyPrint (a report can embed them as they are). The font is
set inside the SVG (``font-family: "Noto Sans CJK SC", sans-serif``) so that PDF output picks the
Simplified Chinese glyphs. No scripts, no inline ``style`` elements (the CSP forbids them); sizes are
chosen to stay legible on a tablet and on a projector (labels ≥ 14 px at 960 px wide).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from app.labels import STARS

FONT = '"Noto Sans CJK SC", sans-serif'
WIDTH = 960
INK = "#1f2328"
MUTED = "#5f6b76"
GRID = "#d9dee3"
# Star levels 0..5: grey for 未定星, then a warm scale up to the Party red for five stars.
STAR_COLORS = ("#b0b7bf", "#fde3c2", "#f9bf85", "#f08a5d", "#d9473b", "#a3161a")
SERIES_COLORS = ("#b71c1c", "#0b57d0", "#1b7f3b", "#a35c00", "#6a1b9a", "#00838f")


def _t(value: object) -> str:
    return escape(str(value))


def _a(value: object) -> str:
    return quoteattr(str(value))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fg(color: str) -> str:
    """Black or white text, whichever reads better on a #rrggbb fill."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open(title: str, width: int, height: int, desc: str = "") -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={_a(title)} '
        f'font-family={_a(FONT)} font-size="15" fill="{INK}">',
        f"<title>{_t(title)}</title>",
        f"<desc>{_t(desc or title)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="30" font-size="20" font-weight="700">{_t(title)}</text>',
    ]


def _legend(items: Sequence[tuple[str, str]], y: int, x0: int = 16) -> list[str]:
    out: list[str] = []
    x = x0
    for name, color in items:
        out.append(f'<rect x="{x}" y="{y - 13}" width="16" height="16" rx="3" fill="{color}"/>')
        out.append(f'<text x="{x + 22}" y="{y}" font-size="15">{_t(name)}</text>')
        x += 34 + 15 * len(name)
    return out


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: Sequence[Sequence[int]],
    *,
    note: str = "",
    width: int = WIDTH,
) -> str:
    """Horizontal 100 % stacked bars: one bar per label, one segment per series (e.g. star levels).

    ``values[i][j]`` is the count of series j in bar i; each bar shows shares, the segment text shows
    the count when the segment is wide enough, and the bar's total is written at its end.
    """
    left, right, top, row_h = 200, 70, 78, 36
    height = top + row_h * max(len(labels), 1) + (44 if note else 24)
    plot = width - left - right
    out = _open(title, width, height, note)
    out += _legend(series, 58)
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        total = sum(row)
        out.append(
            f'<text x="{left - 10}" y="{y + 23}" text-anchor="end" font-size="15">{_t(_short(label))}</text>'
        )
        out.append(f'<rect x="{left}" y="{y + 4}" width="{plot}" height="{row_h - 8}" fill="#f0f2f5"/>')
        x = float(left)
        for j, count in enumerate(row):
            if not total or not count:
                continue
            w = plot * count / total
            color = series[j][1]
            name = f"{label} {series[j][0]}：{count}（{_num(100 * count / total)}%）"
            out.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{color}">'
                f"<title>{_t(name)}</title></rect>"
            )
            if w >= 26:
                fg = _fg(color)
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 23}" text-anchor="middle" font-size="14" '
                    f'fill="{fg}">{count}</text>'
                )
            x += w
        out.append(f'<text x="{left + plot + 8}" y="{y + 23}" font-size="14" fill="{MUTED}">{total}</text>')
    if note:
        out.append(f'<text x="16" y="{height - 14}" font-size="13" fill="{MUTED}">{_t(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    max_value: float | None = None,
    reference: float | None = None,
    reference_label: str = "",
    note: str = "",
    width: int = WIDTH,
) -> str:
    """Horizontal bars with their values (e.g. the average total of each township) and an optional
    reference line (e.g. the county average)."""
    left, right, top, row_h = 200, 90, 56, 32
    height = top + row_h * max(len(labels), 1) + (56 if note or reference is not None else 28)
    plot = width - left - right
    present = [v for v in values if v is not None]
    top_value = max_value or (max(present) if present else 1.0) or 1.0
    out = _open(title, width, height, note)
    for k in range(5):
        gx = left + plot * k / 4
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{top + row_h * len(labels)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{gx:.1f}" y="{top - 10}" text-anchor="middle" font-size="13" fill="{MUTED}">'
            f"{_num(top_value * k / 4)}</text>"
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        out.append(
            f'<text x="{left - 10}" y="{y + 21}" text-anchor="end" font-size="15">{_t(_short(label))}</text>'
        )
        if value is None:
            out.append(f'<text x="{left + 6}" y="{y + 21}" font-size="14" fill="{MUTED}">无数据</text>')
            continue
        w = max(plot * min(value, top_value) / top_value, 1)
        out.append(
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" fill="{SERIES_COLORS[0]}">'
            f"<title>{_t(f'{label}：{_num(value)}{unit}')}</title></rect>"
        )
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 21}" font-size="14">{_num(value)}{_t(unit)}</text>')
    if reference is not None:
        rx = left + plot * min(reference, top_value) / top_value
        y2 = top + row_h * len(labels)
        out.append(
            f'<line x1="{rx:.1f}" y1="{top - 4}" x2="{rx:.1f}" y2="{y2}" stroke="{INK}" stroke-width="2" '
            f'stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{rx:.1f}" y="{y2 + 20}" text-anchor="middle" font-size="14">'
            f"{_t(reference_label)} {_num(reference)}{_t(unit)}</text>"
        )
    if note:
        out.append(f'<text x="16" y="{height - 10}" font-size="13" fill="{MUTED}">{_t(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    y_min: float = 0.0,
    y_max: float | None = None,
    unit: str = "",
    note: str = "",
    width: int = WIDTH,
    height: int = 380,
) -> str:
    """Lines over years (e.g. the average total, the share at three stars or above), one per series,
    with the value written at every point."""
    left, right, top, bottom = 70, 40, 76, 56
    plot_w = width - left - right
    plot_h = height - top - bottom
    present = [v for _n, vs in series for v in vs if v is not None]
    hi = y_max if y_max is not None else (max(present) if present else 1.0)
    if hi <= y_min:
        hi = y_min + 1
    out = _open(title, width, height, note)
    out += _legend([(name, SERIES_COLORS[i % len(SERIES_COLORS)]) for i, (name, _v) in enumerate(series)], 58)

    def px(i: int) -> float:
        return left + (plot_w * i / (len(x_labels) - 1) if len(x_labels) > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * (v - y_min) / (hi - y_min)

    for k in range(5):
        v = y_min + (hi - y_min) * k / 4
        y = py(v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{left - 8}" y="{y + 5:.1f}" text-anchor="end" font-size="13" fill="{MUTED}">'
            f"{_num(v)}{_t(unit)}</text>"
        )
    for i, label in enumerate(x_labels):
        out.append(
            f'<text x="{px(i):.1f}" y="{top + plot_h + 26}" text-anchor="middle" font-size="15">{_t(label)}</text>'
        )
    for s, (name, vals) in enumerate(series):
        color = SERIES_COLORS[s % len(SERIES_COLORS)]
        points = [(px(i), py(v), v) for i, v in enumerate(vals) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="3"/>')
        for x, y, v in points:
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{color}"><title>{_t(f"{name}：{_num(v)}{unit}")}</title></circle>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{y - 10:.1f}" text-anchor="middle" font-size="14" fill="{color}">'
                f"{_num(v)}{_t(unit)}</text>"
            )
    if note:
        out.append(f'<text x="16" y="{height - 10}" font-size="13" fill="{MUTED}">{_t(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def star_series() -> list[tuple[str, str]]:
    """The star levels as stacked-bar series, 五星 … 未定星 (so the best sits on the left)."""
    return [(STARS[s], STAR_COLORS[s]) for s in range(5, -1, -1)]


def star_rows(distributions: Sequence[dict[int, int]]) -> list[list[int]]:
    """Distributions (stars → count) as rows in ``star_series`` order."""
    return [[d.get(s, 0) for s in range(5, -1, -1)] for d in distributions]
