"""Inline SVG charts for the audit report: grouped bars and lines, no JavaScript, deterministic.

A chart is the plain dict of the report contract::

    {"kind": "bar" | "line", "title": str, "x_label": str, "y_label": str,
     "unit": "share" | "pp" | "count" | "ratio" | str,
     "categories": [str],
     "series": [{"name": str, "values": [number | None], "low": [...]?, "high": [...]?}],
     "reference_lines": [{"value": number, "label": str}]?}

:func:`render_svg` turns it into a self-contained ``<svg>`` element (no scripts, no external fonts
or images) sized for a ~720 px column; :func:`chart_table` turns the same data into a contract
TABLE so the Markdown report can show the numbers behind each figure. Dataset values are
untrusted, so every piece of text is XML-escaped and stripped of characters XML cannot carry. Any
key may be missing or malformed: such input degrades to a smaller (or an empty, "no data") chart,
never an exception.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

#: Drawing width in SVG user units; the report scales the SVG to its column (max 720 CSS px).
WIDTH = 720
#: Height of the plotting area; margins for title, legend and labels are added around it.
PLOT_HEIGHT = 260
FONT_SIZE = 12
TITLE_SIZE = 14
#: Local fonts only (no web fonts): Korean-capable families first, then the platform default.
FONT_FAMILY = (
    "'Noto Sans CJK KR','Noto Sans KR','Apple SD Gothic Neo','Malgun Gothic',"
    "'Nanum Gothic',system-ui,sans-serif"
)
#: Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
#: Line dash patterns by series so lines stay distinguishable when the appendix is printed grey.
DASHES = ("", "6 3", "2 3", "8 3 2 3")
#: Category labels longer than this are cut with an ellipsis (the full text stays in a tooltip).
MAX_LABEL_CHARS = 22
ROTATION_DEG = 40

# Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): they
# would make the SVG ill-formed and the file unwritable as UTF-8, so they are dropped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One normalised series: values, and optional interval bounds, aligned with the categories."""

    name: str
    values: tuple[float | None, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]

    @property
    def has_interval(self) -> bool:
        """Whether any category carries a lower or upper bound."""
        return any(v is not None for v in self.low + self.high)


@dataclass(frozen=True)
class Chart:
    """A chart dict after validation: every field present, numbers finite floats or ``None``."""

    kind: str
    title: str
    x_label: str
    y_label: str
    unit: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    reference_lines: tuple[tuple[float, str], ...]

    @property
    def has_data(self) -> bool:
        """Whether there is at least one category and one finite value to draw."""
        return bool(self.categories) and any(
            v is not None for s in self.series for v in s.values + s.low + s.high
        )


# --------------------------------------------------------------------------------------------------
# Text and numbers


def clean_text(value: Any) -> str:
    """``str(value)`` without the characters XML cannot carry; ``None`` becomes ``""``."""
    if value is None:
        return ""
    return _XML_ILLEGAL.sub("", value if isinstance(value, str) else str(value))


def as_number(value: Any) -> float | None:
    """A finite float, or ``None`` for nulls, NaN/inf, booleans, strings and anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # numpy scalars expose item(); accept them without importing numpy.
        item = getattr(value, "item", None)
        if item is None or isinstance(value, (str, bytes)):
            return None
        try:
            value = item()
        except (TypeError, ValueError):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_number(value: Any, unit: str | None = None) -> str:
    """Format a number for people: shares as %, pp signed, big integers grouped, floats to 4 digits.

    ``unit`` follows the chart contract: ``"share"`` (a 0–1 fraction shown as a percentage with one
    decimal, two below 1 %), ``"pp"`` (percentage points, signed), ``"count"`` (grouped integer);
    anything else gets the generic format (integers with thousands separators, floats to four
    significant digits, scientific below 0.001). ``None`` and NaN give ``"—"``; strings are returned
    unchanged.
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    number = as_number(value)
    if number is None:
        return "—" if isinstance(value, float) or hasattr(value, "item") else str(value)
    if unit == "share":
        pct = number * 100
        return f"{pct:.{1 if abs(pct) >= 1 or pct == 0 else 2}f}%"
    if unit == "pp":
        return f"{number:+.{1 if abs(number) >= 0.95 or number == 0 else 2}f} pp"
    if unit == "count" and number.is_integer():
        return f"{int(number):,}"
    if isinstance(value, int) or (number.is_integer() and abs(number) >= 1e4):
        return f"{int(number):,}"
    return _general(number)


def _general(number: float) -> str:
    """Four significant digits in fixed notation (grouped), scientific for tiny magnitudes."""
    if number == 0:
        return "0"
    magnitude = abs(number)
    if magnitude >= 1e4:
        return f"{number:,.0f}"
    if magnitude < 1e-3:
        return f"{number:.3g}"
    decimals = max(0, 3 - math.floor(math.log10(magnitude)))
    text = f"{number:,.{decimals}f}"
    # Trailing zeros carry no information at four significant digits; drop them (and a bare dot).
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tick_label(value: float, step: float, unit: str) -> str:
    """Axis tick text: as many decimals as the tick step needs, no more."""
    if unit == "share":
        decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9)) if step > 0 else 0
        return f"{value * 100:.{decimals}f}%"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{value:,.{decimals}f}"
    return "0" if float(value) == 0 else text


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Rough rendered width: East Asian wide characters are ~1 em, others ~0.6 em."""
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char == " ":
            width += 0.3
        else:
            width += 0.6
    return width * size


def _shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _x(text: str) -> str:
    """Escape for an XML text node."""
    return escape(clean_text(text))


def _attr(text: str) -> str:
    """Escape for a double-quoted XML attribute (newlines kept as entities, not folded)."""
    return escape(clean_text(text), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _f(value: float) -> str:
    """Coordinates with one decimal: deterministic output and small files."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


# --------------------------------------------------------------------------------------------------
# Normalisation


def _seq(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


def _aligned(values: Any, n: int) -> tuple[float | None, ...]:
    """Numbers aligned with ``n`` categories: missing positions are ``None``, extras are dropped."""
    numbers = [as_number(v) for v in _seq(values)[:n]]
    return tuple(numbers + [None] * (n - len(numbers)))


def normalise_chart(chart: Any) -> Chart:
    """Validate a contract chart dict into a :class:`Chart`; malformed parts are dropped."""
    data: Mapping[str, Any] = chart if isinstance(chart, Mapping) else {}
    categories = tuple(clean_text(c) for c in _seq(data.get("categories")))
    n = len(categories)
    series = []
    for i, raw in enumerate(_seq(data.get("series"))):
        if not isinstance(raw, Mapping):
            continue
        name = clean_text(raw.get("name")) or f"series {i + 1}"
        series.append(
            Series(
                name=name,
                values=_aligned(raw.get("values"), n),
                low=_aligned(raw.get("low"), n),
                high=_aligned(raw.get("high"), n),
            )
        )
    lines = []
    for raw in _seq(data.get("reference_lines")):
        if isinstance(raw, Mapping) and (value := as_number(raw.get("value"))) is not None:
            lines.append((value, clean_text(raw.get("label"))))
    kind = clean_text(data.get("kind")).lower()
    return Chart(
        kind="line" if kind == "line" else "bar",
        title=clean_text(data.get("title")),
        x_label=clean_text(data.get("x_label")),
        y_label=clean_text(data.get("y_label")),
        unit=clean_text(data.get("unit")),
        categories=categories,
        series=tuple(series),
        reference_lines=tuple(lines),
    )


def chart_table(chart: Any) -> dict[str, Any]:
    """The numbers behind a chart as a contract TABLE (cells pre-formatted with the chart's unit).

    One row per category, one column per series, plus an interval column ``"<name> interval"`` for
    series that carry bounds; reference lines go in the note.
    """
    c = normalise_chart(chart)
    columns = [c.x_label or "category"]
    for s in c.series:
        columns.append(s.name)
        if s.has_interval:
            columns.append(f"{s.name} interval")
    rows: list[list[Any]] = []
    for i, category in enumerate(c.categories):
        row: list[Any] = [category]
        for s in c.series:
            row.append(None if s.values[i] is None else format_number(s.values[i], c.unit))
            if s.has_interval:
                lo, hi = s.low[i], s.high[i]
                row.append(
                    None
                    if lo is None and hi is None
                    else f"{format_number(lo, c.unit)} – {format_number(hi, c.unit)}"
                )
        rows.append(row)
    note = None
    if c.reference_lines:
        note = "Reference lines: " + "; ".join(
            f"{label or 'reference'} = {format_number(value, c.unit)}"
            for value, label in c.reference_lines
        )
    return {"title": c.title, "columns": columns, "rows": rows, "note": note}


# --------------------------------------------------------------------------------------------------
# Scales


def _nice_step(span: float, target_ticks: int = 5) -> float:
    """A 1/2/2.5/5 × 10^k step giving about ``target_ticks`` intervals over ``span``."""
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def _domain(c: Chart) -> tuple[float, float, float]:
    """(low, high, step) of the value axis, covering every value, bound and reference line."""
    numbers = [v for s in c.series for v in s.values + s.low + s.high if v is not None]
    numbers += [value for value, _ in c.reference_lines]
    lo, hi = min(numbers), max(numbers)
    # Bars are read from zero, so zero is always on the axis; lines keep it when it is near.
    if (
        c.kind == "bar"
        or c.unit == "count"
        or (lo >= 0 and lo <= 0.5 * hi)
        or (hi <= 0 and hi >= 0.5 * lo)
    ):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:  # a single distinct value: give the axis some extent around it
        if lo == 0:
            hi = 1.0
        else:
            pad = abs(hi) * 0.1
            lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo)
    if c.unit == "count":
        step = max(step, 1.0)  # no fractional ticks on a count axis
    low = math.floor(lo / step + 1e-9) * step
    high = math.ceil(hi / step - 1e-9) * step
    return low, high, step


# --------------------------------------------------------------------------------------------------
# Rendering


def render_svg(chart: Any, *, standalone: bool = False) -> str:
    """Render a contract chart dict as an inline ``<svg>`` string.

    Grouped bars (``kind="bar"``: one group per category, one bar per series) or lines
    (``kind="line"``: series over ordered categories), with value axis, ticks, gridlines, legend,
    category labels (rotated when they would collide), interval whiskers from ``low``/``high``,
    dashed reference lines and per-mark tooltips (``<title>``). Null values are skipped: no bar, a
    gap in the line. ``standalone=True`` adds the SVG namespace so the string also works as an
    ``.svg`` file; inline in HTML it is not needed (and keeps the report free of any URL).
    The output is a pure function of the input.
    """
    c = normalise_chart(chart)
    n = len(c.categories)

    # ---- vertical layout: title, legend, plot, category labels, x label
    y_cursor = 8.0
    parts: list[str] = []
    if c.title:
        parts.append(
            f'<text x="{_f(WIDTH / 2)}" y="{_f(y_cursor + TITLE_SIZE)}" text-anchor="middle" '
            f'font-size="{TITLE_SIZE}" font-weight="600" fill="#111">{_x(c.title)}</text>'
        )
        y_cursor += TITLE_SIZE + 10

    if not c.has_data:
        height = y_cursor + 60
        parts.append(
            f'<rect x="8" y="{_f(y_cursor)}" width="{WIDTH - 16}" height="44" fill="#f6f6f6" '
            f'stroke="#ddd"/><text x="{_f(WIDTH / 2)}" y="{_f(y_cursor + 27)}" '
            f'text-anchor="middle" '
            f'font-size="{FONT_SIZE}" fill="#666">No data to plot</text>'
        )
        return _wrap(c, parts, height, standalone)

    low, high, step = _domain(c)
    ticks = []
    t = low
    while t <= high + step * 1e-6:
        ticks.append(round(t, 12))
        t += step
    tick_labels = [_tick_label(v, step, c.unit) for v in ticks]

    left = 10 + (22 if c.y_label else 0) + max(text_width(s) for s in tick_labels) + 8
    right = 16.0
    plot_w = WIDTH - left - right

    legend_items = _legend_items(c)
    legend_rows = _layout_legend(legend_items, left, WIDTH - right)
    legend_top = y_cursor
    y_cursor += len(legend_rows) * 18 + (6 if legend_rows else 0)
    plot_top = y_cursor + 6
    plot_bottom = plot_top + PLOT_HEIGHT

    band = plot_w / n
    labels = [_shorten(cat) for cat in c.categories]
    widest = max(text_width(s) for s in labels)
    rotate = widest > band - 6
    # When even rotated labels would overlap, label every k-th category (tooltips keep the rest).
    every = max(1, math.ceil((FONT_SIZE + 2) / band)) if rotate else 1
    if rotate:
        label_h = widest * math.sin(math.radians(ROTATION_DEG)) + FONT_SIZE + 6
    else:
        label_h = FONT_SIZE + 8
    height = plot_bottom + label_h + (FONT_SIZE + 12 if c.x_label else 0) + 8

    def y_of(value: float) -> float:
        return plot_bottom - (value - low) / (high - low) * PLOT_HEIGHT

    # ---- legend
    parts.extend(_render_legend(legend_rows, legend_top, c))

    # ---- gridlines and value axis
    for value, label in zip(ticks, tick_labels, strict=True):
        y = y_of(value)
        colour = "#9a9a9a" if value == 0 and low < 0 else "#e3e3e3"
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(WIDTH - right)}" y2="{_f(y)}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end" '
            f'font-size="{FONT_SIZE - 1}" fill="#444">{_x(label)}</text>'
        )
    parts.append(
        f'<line x1="{_f(left)}" y1="{_f(plot_top)}" x2="{_f(left)}" y2="{_f(plot_bottom)}" '
        f'stroke="#333" stroke-width="1"/>'
    )
    axis_y = y_of(0.0) if low <= 0 <= high else plot_bottom
    parts.append(
        f'<line x1="{_f(left)}" y1="{_f(axis_y)}" x2="{_f(WIDTH - right)}" y2="{_f(axis_y)}" '
        f'stroke="#333" stroke-width="1"/>'
    )
    if c.y_label:
        cy = (plot_top + plot_bottom) / 2
        parts.append(
            f'<text x="16" y="{_f(cy)}" transform="rotate(-90 16 {_f(cy)})" text-anchor="middle" '
            f'font-size="{FONT_SIZE}" fill="#222">{_x(c.y_label)}</text>'
        )

    # ---- category ticks and labels
    for i, (category, label) in enumerate(zip(c.categories, labels, strict=True)):
        cx = left + band * (i + 0.5)
        parts.append(
            f'<line x1="{_f(cx)}" y1="{_f(plot_bottom)}" x2="{_f(cx)}" y2="{_f(plot_bottom + 4)}" '
            f'stroke="#333" stroke-width="1"/>'
        )
        if i % every:
            continue
        tooltip = f"<title>{_x(category)}</title>" if label != category else ""
        if rotate:
            ty = plot_bottom + 10
            parts.append(
                f'<text x="{_f(cx)}" y="{_f(ty)}" transform="rotate(-{ROTATION_DEG} {_f(cx)} '
                f'{_f(ty)})" text-anchor="end" dominant-baseline="middle" font-size="{FONT_SIZE}" '
                f'fill="#222">{tooltip}{_x(label)}</text>'
            )
        else:
            parts.append(
                f'<text x="{_f(cx)}" y="{_f(plot_bottom + FONT_SIZE + 6)}" text-anchor="middle" '
                f'font-size="{FONT_SIZE}" fill="#222">{tooltip}{_x(label)}</text>'
            )
    if c.x_label:
        parts.append(
            f'<text x="{_f(left + plot_w / 2)}" y="{_f(plot_bottom + label_h + FONT_SIZE + 6)}" '
            f'text-anchor="middle" font-size="{FONT_SIZE}" fill="#222">{_x(c.x_label)}</text>'
        )

    # ---- marks
    if c.kind == "line":
        parts.extend(_render_lines(c, left, band, y_of))
    else:
        parts.extend(_render_bars(c, left, band, y_of, low, high))

    # ---- reference lines last, so they read over the marks
    for value, label in c.reference_lines:
        y = y_of(value)
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(WIDTH - right)}" y2="{_f(y)}" '
            f'stroke="#B00020" stroke-width="1.5" stroke-dasharray="6 4">'
            f"<title>{_x(label or 'reference')}: {_x(format_number(value, c.unit))}</title></line>"
        )
        text = f"{label}: {format_number(value, c.unit)}" if label else format_number(value, c.unit)
        # A white halo (paint-order stroke) keeps the label legible over bars and gridlines.
        parts.append(
            f'<text x="{_f(WIDTH - right - 4)}" y="{_f(y - 5)}" text-anchor="end" '
            f'font-size="{FONT_SIZE - 1}" fill="#B00020" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke">{_x(_shorten(text, 48))}</text>'
        )
    return _wrap(c, parts, height, standalone)


def _wrap(c: Chart, parts: list[str], height: float, standalone: bool) -> str:
    namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    label = c.title or "chart"
    h = _f(math.ceil(height))
    return (
        f'<svg{namespace} class="chart" viewBox="0 0 {WIDTH} {h}" width="{WIDTH}" height="{h}" '
        f'role="img" aria-label="{_attr(label)}" font-family="{_attr(FONT_FAMILY)}">'
        f"<title>{_x(label)}</title>"
        f'<rect x="0" y="0" width="{WIDTH}" height="{h}" fill="#fff"/>' + "".join(parts) + "</svg>"
    )


def _legend_items(c: Chart) -> list[tuple[str, str, float]]:
    """(kind, label, width) per legend entry; kind is a series index or ``"interval"``."""
    items = [
        (str(i), s.name, 22 + text_width(_shorten(s.name, 40))) for i, s in enumerate(c.series)
    ]
    if any(s.has_interval for s in c.series):
        items.append(("interval", "interval (low–high)", 22 + text_width("interval (low–high)")))
    return items


def _layout_legend(
    items: list[tuple[str, str, float]], x0: float, x1: float
) -> list[list[tuple[str, str, float, float]]]:
    """Flow legend entries left to right, wrapping at ``x1``; rows of (kind, label, x, width)."""
    rows: list[list[tuple[str, str, float, float]]] = []
    row: list[tuple[str, str, float, float]] = []
    x = x0
    for kind, label, width in items:
        if row and x + width > x1:
            rows.append(row)
            row, x = [], x0
        row.append((kind, label, x, width))
        x += width + 16
    if row:
        rows.append(row)
    return rows


def _render_legend(
    rows: list[list[tuple[str, str, float, float]]], top: float, c: Chart
) -> list[str]:
    parts = []
    for r, row in enumerate(rows):
        cy = top + 9 + r * 18
        for kind, label, x, _ in row:
            if kind == "interval":
                parts.append(
                    f'<path d="M{_f(x + 8)} {_f(cy - 6)}V{_f(cy + 6)}M{_f(x + 4)} {_f(cy - 6)}'
                    f'H{_f(x + 12)}M{_f(x + 4)} {_f(cy + 6)}H{_f(x + 12)}" stroke="#333" '
                    f'stroke-width="1.2" fill="none"/>'
                )
            else:
                i = int(kind)
                colour = PALETTE[i % len(PALETTE)]
                if c.kind == "line":
                    dash = DASHES[i % len(DASHES)]
                    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                    parts.append(
                        f'<line x1="{_f(x)}" y1="{_f(cy)}" x2="{_f(x + 16)}" y2="{_f(cy)}" '
                        f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                        f'<circle cx="{_f(x + 8)}" cy="{_f(cy)}" r="3" fill="{colour}"/>'
                    )
                else:
                    parts.append(
                        f'<rect x="{_f(x)}" y="{_f(cy - 6)}" width="14" height="12" '
                        f'fill="{colour}"/>'
                    )
            parts.append(
                f'<text x="{_f(x + 20)}" y="{_f(cy + 4)}" font-size="{FONT_SIZE}" '
                f'fill="#222">{_x(_shorten(label, 40))}</text>'
            )
    return parts


def _whisker(x: float, y_lo: float, y_hi: float, cap: float, colour: str) -> str:
    return (
        f'<path d="M{_f(x)} {_f(y_lo)}V{_f(y_hi)}M{_f(x - cap)} {_f(y_lo)}H{_f(x + cap)}'
        f'M{_f(x - cap)} {_f(y_hi)}H{_f(x + cap)}" stroke="{colour}" stroke-width="1.2" '
        f'fill="none"/>'
    )


def _bounds(s: Series, i: int) -> tuple[float, float] | None:
    """The interval at category ``i``; a missing side falls back to the value itself."""
    lo, hi, v = s.low[i], s.high[i], s.values[i]
    if lo is None and hi is None:
        return None
    lo = lo if lo is not None else v
    hi = hi if hi is not None else v
    if lo is None or hi is None:
        return None
    return min(lo, hi), max(lo, hi)


def _mark_title(c: Chart, s: Series, i: int) -> str:
    text = f"{s.name} · {c.categories[i]}: {format_number(s.values[i], c.unit)}"
    if (b := _bounds(s, i)) is not None:
        text += f" [{format_number(b[0], c.unit)} – {format_number(b[1], c.unit)}]"
    return f"<title>{_x(text)}</title>"


def _render_bars(
    c: Chart, left: float, band: float, y_of: Callable[[float], float], low: float, high: float
) -> list[str]:
    parts = []
    k = max(1, len(c.series))
    inner = band * 0.8
    bar_w = inner / k
    zero = y_of(min(max(0.0, low), high))
    for i in range(len(c.categories)):
        x0 = left + band * i + (band - inner) / 2
        for j, s in enumerate(c.series):
            v = s.values[i]
            cx = x0 + bar_w * (j + 0.5)
            if v is not None:
                y = y_of(v)
                top, h = min(y, zero), abs(y - zero)
                # A zero value gets a hairline so it reads as "0", not as "missing".
                if h < 1:
                    top, h = zero - 0.5, 1.0
                gap = 1.0 if bar_w > 4 else 0.0
                parts.append(
                    f'<rect x="{_f(x0 + bar_w * j + gap / 2)}" y="{_f(top)}" '
                    f'width="{_f(max(bar_w - gap, 0.5))}" height="{_f(h)}" '
                    f'fill="{PALETTE[j % len(PALETTE)]}">{_mark_title(c, s, i)}</rect>'
                )
            if (b := _bounds(s, i)) is not None:
                parts.append(_whisker(cx, y_of(b[0]), y_of(b[1]), min(bar_w * 0.25, 5), "#333"))
    return parts


def _render_lines(c: Chart, left: float, band: float, y_of: Callable[[float], float]) -> list[str]:
    parts = []
    for j, s in enumerate(c.series):
        colour = PALETTE[j % len(PALETTE)]
        dash = DASHES[j % len(DASHES)]
        # Nulls break the line: each run of consecutive values is its own subpath.
        d, run = [], 0
        for i, v in enumerate(s.values):
            if v is None:
                run = 0
                continue
            d.append(f"{'L' if run else 'M'}{_f(left + band * (i + 0.5))} {_f(y_of(v))}")
            run += 1
        if d:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<path d="{"".join(d)}" fill="none" stroke="{colour}" stroke-width="2" '
                f'stroke-linejoin="round"{dash_attr}/>'
            )
        for i, v in enumerate(s.values):
            cx = left + band * (i + 0.5)
            if (b := _bounds(s, i)) is not None:
                parts.append(_whisker(cx, y_of(b[0]), y_of(b[1]), 4, colour))
            if v is not None:
                parts.append(
                    f'<circle cx="{_f(cx)}" cy="{_f(y_of(v))}" r="3.5" fill="{colour}" '
                    f'stroke="#fff" stroke-width="1">{_mark_title(c, s, i)}</circle>'
                )
    return parts
