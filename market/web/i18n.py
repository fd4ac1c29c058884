"""The pages' words in Vietnamese, the first language, keyed by their English.

English is the key, so a text missing from the table still reads in English, and the messages of
WTForms and of the services can be translated by listing them here.
"""

from flask import request, session

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

VI = {
    # frame
    "OCOP Market": "Chợ OCOP",
    "Skip to content": "Bỏ qua, đến nội dung",
    "Main menu": "Menu chính",
    "Products": "Sản phẩm",
    "Markets": "Chợ",
    "My stalls": "Quầy của tôi",
    "Dashboard": "Bảng số liệu",
    "Sign in": "Đăng nhập",
    "Sign out": "Đăng xuất",
    "Signed in as": "Đang đăng nhập:",
    "Language": "Ngôn ngữ",
    "Cashless payments at OCOP markets.": "Thanh toán không dùng tiền mặt ở chợ OCOP.",
    # sign in
    "Login (phone number)": "Tên đăng nhập (số điện thoại)",
    "Password": "Mật khẩu",
    "Wrong login or password.": "Sai tên đăng nhập hoặc mật khẩu.",
    "You are signed out.": "Bạn đã đăng xuất.",
    "Sign in to open this page.": "Hãy đăng nhập để mở trang này.",
    # form messages (WTForms and our own)
    "This field is required.": "Bắt buộc nhập.",
    "Not a valid integer value.": "Không phải số nguyên.",
    "Not a valid date value.": "Ngày không hợp lệ.",
    "Enter a whole number from 0 to 999.": "Nhập số nguyên từ 0 đến 999.",
    "Enter a price in whole dong, at least 1.": "Nhập giá bằng đồng, ít nhất 1.",
    "Enter a stock from 0 to 1,000,000.": "Nhập số lượng tồn từ 0 đến 1.000.000.",
    "At most 160 characters.": "Tối đa 160 ký tự.",
    "At most 30 characters.": "Tối đa 30 ký tự.",
    "Choose at least one item.": "Chọn ít nhất một món.",
    "The form expired or was sent from elsewhere; send it again.": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ; vui lòng gửi lại."
    ),
    "This page already placed an order; check the quantities and send again.": (
        "Trang này đã tạo một đơn; kiểm tra lại số lượng rồi gửi lại."
    ),
    "Not enough left in stock.": "Không đủ hàng trong kho.",
    "This stall is closed.": "Quầy này đã đóng.",
    "Please correct the fields marked below.": "Vui lòng sửa các ô được đánh dấu bên dưới.",
    # shopper
    "Search products": "Tìm sản phẩm",
    "Search": "Tìm",
    "e.g. mien dong, mat ong": "ví dụ: mien dong, mat ong",
    "No product matches.": "Không có sản phẩm phù hợp.",
    "results": "kết quả",
    "Previous": "Trang trước",
    "Next": "Trang sau",
    "OCOP stars": "Sao OCOP",
    "stars": "sao",
    "Not OCOP certified": "Chưa được công nhận OCOP",
    "OCOP certificate": "Giấy chứng nhận OCOP",
    "Decision number": "Số quyết định",
    "Decision date": "Ngày quyết định",
    "Valid until": "Có hiệu lực đến",
    "Status": "Trạng thái",
    "Score": "Điểm",
    "Issued by": "Cấp",
    "Producer": "Chủ thể sản xuất",
    "Unit": "Đơn vị",
    "Where to buy": "Nơi bán",
    "Not on sale at any stall yet.": "Chưa có quầy nào bán.",
    "Stall": "Quầy",
    "Stalls": "Các quầy",
    "Price": "Giá",
    "Stock": "Còn",
    "Market": "Chợ",
    "No open stall.": "Chưa có quầy nào mở.",
    "Accepts VietQR": "Nhận VietQR",
    "Cash only": "Chỉ tiền mặt",
    "Goods": "Hàng hóa",
    "active": "còn hiệu lực",
    "expiring": "sắp hết hạn",
    "expired": "hết hạn",
    "revoked": "bị thu hồi",
    "province": "cấp tỉnh",
    "central": "cấp trung ương",
    # orders and payments
    "Order": "Đơn hàng",
    "Amount": "Số tiền",
    "Reference": "Nội dung chuyển khoản",
    "Scan to pay": "Quét mã để thanh toán",
    "Scan with any banking app. The amount and reference are filled in.": (
        "Quét bằng ứng dụng ngân hàng bất kỳ. Số tiền và nội dung đã được điền sẵn."
    ),
    "VietQR code for": "Mã VietQR cho",
    "Paid": "Đã thanh toán",
    "Waiting for payment": "Đang chờ thanh toán",
    "Refresh status": "Cập nhật trạng thái",
    "Expires at": "Hết hạn lúc",
    "pending": "đang chờ",
    "paid": "đã thanh toán",
    "underpaid": "chuyển thiếu",
    "overpaid": "chuyển thừa",
    "cancelled": "đã hủy",
    "partially_refunded": "hoàn tiền một phần",
    "refunded": "đã hoàn tiền",
    "vietqr": "VietQR",
    "card": "thẻ",
    "cash": "tiền mặt",
    "Quantity": "Số lượng",
    "Total": "Tổng",
    "Item": "Món",
    "New sale": "Bán đơn mới",
    "Paid in cash": "Đã thanh toán bằng tiền mặt",
    # vendor
    "Checkout": "Tính tiền",
    "Create QR code": "Tạo mã QR",
    "Record cash sale": "Ghi bán tiền mặt",
    "Today's sales": "Doanh thu hôm nay",
    "Print the poster": "In bảng mã QR",
    "Print": "In",
    "Listings": "Hàng đang bán",
    "Add a listing": "Thêm hàng",
    "Edit": "Sửa",
    "Save": "Lưu",
    "Title": "Tên hàng",
    "Price (dong)": "Giá (đồng)",
    "Catalog product id (optional)": "Mã sản phẩm OCOP trong danh mục (không bắt buộc)",
    "Saved.": "Đã lưu.",
    "You have no stall yet.": "Bạn chưa có quầy nào.",
    "Your account has no vendor profile yet.": "Tài khoản của bạn chưa có hồ sơ người bán.",
    "No sale yet today.": "Hôm nay chưa có giao dịch.",
    "Time": "Giờ",
    "Method": "Phương thức",
    "Sales": "Số đơn",
    "Received": "Đã nhận",
    "Static stall QR poster (A6)": "Bảng mã QR tĩnh của quầy (khổ A6)",
    "Back": "Quay lại",
    # official
    "Place": "Địa bàn",
    "VN, a province (04), a commune (01273) or market:<id>": (
        "VN, mã tỉnh (04), mã xã (01273) hoặc market:<mã chợ>"
    ),
    "From": "Từ ngày",
    "To": "Đến ngày",
    "Grain": "Chu kỳ",
    "day": "ngày",
    "week": "tuần",
    "month": "tháng",
    "quarter": "quý",
    "year": "năm",
    "Show": "Xem",
    "Download CSV": "Tải CSV",
    "Download PDF": "Tải PDF",
    "Indicator": "Chỉ tiêu",
    "Cashless share over time": "Tỷ lệ không dùng tiền mặt theo thời gian",
    "QR coverage by place": "Tỷ lệ điểm bán có QR theo địa bàn",
    "Payment-method mix": "Cơ cấu phương thức thanh toán",
    "The end date is before the start date.": "Ngày kết thúc trước ngày bắt đầu.",
    "There is no such place. Write VN, a province (04), a commune (01273) or market:<id>.": (
        "Không có địa bàn này. Nhập VN, mã tỉnh (04), mã xã (01273) hoặc market:<mã chợ>."
    ),
    # errors
    "Page not found": "Không tìm thấy trang",
    "You may not open this page": "Bạn không được mở trang này",
    "Something went wrong": "Đã có lỗi",
    "Something went wrong on our side; nothing was saved.": (
        "Hệ thống gặp lỗi; chưa có gì được lưu."
    ),
    "Go to the home page": "Về trang chủ",
}


def language() -> str:
    """Return the reader's language: `?lang=` if given (and remembered), else the session's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    return remembered if remembered in LANGUAGES else DEFAULT_LANGUAGE


def translate(text: str) -> str:
    """Return `text` in the reader's language (English texts are their own key)."""
    if language() == "en":
        return text
    return VI.get(str(text), str(text))
