"""Report charts as PNG or SVG bytes, drawn with matplotlib and Be Vietnam Pro.

Figures are built with `matplotlib.figure.Figure`, not pyplot, so no global figure list grows in a
web server. The house style lives in matplotlib's global rcParams, so one chart is drawn at a time.
The number formats here are the ones the printable report uses too.
"""

import functools
import io
import itertools
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import fontpkg
import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import RcKeyType

from market.reports.model import Period, Place, Report, Source, Unit, Value

ChartFormat = Literal["png", "svg"]

NO_DATA = "—"
METHOD_LABELS = {"cash": "Tiền mặt", "vietqr": "VietQR", "card": "Thẻ"}
SOURCE_LABELS = {
    Source.RECORDED: "ghi nhận (tiền mặt do tiểu thương tự khai)",
    Source.SIMULATED: "mô phỏng",
    Source.REPORTED: "báo cáo",
}

FONT_FAMILY = "Be Vietnam Pro"
_DPI = 150
_STYLE: dict[RcKeyType, Any] = {
    "font.family": FONT_FAMILY,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    # Glyphs as paths: the SVG shows Vietnamese on machines without the font.
    "svg.fonttype": "path",
    # Clip-path ids hash this salt instead of a random one, so a report always gives the same bytes.
    "svg.hashsalt": "ocop-market-report",
}
_STYLE_LOCK = threading.Lock()

_SHARE_LINES = (
    ("NONCASH_SHARE_COUNT", "theo số giao dịch", "-", "o"),
    ("NONCASH_SHARE_VALUE", "theo giá trị", "--", "s"),
)
_PLACE_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a")
_METHOD_COLOURS = {"cash": "#9e9e9e", "vietqr": "#1565c0", "card": "#ef6c00"}
_AXIS_LABELS = {
    Unit.PERCENT: "Tỷ lệ (%)",
    Unit.COUNT: "Số lượng",
    Unit.VND: "Số tiền (₫)",
    Unit.RATIO: "Tỷ số",
}
_PERIOD_AXIS = "Kỳ báo cáo"
_VIETNAMESE_SEPARATORS = str.maketrans(",.", ".,")


def _format_number(number: Decimal | int | float, places: int = 0) -> str:
    """Write a number the Vietnamese way: '.' between thousands, ',' before decimals."""
    rounded = Decimal(number).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{rounded:,.{places}f}".translate(_VIETNAMESE_SEPARATORS)


def format_value(value: Decimal | int | None, unit: Unit) -> str:
    """Write a value as Vietnamese readers expect: '250.000 ₫', '70,5 %', '1.234', '—'."""
    if value is None:
        return NO_DATA
    if unit is Unit.VND:
        return f"{_format_number(value)} ₫"
    if unit is Unit.PERCENT:
        return f"{_format_number(value, 1)} %"
    if unit is Unit.RATIO:
        return _format_number(value, 1)
    return _format_number(value)


@functools.cache
def _register_font() -> None:
    for weight in (400, 700):
        font_manager.fontManager.addfont(fontpkg.path(FONT_FAMILY, weight=weight))


@contextmanager
def _house_style() -> Iterator[None]:
    with _STYLE_LOCK, matplotlib.rc_context(_STYLE):
        _register_font()
        yield


def _figure(height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(8, height), layout="constrained")
    return figure, figure.add_subplot()


def _titles(figure: Figure, axes: Axes, title: str, detail: str, values: Iterable[Value]) -> None:
    """Put the title above the chart and, under it, what it shows and where its numbers are from."""
    sources = sorted({SOURCE_LABELS[value.source] for value in values})
    origin = f"Nguồn: {', '.join(sources)}" if sources else "Chưa có số liệu"
    figure.suptitle(title, fontweight="bold", fontsize=13)
    axes.set_title(" · ".join(filter(None, (detail, origin))), fontsize=9, color="#555555")


def _by_period(values: Iterable[Value], periods: Sequence[Period]) -> list[float]:
    """Line values up with the periods, NaN where there is none: matplotlib leaves NaN blank."""
    known = {value.period: value.value for value in values}
    return [
        math.nan if (number := known.get(period)) is None else float(number) for period in periods
    ]


def _period_axis(axes: Axes, periods: Sequence[Period]) -> None:
    axes.set_xticks(range(len(periods)), [period.label for period in periods])
    axes.set_xlabel(_PERIOD_AXIS)


def period_range(periods: Sequence[Period]) -> str:
    """Name a run of periods by its ends: '2026-01 – 2026-03', or '2026-01' alone."""
    if not periods:
        return ""
    first, last = periods[0].label, periods[-1].label
    return first if first == last else f"{first} – {last}"


def _encode(figure: Figure, fmt: ChartFormat) -> bytes:
    if fmt not in ("png", "svg"):
        raise ValueError(f"chart format must be png or svg, not {fmt!r}")
    out = io.BytesIO()
    # The SVG writer stamps today's date unless told not to.
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(out, format=fmt, dpi=_DPI, metadata=metadata)
    return out.getvalue()


def share_over_time(report: Report, fmt: ChartFormat) -> bytes:
    """Draw each place's non-cash share, by count and by value, across the report's periods."""
    with _house_style():
        figure, axes = _figure(4.8)
        plotted: list[Value] = []
        for place, colour in zip(report.places, itertools.cycle(_PLACE_COLOURS)):
            for code, measure, linestyle, marker in _SHARE_LINES:
                series = report.series(code, place)
                plotted += series
                (line,) = axes.plot(
                    _by_period(series, report.periods),
                    color=colour,
                    linestyle=linestyle,
                    marker=marker,
                    clip_on=False,
                    label=f"{place.name} – {measure}",
                )
                # An id in the SVG, so a page or a test can pick out one place's line.
                line.set_gid(f"{code}-{place.code}")
        axes.set_ylim(0, 100)
        axes.set_ylabel(_AXIS_LABELS[Unit.PERCENT])
        _period_axis(axes, report.periods)
        _titles(
            figure,
            axes,
            "Tỷ lệ thanh toán không dùng tiền mặt",
            period_range(report.periods),
            plotted,
        )
        figure.legend(loc="outside lower center", ncols=2, frameon=False)
        return _encode(figure, fmt)


def coverage_by_place(values: Sequence[Value], title: str, fmt: ChartFormat) -> bytes:
    """Draw one indicator across places as bars, highest on top, each labelled with its value."""
    # Places without a value sort to the bottom and get a dash, not a bar that reads as zero.
    ranked = sorted(
        values,
        key=lambda value: (value.value is not None, value.value or 0, value.place.name),
    )
    unit = values[0].unit if values else Unit.COUNT
    widths = [float(value.value or 0) for value in ranked]
    with _house_style():
        figure, axes = _figure(max(3.0, 1.4 + 0.4 * len(ranked)))
        bars = axes.barh([value.place.name for value in ranked], widths, color="#1565c0")
        axes.bar_label(
            bars, labels=[format_value(value.value, value.unit) for value in ranked], padding=3
        )
        if unit is Unit.PERCENT:
            # Room past 100 for the label of a full bar.
            axes.set_xlim(0, 112)
            axes.set_xticks(range(0, 101, 20))
        else:
            axes.set_xlim(0, max(widths, default=0) * 1.15 or 1)
            axes.xaxis.set_major_formatter(FuncFormatter(_tick_label))
        axes.grid(axis="y", visible=False)
        axes.set_xlabel(_AXIS_LABELS[unit])
        axes.set_ylabel("Địa bàn")
        periods = dict.fromkeys(value.period.label for value in values)
        _titles(figure, axes, title, ", ".join(periods), values)
        return _encode(figure, fmt)


def _tick_label(x: float, _position: int) -> str:
    return _format_number(x, 0 if float(x).is_integer() else 1)


def method_mix(report: Report, place: Place, fmt: ChartFormat) -> bytes:
    """Draw one place's transactions per period as bars stacked by payment method."""
    series = {
        method: report.series("TRANSACTIONS", place, method=method) for method in METHOD_LABELS
    }
    counts = np.array([_by_period(series[method], report.periods) for method in METHOD_LABELS])
    # A period missing any method gets no bar: a partial stack would read as a drop in sales.
    complete = ~np.isnan(counts).any(axis=0)
    counts[:, ~complete] = 0
    positions = range(len(report.periods))
    with _house_style():
        figure, axes = _figure(4.8)
        bottom = np.zeros(len(report.periods))
        for method, row in zip(METHOD_LABELS, counts, strict=True):
            bars = axes.bar(
                positions,
                row,
                bottom=bottom,
                width=0.6,
                color=_METHOD_COLOURS[method],
                label=METHOD_LABELS[method],
            )
            bottom += row
        totals = [
            format_value(int(total), Unit.COUNT) if known else NO_DATA
            for total, known in zip(bottom, complete, strict=True)
        ]
        axes.bar_label(bars, labels=totals, padding=3)
        axes.grid(axis="x", visible=False)
        axes.yaxis.set_major_formatter(FuncFormatter(_tick_label))
        axes.set_ylabel("Số giao dịch")
        _period_axis(axes, report.periods)
        _titles(
            figure,
            axes,
            "Giao dịch theo phương thức thanh toán",
            place.name,
            itertools.chain.from_iterable(series.values()),
        )
        figure.legend(loc="outside lower center", ncols=len(METHOD_LABELS), frameon=False)
        return _encode(figure, fmt)
