"""Shopper pages: search without accents, product certificate, a market's stalls, an order."""

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.markets.models import Stall
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.factories.markets import ListingFactory
from tests.payments import banks
from tests.shop import Shop, checkout
from tests.web.pages import text


def test_the_home_page_lists_markets_and_offers_search(
    client: FlaskClient, shop: Shop, session: Session
) -> None:
    page = text(client.get("/"))
    market = session.get_one(Stall, shop.stall_id).market
    assert market.name in page and f'href="/markets/{market.id}"' in page
    assert '<label for="q">Tìm sản phẩm</label>' in page


def test_a_product_typed_without_accents_is_found(client: FlaskClient, session: Session) -> None:
    ProductFactory(name="Miến dong Nguyên Bình")
    ProductFactory(name="Mật ong bạc hà")
    found = text(client.get("/products?q=mien dong"))
    assert "Miến dong Nguyên Bình" in found and "Mật ong bạc hà" not in found
    assert 'value="mien dong"' in found
    assert "Không có sản phẩm phù hợp." in text(client.get("/products?q=khong co gi"))


def test_a_product_page_shows_its_stars_and_certificate(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    product_id = shop.honey.product_id
    page = text(client.get(f"/products/{product_id}"))
    assert "★★★★☆" in page and "OCOP 4 sao" in page
    certificate = shop.honey.product.current_certification
    assert certificate.decision_number in page
    assert (
        f"{certificate.decision_date:%d/%m/%Y}" in page
        and f"{certificate.valid_until:%d/%m/%Y}" in page
    )
    assert "còn hiệu lực" in page or "sắp hết hạn" in page
    assert "250.000 ₫" in page  # where to buy
    english = text(client.get(f"/products/{product_id}?lang=en"))
    assert "Decision number" in english and "Valid until" in english


def test_an_expired_certificate_is_shown_as_expired(client: FlaskClient, session: Session) -> None:
    product = ProductFactory(name="Trà xanh")
    CertificationFactory(product_id=product.id, stars=3, decision_date=date(2020, 1, 1))
    page = text(client.get(f"/products/{product.id}"))
    assert "hết hạn" in page and "Chưa được công nhận OCOP" in page


def test_a_missing_product_is_a_small_html_404(client: FlaskClient, session: Session) -> None:
    missing = client.get("/products/999999")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Không tìm thấy trang" in text(missing) and "Traceback" not in text(missing)


def test_a_market_page_lists_its_stalls_and_what_they_sell(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    stall = session.get_one(Stall, shop.stall_id)
    ListingFactory(stall=stall, title="Đã ngừng bán", archived_at=stall.created_at)
    page = text(client.get(f"/markets/{stall.market_id}"))
    assert f"Quầy {stall.code}" in page and "Nước mía" in page and "10.000 ₫" in page
    assert "Đã ngừng bán" not in page


def test_an_order_page_shows_its_qr_then_paid(client: FlaskClient, shop: Shop) -> None:
    order = checkout(client, shop).get_json()
    payment = order["payment"]
    page = text(client.get(f"/orders/{order['id']}"))
    assert f"/api/v1/payments/{payment['id']}/qr.svg" in page
    assert payment["reference"] in page and "270.000 ₫" in page
    banks.simbank(client, payment["reference"], 270_000)
    paid = text(client.get(f"/orders/{order['id']}"))
    assert "Đã thanh toán" in paid and 'class="pay pay-paid"' in paid
