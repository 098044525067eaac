"""Small accessible SVG charts rendered on the server, so pages need no chart library, no CDN and no inline style.

Standard library only. Colours come from CSS classes (`chart-series-N`, `chart-bar-<tone>`) so a strict
Content-Security-Policy (`style-src 'self'`) holds; geometry uses SVG attributes, which CSP allows. Every
chart carries a <title> and <desc> (read by screen readers) and the caller shows the same figures as a table.
"""
from dataclasses import dataclass
from html import escape
from math import floor, log10
from typing import Optional, Sequence

_NUMERIC = (int, float)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a name for the legend and one value (or None: no data) per label."""

    name: str
    values: Sequence[Optional[float]]


def _attr(value) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """Coordinates with at most one decimal: small markup, stable output for tests."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def format_value(value: float, unit: str = "") -> str:
    """Swedish number format: decimal comma, thin grouping space, unit after a space."""
    if value is None:
        return "–"
    if float(value).is_integer():
        text = f"{int(value):,}".replace(",", "\u202f")
    else:
        text = f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return f"{text} {unit}".strip()


def nice_ticks(max_value: float, count: int = 4) -> list:
    """Round axis steps (1, 2, 2.5, 5 × 10^n) from 0 up to at least max_value."""
    if max_value is None or max_value <= 0:
        return [0, 1]
    raw_step = max_value / count
    magnitude = 10 ** floor(log10(raw_step))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw_step:
            break
    ticks, tick = [], 0.0
    while True:
        ticks.append(int(tick) if float(tick).is_integer() else round(tick, 10))
        if tick >= max_value:
            return ticks
        tick += step


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: list, kind: str) -> str:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-kind-{kind}" id="{_attr(chart_id)}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{_attr(title_id)} {_attr(desc_id)}">'
        f'<title id="{_attr(title_id)}">{escape(title)}</title>'
        f'<desc id="{_attr(desc_id)}">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _y_axis(ticks, left, right, top, plot_height, unit) -> list:
    top_tick = ticks[-1]
    parts = ['<g class="chart-grid" aria-hidden="true">']
    for tick in ticks:
        y = top + plot_height - (tick / top_tick) * plot_height
        parts.append(f'<line x1="{left}" x2="{right}" y1="{_num(y)}" y2="{_num(y)}"/>')
        parts.append(f'<text class="chart-tick" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">'
                     f'{escape(format_value(tick))}</text>')
    parts.append("</g>")
    if unit:
        parts.append(f'<text class="chart-unit" x="{left}" y="{top - 8}" aria-hidden="true">{escape(unit)}</text>')
    return parts


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
               unit: str = "", width: int = 480, height: int = 220) -> str:
    """A trend over time (e.g. backlog per day): one polyline per series, dots on each known value.

    A None value breaks the line (a day without data is not drawn as zero).
    """
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
    left, right, top, bottom = 44, width - 22, 28, height - 44
    plot_width, plot_height = right - left, bottom - top
    known = [v for s in series for v in s.values if isinstance(v, _NUMERIC)]
    ticks = nice_ticks(max(known) if known else 0)
    top_tick = ticks[-1]

    def x_at(i):
        return left + (plot_width / 2 if len(labels) == 1 else plot_width * i / (len(labels) - 1))

    def y_at(v):
        return top + plot_height - (v / top_tick) * plot_height

    body = _y_axis(ticks, left, right, top, plot_height, unit)
    step = max(1, -(-len(labels) // 8))  # at most ~8 x labels, so they stay readable at 360 px
    body.append('<g class="chart-xlabels" aria-hidden="true">')
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % step == 0:  # counted back from today, so the last day is always labelled
            body.append(f'<text class="chart-tick" x="{_num(x_at(i))}" y="{bottom + 16}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    body.append("</g>")
    for n, s in enumerate(series):
        body.append(f'<g class="chart-series chart-series-{n}">')
        run = []
        for i, v in enumerate(list(s.values) + [None]):
            if isinstance(v, _NUMERIC):
                run.append(f"{_num(x_at(i))},{_num(y_at(v))}")
                continue
            if len(run) > 1:
                body.append(f'<polyline fill="none" points="{" ".join(run)}"/>')
            run = []
        for i, v in enumerate(s.values):
            if isinstance(v, _NUMERIC):
                body.append(f'<circle cx="{_num(x_at(i))}" cy="{_num(y_at(v))}" r="3">'
                            f'<title>{escape(labels[i])}: {escape(format_value(v, unit))}</title></circle>')
        body.append("</g>")
    legend_y = height - 10
    for n, s in enumerate(series):
        x = left + n * 160
        body.append(f'<g class="chart-legend chart-series-{n}" aria-hidden="true">'
                    f'<line x1="{x}" x2="{x + 18}" y1="{legend_y - 4}" y2="{legend_y - 4}"/>'
                    f'<text x="{x + 24}" y="{legend_y}">{escape(s.name)}</text></g>')
    latest = []
    for s in series:
        last = next((v for v in reversed(s.values) if isinstance(v, _NUMERIC)), None)
        latest.append(f"{s.name}: {format_value(last, unit)}" if last is not None else f"{s.name}: inga data")
    span = f"{labels[0]}–{labels[-1]}" if labels else "inga dagar"
    desc = f"Linjediagram, {span}. Senaste värden: " + "; ".join(latest) + "."
    return _frame(chart_id, title, desc, width, height, body, "line")


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple], *, unit: str = "",
              width: int = 500, bar_height: int = 22) -> str:
    """Horizontal bars for a few categories (e.g. gaps by route); bars = (label, value[, tone]).

    tone is a CSS suffix (`ok`, `warn`, `alert`, `neutral`); the value is written next to each bar, so
    colour never carries meaning alone.
    """
    label_width, value_width, gap = 190, 60, 6
    height = max(1, len(bars)) * (bar_height + gap) + gap
    plot_left, plot_right = label_width, width - value_width
    largest = max((b[1] for b in bars if isinstance(b[1], _NUMERIC)), default=0)
    body = []
    for i, bar in enumerate(bars):
        label, value = bar[0], bar[1]
        tone = bar[2] if len(bar) > 2 else "neutral"
        y = gap + i * (bar_height + gap)
        length = 0 if not largest else (plot_right - plot_left) * (value or 0) / largest
        if value:
            length = max(length, 2)  # a non-zero value is always visible
        body.append(f'<g class="chart-bar chart-bar-{_attr(tone)}">'
                    f'<text class="chart-label" x="{label_width - 8}" y="{_num(y + bar_height * 0.68)}" '
                    f'text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{plot_left}" y="{y}" width="{_num(length)}" height="{bar_height}" rx="3"/>'
                    f'<text class="chart-value" x="{_num(plot_left + length + 6)}" '
                    f'y="{_num(y + bar_height * 0.68)}">{escape(format_value(value, unit))}</text></g>')
    desc = "Stapeldiagram. " + "; ".join(f"{b[0]}: {format_value(b[1], unit)}" for b in bars) + "." if bars \
        else "Stapeldiagram utan data."
    return _frame(chart_id, title, desc, width, height, body, "bar")
