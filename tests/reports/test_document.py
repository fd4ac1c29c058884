import re
from datetime import datetime

import pytest
from markupsafe import escape

from market.reports.document import render_html, render_pdf
from tests.reports.sample import REPORT_TITLE, TET_CLOSURE, cao_bang_report

GENERATED_AT = datetime(2026, 4, 2, 9, 30)
HOSTILE_NAME = "Phường <script>alert(1)</script>"
CHARTS = 4  # the share over time, each place's method mix, and QR coverage


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(cao_bang_report(), title=REPORT_TITLE, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(cao_bang_report(), title=REPORT_TITLE, generated_at=GENERATED_AT)


def test_html_heads_with_title_places_and_periods(html: str) -> None:
    assert f"<title>{REPORT_TITLE}</title>" in html
    assert f"<h1>{REPORT_TITLE}</h1>" in html
    assert "Tỉnh Cao Bằng; Phường Thục Phán" in html
    assert "2026-01 – 2026-03 (theo tháng, 01/01/2026 – 31/03/2026)" in html
    assert "09:30 ngày 02/04/2026" in html


def test_html_writes_numbers_the_vietnamese_way(html: str) -> None:
    assert '<span class="value">70,5 %</span>' in html  # the commune's March share
    assert '<span class="value">250.000 ₫</span>' in html  # the province's January VietQR ticket
    assert '<span class="detail">694 / 984</span>' in html
    assert '<span class="value">4.210</span>' in html


def test_html_shows_a_dash_and_the_reason_where_there_is_no_value(html: str) -> None:
    assert '<span class="value">—</span>' in html
    assert f'<span class="detail">{TET_CLOSURE}</span>' in html


def test_html_labels_every_value_with_how_it_was_measured(html: str) -> None:
    assert "Báo cáo có số liệu mô phỏng" in html
    assert '<span class="detail">mô phỏng</span>' in html
    assert "báo cáo, số liệu ngày 31/03/2026" in html
    assert "do tiểu thương tự khai" in html


def test_html_defines_every_indicator(html: str) -> None:
    for indicator in cao_bang_report().indicators:
        assert str(escape(indicator.definition)) in html
        assert str(escape(indicator.title)) in html
        assert indicator.code in html


def test_html_embeds_each_chart_as_inline_svg(html: str) -> None:
    assert html.count("<svg ") == CHARTS
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    # Self-contained: every link points inside the page, nothing is fetched.
    assert "src=" not in html
    assert all(target.startswith("#") for target in re.findall(r'href="([^"]*)"', html))


def test_html_escapes_place_names() -> None:
    html = render_html(cao_bang_report(HOSTILE_NAME), title=REPORT_TITLE, generated_at=GENERATED_AT)

    assert "<script>" not in html
    assert "Phường &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pdf_is_a_multi_page_a4_document(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type /Page\b(?!s)", pdf)
    assert re.search(rb"/Count (\d+)", pdf).group(1) == str(len(pages)).encode()  # type: ignore[union-attr]
    assert len(pages) >= 3
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf


def test_pdf_embeds_be_vietnam_pro_regular_and_bold(pdf: bytes) -> None:
    fonts = set(re.findall(rb"/FontName /\w+\+(\w+)", pdf))

    assert fonts == {b"BeVietnamPro", b"BeVietnamProBold"}
    assert pdf.count(b"/FontFile2") == 2


def test_pdf_draws_vietnamese_letters_money_and_dashes(pdf: bytes) -> None:
    # fpdf2 embeds only the glyphs a document draws, listed in each font's ToUnicode map.
    drawn = {chr(int(code, 16)) for code in re.findall(rb"<[0-9A-F]{4}> <([0-9A-F]{4})>", pdf)}

    assert set(REPORT_TITLE) <= drawn
    assert {"₫", "—", "ằ", "ặ", "ề", "ư", "ơ", "đ"} <= drawn


def test_pdf_carries_the_title_and_a_chart_image_each(pdf: bytes) -> None:
    title = re.search(rb"/Title <feff([0-9a-f]+)>", pdf).group(1)  # type: ignore[union-attr]

    assert bytes.fromhex(title.decode()).decode("utf-16-be") == REPORT_TITLE
    assert pdf.count(b"/Subtype /Image") == CHARTS
    assert len(pdf) > 100_000


def test_same_report_gives_same_pdf(pdf: bytes) -> None:
    again = render_pdf(cao_bang_report(), title=REPORT_TITLE, generated_at=GENERATED_AT)

    assert again == pdf
