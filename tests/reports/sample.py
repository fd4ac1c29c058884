"""A hand-built report: Cao Bằng and phường Thục Phán over the first quarter of 2026.

The commune's market closed for Tết in February, so its shares have no value that month.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from market.reports.model import Grain, Indicator, Period, Place, Report, Source, Unit, Value

PROVINCE = Place("province", "04", "Tỉnh Cao Bằng")
COMMUNE_NAME = "Phường Thục Phán"
PERIODS = (
    Period(Grain.MONTH, date(2026, 1, 1), date(2026, 1, 31), "2026-01"),
    Period(Grain.MONTH, date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
    Period(Grain.MONTH, date(2026, 3, 1), date(2026, 3, 31), "2026-03"),
)
TET_CLOSURE = "Chợ nghỉ Tết: không có giao dịch"
REPORT_TITLE = "Báo cáo thanh toán không dùng tiền mặt – Cao Bằng, quý I/2026"

INDICATORS = (
    Indicator(
        "NONCASH_SHARE_COUNT",
        "Tỷ lệ giao dịch không dùng tiền mặt (theo số lượng)",
        "Non-cash share of transactions (count)",
        Unit.PERCENT,
        "Số giao dịch không dùng tiền mặt chia cho tổng số giao dịch tại chợ.",
        "giao dịch VietQR và thẻ",
        "mọi giao dịch, kể cả tiền mặt",
    ),
    Indicator(
        "NONCASH_SHARE_VALUE",
        "Tỷ lệ giá trị thanh toán không dùng tiền mặt",
        "Non-cash share of transactions (value)",
        Unit.PERCENT,
        "Giá trị giao dịch không dùng tiền mặt chia cho tổng giá trị giao dịch.",
        "giá trị giao dịch VietQR và thẻ",
        "giá trị mọi giao dịch",
    ),
    Indicator(
        "TRANSACTIONS",
        "Số giao dịch theo phương thức thanh toán",
        "Transactions by payment method",
        Unit.COUNT,
        "Số giao dịch đã thanh toán trong kỳ, tách theo phương thức.",
    ),
    Indicator(
        "AVG_TICKET_BY_METHOD",
        "Giá trị bình quân một giao dịch",
        "Average ticket by payment method",
        Unit.VND,
        "Tổng giá trị chia cho số giao dịch của từng phương thức.",
        "tổng giá trị (đồng)",
        "số giao dịch",
    ),
    Indicator(
        "VENDOR_QR_COVERAGE",
        "Tỷ lệ tiểu thương có mã QR",
        "Vendors with an active QR",
        Unit.PERCENT,
        "Số tiểu thương có mã VietQR đang hoạt động chia cho tổng số tiểu thương.",
        "tiểu thương có mã QR",
        "tiểu thương",
    ),
    Indicator(
        "MARKETS_4_0",
        "Số chợ 4.0",
        "Markets 4.0",
        Unit.COUNT,
        "Số chợ đã triển khai thanh toán không dùng tiền mặt cho mọi quầy.",
    ),
)

# (province, commune) per period; the commune's February is the Tết closure.
_TRANSACTIONS = {
    "cash": ((4_210, 310), (3_980, 0), (3_650, 290)),
    "vietqr": ((4_820, 470), (5_130, 0), (5_560, 660)),
    "card": ((160, 20), (170, 0), (190, 34)),
}
_AVERAGE_TICKET = {
    "cash": ((85_000, 62_000), (91_000, None), (88_000, 65_000)),
    "vietqr": ((250_000, 118_000), (262_000, None), (255_000, 121_000)),
    "card": ((640_000, 410_000), (655_000, None), (630_000, 395_000)),
}
_VENDOR_QR = (((412, 560), (60, 70)), ((455, 560), (64, 70)), ((498, 560), (68, 70)))


def _share(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"))


def cao_bang_report(commune_name: str = COMMUNE_NAME) -> Report:
    """Build the sample report; commune_name lets a test give the commune a hostile name."""
    commune = Place("commune", "01273", commune_name)
    places = (PROVINCE, commune)
    values: list[Value] = []

    def add(
        code: str, place: Place, period: Period, value: Decimal | int | None, **extra: Any
    ) -> None:
        unit = next(indicator.unit for indicator in INDICATORS if indicator.code == code)
        values.append(Value(code, place, period, value, unit, Source.SIMULATED, **extra))

    for p, period in enumerate(PERIODS):
        for k, place in enumerate(places):
            counts = {method: rows[p][k] for method, rows in _TRANSACTIONS.items()}
            total = sum(counts.values())
            noncash = counts["vietqr"] + counts["card"]
            note = "" if total else TET_CLOSURE
            for method, count in counts.items():
                add("TRANSACTIONS", place, period, count, dimensions={"method": method})
                ticket = _AVERAGE_TICKET[method][p][k]
                add(
                    "AVG_TICKET_BY_METHOD",
                    place,
                    period,
                    ticket,
                    numerator=ticket * count if ticket else None,
                    denominator=count,
                    dimensions={"method": method},
                    note=note,
                )
            add(
                "NONCASH_SHARE_COUNT",
                place,
                period,
                _share(noncash, total),
                numerator=noncash,
                denominator=total,
                note=note,
            )
            value_total = sum(
                counts[method] * (_AVERAGE_TICKET[method][p][k] or 0) for method in counts
            )
            value_noncash = value_total - counts["cash"] * (_AVERAGE_TICKET["cash"][p][k] or 0)
            add(
                "NONCASH_SHARE_VALUE",
                place,
                period,
                _share(value_noncash, value_total),
                numerator=value_noncash,
                denominator=value_total,
                note=note,
            )
            with_qr, vendors = _VENDOR_QR[p][k]
            add(
                "VENDOR_QR_COVERAGE",
                place,
                period,
                _share(with_qr, vendors),
                numerator=with_qr,
                denominator=vendors,
            )
    values.append(
        Value(
            "MARKETS_4_0",
            PROVINCE,
            PERIODS[-1],
            12,
            Unit.COUNT,
            Source.REPORTED,
            as_of=date(2026, 3, 31),
            note="Sở Công Thương Cao Bằng",
        )
    )
    return Report(places, PERIODS, INDICATORS, tuple(values))
