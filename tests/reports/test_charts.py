import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import pytest
from PIL import Image

from market.reports import charts
from market.reports.model import Place, Source, Unit, Value
from tests.reports.sample import PERIODS, PROVINCE, cao_bang_report

REPORT = cao_bang_report()
COMMUNE = REPORT.places[1]
COVERAGE_TITLE = "Tỷ lệ tiểu thương có mã QR"
MARCH_COVERAGE = [
    value
    for value in REPORT.values
    if value.indicator == "VENDOR_QR_COVERAGE" and value.period == PERIODS[-1]
]

CHARTS: dict[str, Callable[[charts.ChartFormat], bytes]] = {
    "share_over_time": lambda fmt: charts.share_over_time(REPORT, fmt),
    "coverage_by_place": lambda fmt: charts.coverage_by_place(MARCH_COVERAGE, COVERAGE_TITLE, fmt),
    "method_mix": lambda fmt: charts.method_mix(REPORT, COMMUNE, fmt),
}
TITLES = {
    "share_over_time": "Tỷ lệ thanh toán không dùng tiền mặt",
    "coverage_by_place": COVERAGE_TITLE,
    "method_mix": "Giao dịch theo phương thức thanh toán",
}


def _drawn_texts(svg: bytes) -> list[str]:
    """Return the strings matplotlib drew as glyph paths, in drawing order (it notes each one)."""
    return re.findall(r"<!-- (.*?) -->", svg.decode())


def _run_of(texts: list[str], run: list[str]) -> bool:
    return any(texts[i : i + len(run)] == run for i in range(len(texts)))


@pytest.mark.parametrize("name", CHARTS)
def test_png_is_an_image_of_readable_size(name: str) -> None:
    png = CHARTS[name]("png")

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    width, height = image.size
    assert width >= 1000 and height >= 400


@pytest.mark.parametrize("name", CHARTS)
def test_svg_draws_its_vietnamese_title_as_be_vietnam_pro_paths(name: str) -> None:
    svg = CHARTS[name]("svg")

    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert TITLES[name] in _drawn_texts(svg)
    # No <text>: a viewer without the font still shows every diacritic.
    assert not root.findall(".//{http://www.w3.org/2000/svg}text")
    assert b'id="BeVietnamPro-Bold-' in svg and b'id="BeVietnamPro-Regular-' in svg
    assert b"DejaVu" not in svg


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("name", CHARTS)
def test_same_report_gives_same_bytes(name: str, fmt: charts.ChartFormat) -> None:
    assert CHARTS[name](fmt) == CHARTS[name](fmt)


def test_charts_drawn_in_parallel_match_one_drawn_alone() -> None:
    alone = CHARTS["method_mix"]("svg")

    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda _: CHARTS["method_mix"]("svg"), range(4)))

    assert drawn == [alone] * 4


def test_share_chart_names_place_and_measure_in_legend() -> None:
    texts = _drawn_texts(charts.share_over_time(REPORT, "svg"))

    for place in ("Tỉnh Cao Bằng", "Phường Thục Phán"):
        assert f"{place} – theo số giao dịch" in texts
        assert f"{place} – theo giá trị" in texts
    assert "2026-02" in texts
    assert "Tỷ lệ (%)" in texts


def test_missing_share_leaves_a_gap_in_the_line() -> None:
    svg = charts.share_over_time(REPORT, "svg").decode()

    def line(gid: str) -> str:
        return re.search(rf'<g id="{gid}">\s*<path d="([^"]*)"', svg).group(1)  # type: ignore[union-attr]

    # The province has all three months: two joined segments.
    assert line("NONCASH_SHARE_COUNT-04").count("L") == 2
    # The commune has no February: January and March are points, not joined across the gap.
    commune = line("NONCASH_SHARE_COUNT-01273")
    assert commune.count("M") == 2 and "L" not in commune


def test_coverage_bars_run_from_lowest_to_highest_with_values() -> None:
    texts = _drawn_texts(charts.coverage_by_place(MARCH_COVERAGE, COVERAGE_TITLE, "svg"))

    # Tick labels are drawn bottom to top: the commune's 97,1 % is above the province's 88,9 %.
    assert texts.index("Tỉnh Cao Bằng") < texts.index("Phường Thục Phán")
    assert "88,9 %" in texts and "97,1 %" in texts


def test_coverage_shows_a_dash_for_a_place_without_data() -> None:
    march = PERIODS[-1]
    values = [
        Value(
            "VENDOR_QR_COVERAGE", PROVINCE, march, Decimal("40.0"), Unit.PERCENT, Source.SIMULATED
        ),
        Value(
            "VENDOR_QR_COVERAGE",
            Place("commune", "01279", "Xã Hòa An"),
            march,
            None,
            Unit.PERCENT,
            Source.SIMULATED,
            note="Chưa có tiểu thương",
        ),
    ]

    texts = _drawn_texts(charts.coverage_by_place(values, COVERAGE_TITLE, "svg"))

    assert texts.index("Xã Hòa An") < texts.index("Tỉnh Cao Bằng")
    assert "—" in texts and "40,0 %" in texts


def test_method_mix_labels_methods_in_vietnamese_and_totals_each_month() -> None:
    texts = _drawn_texts(charts.method_mix(REPORT, COMMUNE, "svg"))

    assert {"Tiền mặt", "VietQR", "Thẻ"} <= set(texts)
    # January 310 + 470 + 20, February closed for Tết, March 290 + 660 + 34.
    assert _run_of(texts, ["800", "0", "984"])
    assert "Số giao dịch" in texts


def test_method_mix_leaves_out_a_month_with_a_method_unknown() -> None:
    def forget_january_cards(value: Value) -> Value:
        january_cards = (
            value.indicator == "TRANSACTIONS"
            and value.period == PERIODS[0]
            and value.dimensions == {"method": "card"}
        )
        return replace(value, value=None) if january_cards else value

    report = replace(REPORT, values=tuple(map(forget_january_cards, REPORT.values)))

    texts = _drawn_texts(charts.method_mix(report, COMMUNE, "svg"))

    assert _run_of(texts, ["—", "0", "984"])


def test_other_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="png or svg"):
        charts.share_over_time(REPORT, "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (250_000, Unit.VND, "250.000 ₫"),
        (Decimal("70.5"), Unit.PERCENT, "70,5 %"),
        (Decimal("70.25"), Unit.PERCENT, "70,3 %"),
        (Decimal("100"), Unit.PERCENT, "100,0 %"),
        (1_234_567, Unit.COUNT, "1.234.567"),
        (Decimal("16.04"), Unit.RATIO, "16,0"),
        (None, Unit.PERCENT, "—"),
    ],
)
def test_values_are_written_the_vietnamese_way(
    value: Decimal | int | None, unit: Unit, text: str
) -> None:
    assert charts.format_value(value, unit) == text
