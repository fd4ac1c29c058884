"""Vendor pages through the test client: sign in, checkout, cash, listings, and who may see what."""

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.sales.models import Order
from market.vendors.models import Listing
from payments.models import PaymentStatus
from tests.payments import banks
from tests.web.conftest import OFFICIAL, VENDOR_A, VENDOR_B, Vendors
from tests.web.pages import csrf_token, post_form, sign_in, text


def checkout_path(vendors: Vendors) -> str:
    return f"/vendor/stalls/{vendors.a.stall_id}/checkout"


def sell(client: FlaskClient, vendors: Vendors, method: str = "vietqr", **quantities: str):
    data = {f"qty_{vendors.a.juice.id}": "2", f"qty_{vendors.a.honey.id}": "1", **quantities}
    return post_form(client, checkout_path(vendors), {**data, "method": method})


def test_a_vendor_signs_in_and_lands_on_their_stalls(client: FlaskClient, vendors: Vendors) -> None:
    signed = sign_in(client, VENDOR_A)
    assert signed.status_code == 302 and signed.headers["Location"] == "/vendor"
    page = text(client.get("/vendor"))
    assert "Quầy của tôi" in page and "Nước mía" in page and "Mật ong bạc hà" in page
    assert "Bánh cuốn" not in page  # vendor B's listing


def test_a_wrong_password_is_refused_and_the_login_kept(
    client: FlaskClient, vendors: Vendors
) -> None:
    refused = sign_in(client, VENDOR_A, "not the password")
    assert refused.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in text(refused)
    assert f'value="{VENDOR_A}"' in text(refused)
    assert 'value="not the password"' not in text(refused)
    assert client.get("/vendor").status_code == 302  # still anonymous


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, vendors: Vendors) -> None:
    for path in ["/vendor", checkout_path(vendors), "/dashboard"]:
        sent = client.get(path)
        assert sent.status_code == 302
        assert sent.headers["Location"].startswith("/sign-in?next=")


def test_a_vendor_checks_out_and_sees_the_qr_with_amount_and_reference(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    placed = sell(client, vendors)
    assert placed.status_code == 302
    screen = client.get(placed.headers["Location"])
    page = text(screen)
    order = session.query(Order).filter_by(stall_id=vendors.a.stall_id).one()
    assert order.total_vnd == 270_000
    assert "270.000 ₫" in page and order.payment.reference in page
    assert f'src="/api/v1/payments/{order.payment.public_id}/qr.svg"' in page
    assert "Đang chờ thanh toán" in page and "Cập nhật trạng thái" in page
    assert client.get(f"/api/v1/payments/{order.payment.public_id}/qr.svg").status_code == 200

    assert banks.simbank(client, f"CK {order.payment.reference}", 270_000).status_code == 200
    assert "Đã thanh toán" in text(client.get(placed.headers["Location"]))


def test_a_vendor_records_a_cash_sale(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    placed = sell(client, vendors, "cash")
    page = text(client.get(placed.headers["Location"]))
    assert "Đã thanh toán" in page and "tiền mặt" in page and "qr.svg" not in page
    order = session.query(Order).filter_by(stall_id=vendors.a.stall_id).one()
    assert order.payment.status == PaymentStatus.PAID
    today = text(client.get(f"/vendor/stalls/{vendors.a.stall_id}/today"))
    assert order.payment.reference in today and "270.000 ₫" in today


def test_bad_quantities_show_next_to_the_field_and_keep_what_was_typed(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    refused = sell(client, vendors, **{f"qty_{vendors.a.juice.id}": "hai"})
    page = text(refused)
    assert refused.status_code == 422
    assert 'value="hai"' in page and "Không phải số nguyên." in page
    assert 'aria-invalid="true"' in page
    too_many = sell(client, vendors, **{f"qty_{vendors.a.honey.id}": "4"})  # 3 in stock
    assert too_many.status_code == 422
    assert "Không đủ hàng trong kho." in text(too_many) and 'value="4"' in text(too_many)
    nothing = sell(
        client, vendors, **{f"qty_{vendors.a.juice.id}": "", f"qty_{vendors.a.honey.id}": "0"}
    )
    assert nothing.status_code == 422 and "Chọn ít nhất một món." in text(nothing)
    assert session.query(Order).count() == 0
    assert session.get_one(Listing, vendors.a.honey.id).stock == 3


def test_a_form_sent_twice_places_one_order(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    page = text(client.get(checkout_path(vendors)))
    key = re.search(r'id="key" name="key" type="hidden" value="([^"]+)"', page).group(1)
    token = re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page
    ).group(1)
    data = {"csrf_token": token, "key": key, "method": "vietqr", f"qty_{vendors.a.juice.id}": "1"}
    first = client.post(checkout_path(vendors), data=data)
    second = client.post(checkout_path(vendors), data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert session.query(Order).count() == 1


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    data = {f"qty_{vendors.a.juice.id}": "1", "method": "cash"}
    refused = client.post(checkout_path(vendors), data=data)
    assert refused.status_code == 400
    assert "Biểu mẫu đã hết hạn" in text(refused)
    forged = client.post(checkout_path(vendors), data={**data, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert session.query(Order).count() == 0
    no_token_sign_in = client.post("/sign-in", data={"login": VENDOR_A, "password": "x" * 9})
    assert no_token_sign_in.status_code == 400
    assert client.post("/sign-out").status_code == 400
    assert client.get("/vendor").status_code == 200  # still signed in


def test_a_vendor_cannot_open_another_vendors_pages(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_B)
    stall = vendors.a.stall_id
    for path in [
        f"/vendor/stalls/{stall}/checkout",
        f"/vendor/stalls/{stall}/today",
        f"/vendor/stalls/{stall}/poster",
        f"/vendor/stalls/{stall}/listings/new",
        f"/vendor/listings/{vendors.a.juice.id}",
    ]:
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "Bạn không được mở trang này" in text(refused)
        assert "Traceback" not in text(refused)
    token = csrf_token(client, f"/vendor/stalls/{vendors.b_stall_id}/checkout")
    post = client.post(
        f"/vendor/stalls/{stall}/checkout",
        data={"csrf_token": token, f"qty_{vendors.a.juice.id}": "1", "method": "cash"},
    )
    assert post.status_code == 403
    assert session.query(Order).count() == 0


def test_vendor_b_cannot_see_vendor_as_checkout_screen(
    client: FlaskClient, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    location = sell(client, vendors).headers["Location"]
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/vendor")})
    sign_in(client, VENDOR_B)
    assert client.get(location).status_code == 403


def test_an_official_may_not_open_vendor_pages(
    client: FlaskClient, vendors: Vendors, official: str
) -> None:
    sign_in(client, OFFICIAL)
    assert client.get("/vendor").status_code == 403
    assert client.get(checkout_path(vendors)).status_code == 403


def test_a_vendor_may_not_open_the_dashboard(client: FlaskClient, vendors: Vendors) -> None:
    sign_in(client, VENDOR_A)
    assert client.get("/dashboard").status_code == 403


def test_a_vendor_edits_a_listing_and_bad_input_is_kept(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    path = f"/vendor/listings/{vendors.a.juice.id}"
    assert 'value="10000"' in text(client.get(path))
    refused = post_form(
        client, path, {"title": "Nước mía", "unit": "cốc", "price_vnd": "0", "stock": "-1"}
    )
    assert refused.status_code == 422
    page = text(refused)
    assert "Nhập giá bằng đồng, ít nhất 1." in page and 'value="0"' in page and 'value="-1"' in page
    saved = post_form(
        client, path, {"title": "Nước mía to", "unit": "cốc", "price_vnd": "15000", "stock": "80"}
    )
    assert saved.status_code == 302
    session.expire_all()
    juice = session.get_one(Listing, vendors.a.juice.id)
    assert (juice.title, juice.price_vnd, juice.stock) == ("Nước mía to", 15_000, 80)
    assert "Đã lưu." in text(client.get("/vendor"))


def test_a_vendor_adds_a_listing_and_a_service_refusal_shows_on_its_field(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    sign_in(client, VENDOR_A)
    path = f"/vendor/stalls/{vendors.a.stall_id}/listings/new"
    refused = post_form(
        client,
        path,
        {"title": "", "unit": "", "price_vnd": "5000", "stock": "3", "product_id": "999999"},
    )
    assert refused.status_code == 422
    assert "There is no product 999999 to list." in text(refused)
    assert 'value="999999"' in text(refused) and 'value="5000"' in text(refused)
    saved = post_form(
        client,
        path,
        {"title": "Trà shan tuyết", "unit": "gói", "price_vnd": "120000", "stock": "9"},
    )
    assert saved.status_code == 302
    assert (
        session.query(Listing)
        .filter_by(title="Trà shan tuyết", stall_id=vendors.a.stall_id)
        .count()
        == 1
    )


def test_the_poster_page_shows_the_stalls_poster(client: FlaskClient, vendors: Vendors) -> None:
    sign_in(client, VENDOR_A)
    page = text(client.get(f"/vendor/stalls/{vendors.a.stall_id}/poster"))
    assert f'src="/api/v1/stalls/{vendors.a.stall_id}/poster.png"' in page
    assert client.get(f"/api/v1/stalls/{vendors.a.stall_id}/poster.png").status_code == 200


@pytest.mark.parametrize("lang, word", [("en", "Checkout"), ("vi", "Tính tiền")])
def test_the_language_switch_is_remembered(
    client: FlaskClient, vendors: Vendors, lang: str, word: str
) -> None:
    sign_in(client, VENDOR_A)
    client.get(f"/vendor?lang={lang}")
    assert f"<h1>{word}" in text(client.get(checkout_path(vendors)))
