import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from payments.qr import (
    POSTER_SIZE,
    POSTER_TITLE,
    _font,
    order_png,
    order_svg,
    poster_png,
    poster_svg,
)
from payments.vietqr import VietQR, encode

PAYLOAD = encode(
    VietQR(
        bin="970436",
        account="0011001234567",
        amount=125000,
        bill_number="OCOP7K2Q9D",
        purpose="Thanh toan don hang",
    )
)
POSTER_ARGS = {
    "payload": encode(VietQR(bin="970405", account="1500205123456", merchant_name="SAP CO HONG")),
    "bank_name": "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam",
    "holder": "Nguyễn Thị Hồng",
    "market": "Chợ Đồng Xuân",
    "stall": "Sạp 12",
}
SVG = "{http://www.w3.org/2000/svg}"
RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-\3z")
TRANSFORM = re.compile(r"translate\((\d+) (\d+)\) scale\((\d+)\)")


def read(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def rasterise(svg: str, pixels_per_unit: int = 1) -> Image.Image:
    """Paint the white background and the run-rectangle path of one of our SVGs."""
    root = ET.fromstring(svg)
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width * pixels_per_unit, height * pixels_per_unit), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, image.height), fill=255)
    (path,) = root.iter(SVG + "path")
    left, top, scale = map(
        int, TRANSFORM.fullmatch(path.get("transform", "translate(0 0) scale(1)")).groups()
    )
    data = path.get("d")
    # Fail loudly if the path grammar changes rather than paint something half right.
    assert "".join(m.group(0) for m in RUN.finditer(data)) == data
    k = pixels_per_unit
    for match in RUN.finditer(data):
        x, y, w = map(int, match.groups())
        x0, y0 = (left + x * scale) * k, (top + y * scale) * k
        draw.rectangle((x0, y0, x0 + w * scale * k - 1, y0 + scale * k - 1), fill=0)
    return image


@pytest.mark.parametrize("module_px", [1, 3, 8, 10])
def test_order_png_reads_back(module_px):
    image = Image.open(io.BytesIO(order_png(PAYLOAD, module_px)))
    assert image.format == "PNG" and image.mode == "1"
    assert read(image.convert("L")) == [PAYLOAD]


def test_order_png_default_size_and_quiet_zone():
    image = Image.open(io.BytesIO(order_png(PAYLOAD))).convert("L")
    assert 300 <= image.width <= 450 and image.width == image.height
    quiet = 4 * 8
    for box in [
        (0, 0, image.width, quiet),
        (0, image.height - quiet, image.width, image.height),
        (0, 0, quiet, image.height),
        (image.width - quiet, 0, image.width, image.height),
    ]:
        assert image.crop(box).getextrema() == (255, 255)
    # The finder pattern's corner module starts right inside the quiet zone.
    assert image.getpixel((quiet, quiet)) == 0


def test_order_png_refuses_silly_module_sizes():
    with pytest.raises(ValueError, match="module_px"):
        order_png(PAYLOAD, 0)


def test_order_svg_reads_back():
    svg = order_svg(PAYLOAD)
    root = ET.fromstring(svg)
    assert root.get("width") == root.get("height")
    assert read(rasterise(svg, 8)) == [PAYLOAD]


def test_order_png_and_svg_draw_the_same_symbol():
    png = Image.open(io.BytesIO(order_png(PAYLOAD, 1))).convert("L")
    assert rasterise(order_svg(PAYLOAD)).tobytes() == png.tobytes()


def test_poster_png_is_a6_at_300_dpi_and_reads_back():
    image = Image.open(io.BytesIO(poster_png(**POSTER_ARGS)))
    assert image.size == POSTER_SIZE
    assert tuple(round(v) for v in image.info["dpi"]) == (300, 300)
    assert read(image) == [POSTER_ARGS["payload"]]


def test_poster_svg_reads_back_and_carries_the_caption():
    svg = poster_svg(**POSTER_ARGS)
    root = ET.fromstring(svg)
    assert root.get("viewBox") == f"0 0 {POSTER_SIZE[0]} {POSTER_SIZE[1]}"
    assert (root.get("width"), root.get("height")) == ("105mm", "148mm")
    texts = [text.text for text in root.iter(SVG + "text")]
    assert texts == [
        POSTER_TITLE,
        "NGUYỄN THỊ HỒNG",
        POSTER_ARGS["bank_name"],
        "Chợ Đồng Xuân – Sạp 12",
    ]
    assert read(rasterise(svg)) == [POSTER_ARGS["payload"]]


def test_poster_svg_escapes_markup():
    svg = poster_svg(**{**POSTER_ARGS, "stall": 'Sạp <5> & "A"'})
    texts = [text.text for text in ET.fromstring(svg).iter(SVG + "text")]
    assert texts[-1] == 'Chợ Đồng Xuân – Sạp <5> & "A"'


def caption(svg: str) -> list[tuple[str, int]]:
    return [(t.text, int(t.get("font-size"))) for t in ET.fromstring(svg).iter(SVG + "text")]


def test_poster_caption_shrinks_long_names_to_fit():
    name = "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam"
    ((text, size),) = [
        line
        for line in caption(poster_svg(**{**POSTER_ARGS, "bank_name": name}))
        if line[0] == name
    ]
    assert 36 <= size < 48
    assert _font(size, 400).getlength(name) <= POSTER_SIZE[0] - 2 * 80


def test_poster_caption_wraps_names_too_long_for_one_line():
    name = (
        "Ngân hàng TNHH MTV Việt Nam Hiện Đại - MBV (trước đây Ngân hàng TNHH Một Thành Viên"
        " Đại Dương - OceanBank)"
    )
    lines = caption(poster_svg(**{**POSTER_ARGS, "bank_name": name}))
    first, second = lines[2], lines[3]
    assert f"{first[0]} {second[0]}" == name
    assert first[1] == second[1]
    for text, size in (first, second):
        assert _font(size, 400).getlength(text) <= POSTER_SIZE[0] - 2 * 80
    image = Image.open(io.BytesIO(poster_png(**{**POSTER_ARGS, "bank_name": name})))
    assert read(image) == [POSTER_ARGS["payload"]]


@pytest.mark.parametrize("letter", ["ễ", "Ỗ", "ự", "đ", "Ạ", "ẳ"])
def test_poster_font_has_vietnamese_glyphs(letter):
    # A missing glyph renders as the font's .notdef box, the same for every missing letter.
    font = _font(64, 400)
    assert glyph(font, letter) != glyph(font, "\U000e0ffe")


def glyph(font, letter: str) -> bytes:
    image = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(image).text((10, 10), letter, font=font, fill=255)
    return image.tobytes()
