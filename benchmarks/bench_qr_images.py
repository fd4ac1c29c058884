"""Time QR images: per-order PNG and SVG (ours and plain qrcode's) and stall posters, median ms."""

import io
import statistics
import sys
import time

import qrcode

from payments.qr import order_png, order_svg, poster_png, poster_svg
from payments.vietqr import VietQR, encode

TARGETS_MS = {"order PNG (zxing-cpp)": 2.0, "poster PNG": 150.0}
POSTER = {
    "bank_name": "Ngân hàng TMCP Ngoại thương Việt Nam",
    "holder": "Nguyễn Thị Hồng",
    "market": "Chợ Đồng Xuân",
    "stall": "Sạp 12",
}


def order_payload(number: int) -> str:
    """Return a distinct dynamic payload per order, so no cache can help."""
    qr = VietQR(
        bin="970436",
        account="0011001234567",
        amount=10_000 + number,
        bill_number=f"OCOP{number:06d}",
        purpose=f"OCOP{number:06d} Sap 12",
    )
    return encode(qr)


def qrcode_png(payload: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return out.getvalue()


def median_ms(function, count: int) -> float:
    """Return the median ms of count calls, each from a new order's fields to the image."""
    times = []
    for n in range(count):
        start = time.perf_counter()
        function(order_payload(n))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> int:
    results = {
        "order PNG (zxing-cpp)": median_ms(order_png, 2000),
        "order PNG (plain qrcode)": median_ms(qrcode_png, 100),
        "order SVG (zxing-cpp)": median_ms(order_svg, 2000),
        "poster PNG": median_ms(lambda p: poster_png(p, **POSTER), 15),
        "poster SVG": median_ms(lambda p: poster_svg(p, **POSTER), 30),
    }
    over = False
    for name, ms in results.items():
        target = TARGETS_MS.get(name)
        note = ""
        if target is not None:
            over |= ms > target
            note = f"  (target ≤ {target:g} ms) {'ok' if ms <= target else 'OVER TARGET'}"
        print(f"{name:26} {ms:8.3f} ms median{note}")
    print("each figure runs from a VietQR value to the image: encoding the payload is included")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
