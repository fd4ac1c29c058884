"""The printable report: one set of tables, charts and definitions, as HTML or as PDF.

Both formats read the same contents built by `_contents`, so they never disagree on a number.
PDF is drawn with fpdf2, which is pure Python; HTML-to-PDF engines need system libraries.
"""

import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import fontpkg
from fpdf import FPDF, Align, FontFace
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from market.reports import charts
from market.reports.charts import FONT_FAMILY, METHOD_LABELS, NO_DATA, SOURCE_LABELS, format_value
from market.reports.model import Grain, Indicator, Report, Source, Unit, Value

HOW_MEASURED = (
    "Giao dịch VietQR và thẻ được đếm từ các khoản thanh toán ghi nhận trên OCOP Market. "
    "Tiền mặt không để lại dấu vết trong dữ liệu ngân hàng: giao dịch tiền mặt do tiểu thương "
    "tự khai khi ghi bán hàng, nên tỷ lệ không dùng tiền mặt sẽ cao hơn thực tế nếu tiểu thương "
    "bỏ sót giao dịch tiền mặt.",
    "Mỗi số liệu ghi nguồn của nó: “ghi nhận” là bán hàng tiểu thương ghi trên OCOP Market; "
    "“mô phỏng” là phiên chợ do bộ mô phỏng chạy qua chính phần mềm, không phải số liệu thực tế; "
    "“báo cáo” là số liệu cán bộ nhập từ nguồn bên ngoài, kèm ngày của số liệu.",
    f"Dấu {NO_DATA} nghĩa là không có số liệu: mẫu số bằng 0 hoặc chỉ tiêu không áp dụng cho kỳ.",
)
SIMULATED_WARNING = "Báo cáo có số liệu mô phỏng, không phải số liệu thực tế."

_UNIT_NAMES = {Unit.PERCENT: "%", Unit.COUNT: "số lượng", Unit.VND: "đồng", Unit.RATIO: "tỷ số"}
_GRAIN_NAMES = {
    Grain.DAY: "ngày",
    Grain.WEEK: "tuần",
    Grain.MONTH: "tháng",
    Grain.QUARTER: "quý",
    Grain.YEAR: "năm",
}
_DIMENSION_VALUES = METHOD_LABELS | {
    "cooperative": "Hợp tác xã",
    "cooperative_group": "Tổ hợp tác",
    "enterprise": "Doanh nghiệp",
    "household_business": "Hộ kinh doanh",
    "previous": "so với kỳ trước",
    "year_ago": "so với cùng kỳ năm trước",
}
_DATE = "%d/%m/%Y"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

_DimensionsKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Cell:
    """A formatted value and what stands under it: numerator/denominator, source, note."""

    value: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class _Row:
    period: str
    split: str  # the dimensions, e.g. "Tiền mặt"; empty for an indicator with none
    cells: tuple[_Cell, ...]  # one per place, in the report's order


@dataclass(frozen=True)
class _Table:
    indicator: Indicator
    unit: str
    split: bool
    rows: tuple[_Row, ...]


@dataclass(frozen=True)
class _Contents:
    title: str
    places: str
    periods: str
    generated: str
    simulated: bool
    place_names: tuple[str, ...]
    tables: tuple[_Table, ...]
    indicators: tuple[Indicator, ...]


def _dimensions_key(value: Value) -> _DimensionsKey:
    return tuple(sorted(value.dimensions.items()))


def _split_label(key: _DimensionsKey) -> str:
    """Name a split the way officials read it: 'Tiền mặt', '4 sao, nhóm 1, Hợp tác xã'."""
    if not key:
        return "Tổng"
    parts = []
    for name, value in key:
        if name == "stars":
            parts.append(f"{value} sao")
        elif name == "group":
            parts.append(f"nhóm {value}")
        else:
            parts.append(_DIMENSION_VALUES.get(value, value))
    return ", ".join(parts)


def _cell(value: Value | None) -> _Cell:
    if value is None:
        return _Cell(NO_DATA, ())
    details = []
    if value.numerator is not None and value.denominator is not None:
        details.append(
            f"{format_value(value.numerator, Unit.COUNT)} / "
            f"{format_value(value.denominator, Unit.COUNT)}"
        )
    source = SOURCE_LABELS[value.source]
    if value.as_of is not None:
        source += f", số liệu ngày {value.as_of.strftime(_DATE)}"
    details.append(source)
    if value.note:
        details.append(value.note)
    return _Cell(format_value(value.value, value.unit), tuple(details))


def _table(report: Report, indicator: Indicator) -> _Table:
    """Tabulate one indicator: a row per period (and split), a column per place."""
    found = {
        (value.period, _dimensions_key(value), value.place): value
        for value in report.values
        if value.indicator == indicator.code
    }
    splits = list(dict.fromkeys(key for _, key, _ in found)) or [()]
    rows = tuple(
        _Row(
            period.label,
            _split_label(split),
            tuple(_cell(found.get((period, split, place))) for place in report.places),
        )
        for period in report.periods
        for split in splits
    )
    return _Table(indicator, _UNIT_NAMES[indicator.unit], splits != [()], rows)


def _period_range(report: Report) -> str:
    if not report.periods:
        return NO_DATA
    first, last = report.periods[0], report.periods[-1]
    return (
        f"{charts.period_range(report.periods)} (theo {_GRAIN_NAMES[first.grain]}, "
        f"{first.start.strftime(_DATE)} – {last.end.strftime(_DATE)})"
    )


def _contents(report: Report, title: str, generated_at: datetime) -> _Contents:
    return _Contents(
        title=title,
        places="; ".join(place.name for place in report.places),
        periods=_period_range(report),
        generated=f"{generated_at:%H:%M} ngày {generated_at.strftime(_DATE)}",
        simulated=any(value.source is Source.SIMULATED for value in report.values),
        place_names=tuple(place.name for place in report.places),
        tables=tuple(_table(report, indicator) for indicator in report.indicators),
        indicators=report.indicators,
    )


def _charts(report: Report) -> Iterator[Callable[[charts.ChartFormat], bytes]]:
    """Yield a drawing function, taking the format, for each chart the report has values for."""
    codes = {value.indicator for value in report.values}
    if codes & {"NONCASH_SHARE_COUNT", "NONCASH_SHARE_VALUE"}:
        yield functools.partial(charts.share_over_time, report)
    if "TRANSACTIONS" in codes:
        for place in report.places:
            yield functools.partial(charts.method_mix, report, place)
    coverage = next(
        (indicator for indicator in report.indicators if indicator.code == "VENDOR_QR_COVERAGE"),
        None,
    )
    known = [
        value
        for value in report.values
        if value.indicator == "VENDOR_QR_COVERAGE" and value.value is not None
    ]
    if coverage and known:
        latest = max(value.period.end for value in known)
        # Every place's value in the latest period, blanks included.
        shown = [
            value
            for value in report.values
            if value.indicator == coverage.code and value.period.end == latest
        ]
        yield functools.partial(charts.coverage_by_place, shown, coverage.title)


def _inline_svg(svg: bytes) -> Markup:
    """Drop the XML prolog, which has no place inside an HTML page."""
    text = svg.decode()
    return Markup(text[text.index("<svg") :])


def render_html(report: Report, *, title: str, generated_at: datetime) -> str:
    """Render the report as one self-contained, printable HTML page with inline SVG charts."""
    return _templates.get_template("report.html").render(
        doc=_contents(report, title, generated_at),
        how_measured=HOW_MEASURED,
        simulated_warning=SIMULATED_WARNING,
        charts=[_inline_svg(draw("svg")) for draw in _charts(report)],
    )


_PDF_FONT = "BeVietnamPro"
_PDF_CHART_WIDTH = 150  # mm: two line or bar charts to an A4 page
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(235, 238, 242))


class _ReportPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_PDF_FONT, size=8)
        self.cell(0, 6, f"Trang {self.page_no()}/{{nb}}", align="C")


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    pdf.set_font(_PDF_FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _paragraph(pdf: FPDF, text: str, size: float = 9.5) -> None:
    pdf.set_font(_PDF_FONT, size=size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _pdf_table(pdf: FPDF, table: _Table, place_names: tuple[str, ...]) -> None:
    _heading(pdf, f"{table.indicator.title} ({table.unit})", 11)
    _paragraph(pdf, table.indicator.code, 8)
    labels = ("Kỳ", "Phân tổ") if table.split else ("Kỳ",)
    widths = (1.2, 1.6)[: len(labels)] + (3.0,) * len(place_names)
    pdf.set_font(_PDF_FONT, size=8.5)
    with pdf.table(
        col_widths=widths,
        headings_style=_HEADINGS,
        text_align="LEFT",
        line_height=4.2,
        padding=1.5,
    ) as rows:
        heading = rows.row()
        for label in labels + place_names:
            heading.cell(label)
        for row in table.rows:
            cells = rows.row()
            cells.cell(row.period)
            if table.split:
                cells.cell(row.split)
            for cell in row.cells:
                cells.cell("\n".join((cell.value, *cell.details)))
    pdf.ln(5)


def render_pdf(report: Report, *, title: str, generated_at: datetime) -> bytes:
    """Render the report as an A4 PDF with Be Vietnam Pro embedded and PNG charts."""
    doc = _contents(report, title, generated_at)
    pdf = _ReportPDF(format="A4")
    pdf.add_font(_PDF_FONT, "", fontpkg.path(FONT_FAMILY, weight=400))
    pdf.add_font(_PDF_FONT, "B", fontpkg.path(FONT_FAMILY, weight=700))
    # Dated by the caller's clock, so the same report at the same time gives the same bytes.
    pdf.set_creation_date(generated_at)
    pdf.set_title(title)
    pdf.set_lang("vi")
    pdf.set_creator("OCOP Market")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()

    _heading(pdf, doc.title, 16)
    _paragraph(pdf, f"Địa bàn: {doc.places}")
    _paragraph(pdf, f"Kỳ báo cáo: {doc.periods}")
    _paragraph(pdf, f"Lập lúc {doc.generated}")
    if doc.simulated:
        pdf.set_text_color(160, 60, 0)
        _heading(pdf, SIMULATED_WARNING, 10)
        pdf.set_text_color(0)
    pdf.ln(3)

    for draw in _charts(report):
        pdf.image(io.BytesIO(draw("png")), x=Align.C, w=_PDF_CHART_WIDTH)
        pdf.ln(4)

    pdf.add_page()
    _heading(pdf, "Số liệu theo chỉ tiêu", 14)
    for table in doc.tables:
        _pdf_table(pdf, table, doc.place_names)

    _heading(pdf, "Định nghĩa chỉ tiêu", 14)
    for indicator in doc.indicators:
        _heading(pdf, f"{indicator.title} ({indicator.code})", 10)
        _paragraph(pdf, f"{indicator.title_en}. {indicator.definition}")
        if indicator.numerator:
            _paragraph(pdf, f"Tử số: {indicator.numerator}")
        if indicator.denominator:
            _paragraph(pdf, f"Mẫu số: {indicator.denominator}")

    _heading(pdf, "Cách đo", 14)
    for text in HOW_MEASURED:
        _paragraph(pdf, text)
    return bytes(pdf.output())
