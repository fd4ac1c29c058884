"""The indicators officials read, with stable codes and definitions (domain note §2.3)."""

from market.reports.model import Indicator, Unit

CASHLESS = (
    "Non-cash means VietQR bank transfers and card payments; cash sales are those vendors record."
)

_ALL = (
    Indicator(
        "TRANSACTIONS",
        "Số giao dịch theo phương thức",
        "Transactions by payment method",
        Unit.COUNT,
        "Payments received, one per bank transfer, card charge or recorded cash sale.",
    ),
    Indicator(
        "NONCASH_SHARE_COUNT",
        "Tỷ lệ giao dịch không dùng tiền mặt (số lượng)",
        "Cashless share of transactions",
        Unit.PERCENT,
        f"Share of payments made without cash. {CASHLESS}",
        "non-cash payments",
        "all payments",
    ),
    Indicator(
        "NONCASH_SHARE_VALUE",
        "Tỷ lệ giá trị thanh toán không dùng tiền mặt",
        "Cashless share of value",
        Unit.PERCENT,
        f"Share of value paid without cash, net of refunds. {CASHLESS}",
        "non-cash value (dong)",
        "all value (dong)",
    ),
    Indicator(
        "NONCASH_GROWTH_COUNT",
        "Tăng trưởng giao dịch không dùng tiền mặt (số lượng)",
        "Growth of cashless transactions",
        Unit.PERCENT,
        "Change in the number of non-cash payments against the previous period (vs=previous) "
        "and the same period a year earlier (vs=year_ago). Target: +20-25 % a year (QĐ 1813).",
        "non-cash payments in the period",
        "non-cash payments in the compared period",
    ),
    Indicator(
        "NONCASH_GROWTH_VALUE",
        "Tăng trưởng giá trị không dùng tiền mặt",
        "Growth of cashless value",
        Unit.PERCENT,
        "Change in non-cash value, net of refunds, against the previous period and a year earlier.",
        "non-cash value in the period",
        "non-cash value in the compared period",
    ),
    Indicator(
        "QR_TX_GROWTH_COUNT",
        "Tăng trưởng giao dịch QR (số lượng)",
        "Growth of QR transactions",
        Unit.PERCENT,
        "Change in the number of VietQR payments against the previous period and a year earlier.",
        "VietQR payments in the period",
        "VietQR payments in the compared period",
    ),
    Indicator(
        "QR_TX_GROWTH_VALUE",
        "Tăng trưởng giá trị giao dịch QR",
        "Growth of QR value",
        Unit.PERCENT,
        "Change in VietQR value, net of refunds, against the previous period and a year earlier.",
        "VietQR value in the period",
        "VietQR value in the compared period",
    ),
    Indicator(
        "VENDOR_QR_COVERAGE",
        "Tỷ lệ điểm bán có mã QR",
        "Vendor QR coverage",
        Unit.PERCENT,
        "Open stalls showing a VietQR at the end of the period, over all open stalls. Target: "
        "100 % on cashless streets.",
        "open stalls with a VietQR",
        "open stalls",
    ),
    Indicator(
        "QR_ACCEPTANCE_POINTS",
        "Số điểm chấp nhận thanh toán QR",
        "QR acceptance points",
        Unit.COUNT,
        "Open stalls showing a VietQR at the end of the period.",
    ),
    Indicator(
        "VENDOR_QR_ACTIVE_RATE",
        "Tỷ lệ điểm QR có giao dịch",
        "Active QR rate",
        Unit.PERCENT,
        "QR stalls that received at least one VietQR payment in a month, over QR stalls at the "
        "month's end, summed over the months of the period. Catches QR boards that hang unused. "
        "Monthly: not given for days or weeks.",
        "stall-months with a VietQR payment",
        "stall-months showing a VietQR",
    ),
    Indicator(
        "TX_PER_QR_POINT",
        "Số giao dịch không tiền mặt mỗi điểm QR mỗi tháng",
        "Cashless transactions per QR point per month",
        Unit.RATIO,
        "Non-cash payments over QR stalls at each month's end, summed over the months. "
        "Monthly: not given for days or weeks.",
        "non-cash payments",
        "stall-months showing a VietQR",
    ),
    Indicator(
        "AVG_TICKET_BY_METHOD",
        "Giá trị trung bình mỗi giao dịch",
        "Average ticket by method",
        Unit.VND,
        "Value received over payments received, by method, in whole dong (before refunds).",
        "value received (dong)",
        "payments",
    ),
    Indicator(
        "QR_FAILURE_RATE",
        "Tỷ lệ mã QR không được thanh toán",
        "QR failure rate",
        Unit.PERCENT,
        "Dynamic VietQR codes that expired unpaid, over codes issued, by the day the code was "
        "issued. A transfer that arrives after expiry still counts as a failure here.",
        "codes expired unpaid",
        "codes issued",
    ),
    Indicator(
        "OCOP_SALES",
        "Số giao dịch có sản phẩm OCOP",
        "Sales of OCOP products",
        Unit.COUNT,
        "Payments for orders that contain at least one OCOP product.",
    ),
    Indicator(
        "OCOP_SALES_VALUE",
        "Giá trị bán hàng OCOP",
        "Value of OCOP sales",
        Unit.VND,
        "Value received for orders containing an OCOP product, net of refunds.",
    ),
    Indicator(
        "OCOP_PRODUCTS",
        "Số sản phẩm OCOP còn hiệu lực",
        "Certified OCOP products",
        Unit.COUNT,
        "Products with a certification in force at the end of the period (not expired, not "
        "revoked), by stars, group and producer type; places count the product's origin "
        "commune, a market or vendor the products listed there.",
    ),
    Indicator(
        "OCOP_NEW",
        "Sản phẩm OCOP được công nhận mới",
        "New OCOP certifications",
        Unit.COUNT,
        "Certification decisions dated in the period.",
    ),
    Indicator(
        "OCOP_EXPIRING_90D",
        "Sản phẩm OCOP sắp hết hạn (90 ngày)",
        "OCOP certifications expiring within 90 days",
        Unit.COUNT,
        "Certifications in force at the end of the period that end within the next 90 days "
        "(36 months after the decision).",
    ),
    Indicator(
        "OCOP_EXPIRED",
        "Sản phẩm OCOP hết hạn",
        "Expired OCOP certifications",
        Unit.COUNT,
        "Certifications whose validity ended in the period.",
    ),
    Indicator(
        "OCOP_ON_ECOM",
        "Tỷ lệ sản phẩm OCOP trên sàn thương mại điện tử",
        "OCOP products listed online",
        Unit.PERCENT,
        "Certified products with a live e-commerce listing at the end of the period, over "
        "certified products.",
        "certified products listed online",
        "certified products",
    ),
    Indicator(
        "MARKETS_4_0",
        "Số chợ 4.0",
        "4.0 markets",
        Unit.COUNT,
        "Markets of kind 4.0 market at the end of the period; the denominator is all markets.",
        "4.0 markets",
        "markets",
    ),
    Indicator(
        "CASHLESS_STREETS",
        "Số tuyến phố không dùng tiền mặt",
        "Cashless streets",
        Unit.COUNT,
        "Markets of kind cashless street at the end of the period; the denominator is all markets.",
        "cashless streets",
        "markets",
    ),
)

# Figures officials enter from outside sources; OCOP Market does not measure them.
_REPORTED_ONLY = (
    Indicator(
        "ADULT_ACCOUNT_RATE",
        "Tỷ lệ người trưởng thành có tài khoản",
        "Adults with an account",
        Unit.PERCENT,
        "People aged 15+ with a bank or payment account, over people aged 15+. Target: 80 % by "
        "2025 (QĐ 1813). Reported figure.",
    ),
    Indicator(
        "MOBILE_MONEY_ACCOUNTS",
        "Số tài khoản Mobile Money",
        "Mobile Money accounts",
        Unit.COUNT,
        "Mobile Money accounts opened. Reported figure.",
    ),
    Indicator(
        "ECOM_NONCASH_SHARE",
        "Tỷ lệ thanh toán không tiền mặt trong thương mại điện tử",
        "Cashless share of e-commerce",
        Unit.PERCENT,
        "Non-cash share of e-commerce payments. Target: 50 % (QĐ 1813). Reported figure.",
    ),
    Indicator(
        "EINVOICE_RATE",
        "Tỷ lệ sử dụng hóa đơn điện tử",
        "E-invoice use",
        Unit.PERCENT,
        "Businesses using e-invoices. Reported figure.",
    ),
    Indicator(
        "DIGITAL_TEAMS",
        "Số tổ công nghệ số cộng đồng",
        "Community digital teams",
        Unit.COUNT,
        "Community digital-transformation teams. Reported figure.",
    ),
    Indicator(
        "ONLINE_PUBLIC_SERVICES",
        "Số dịch vụ công trực tuyến",
        "Online public services",
        Unit.COUNT,
        "Online public services offered. Reported figure.",
    ),
)

INDICATORS = {indicator.code: indicator for indicator in _ALL + _REPORTED_ONLY}
MEASURED = tuple(indicator.code for indicator in _ALL)
