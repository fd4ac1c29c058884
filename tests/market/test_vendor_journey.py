"""Issue 4's journey: a vendor registers, opens a stall at a 4.0 market, lists an OCOP product
and prints its stall QR; a shopper finds the product typed without accents."""

import io

import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.core.db import utcnow
from market.core.principals import Role
from market.sales.models import Order
from payments import vietqr
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.factories.markets import StallFactory
from tests.market.test_app import assert_error
from tests.market.test_markets import vendor_headers
from tests.shop import Shop, checkout


def scan(png: bytes) -> vietqr.VietQR:
    """Read a PNG the way a banking app's camera would, and decode the VietQR in it."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return vietqr.decode(results[0].text)


def test_vendor_lists_an_ocop_product_and_prints_its_stall_qr(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    admin = auth(Role.ADMIN)
    market = client.post(
        "/api/v1/markets",
        headers=admin,
        json={
            "name": "Chợ 4.0 Thục Phán",
            "commune_code": "01273",
            "kind": "market_4_0",
            "schedule": [{"days": [1, 2, 3, 4, 5, 6, 7], "opens": "05:00", "closes": "11:00"}],
        },
    ).get_json()
    account = client.post(
        "/api/v1/users", headers=admin, json={"name": "Nông Thị Hoa", "role": "vendor"}
    ).get_json()
    vendor = {"Authorization": f"Bearer {account['token']['token']}"}
    profile = {
        "display_name": "Mật ong bà Hoa",
        "bank_bin": "970436",
        "account_number": "0011001234567",
        "account_holder": "NONG THI HOA",
    }
    assert client.post("/api/v1/vendors", json=profile, headers=vendor).status_code == 201
    stall = client.post(
        "/api/v1/stalls",
        headers=vendor,
        json={
            "market_id": market["id"],
            "code": "B07",
            "name": "Mật ong",
            "category": "ocop_products",
        },
    ).get_json()

    honey = ProductFactory(name="Mật ong bạc hà Cao Bằng", unit="chai")
    CertificationFactory(product_id=honey.id, stars=4, score=75)
    listing = client.post(
        "/api/v1/listings",
        headers=vendor,
        json={"stall_id": stall["id"], "product_id": honey.id, "price_vnd": 250_000, "stock": 12},
    )
    assert listing.status_code == 201
    assert listing.get_json()["title"] == "Mật ong bạc hà Cao Bằng"
    assert listing.get_json()["unit"] == "chai"

    found = client.get(
        "/api/v1/listings", query_string={"q": "mat ong bac ha", "stars": 4, "province": "04"}
    ).get_json()
    assert [item["id"] for item in found["items"]] == [listing.get_json()["id"]]

    code = client.get(f"/api/v1/stalls/{stall['id']}/qr.png")
    assert code.mimetype == "image/png"
    static = scan(code.data)
    assert (static.bin, static.account, static.amount) == ("970436", "0011001234567", None)
    assert static.point_of_initiation == vietqr.Initiation.STATIC
    assert static.store_label == "B07"
    poster = client.get(f"/api/v1/stalls/{stall['id']}/poster.png")
    assert Image.open(io.BytesIO(poster.data)).size == (1240, 1748)
    assert scan(poster.data) == static
    svg = client.get(f"/api/v1/stalls/{stall['id']}/poster.svg")
    assert svg.mimetype == "image/svg+xml" and "Mật ong".encode() in svg.data


def test_a_vendor_cannot_list_an_archived_or_unknown_product(
    client: FlaskClient, session: Session
) -> None:
    headers, vendor = vendor_headers(session)
    stall = StallFactory(vendor=vendor)
    archived = ProductFactory()
    archived.archived_at = utcnow()
    session.flush()
    for product_id in (archived.id, 10**9):
        listing = {"stall_id": stall.id, "product_id": product_id, "price_vnd": 1000, "stock": 1}
        body = assert_error(client.post("/api/v1/listings", json=listing, headers=headers), 422)
        assert "product_id" in body["errors"]["json"]


def test_unknown_stall_qr_is_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/stalls/999999/qr.png"), 404)
    assert_error(client.get("/api/v1/stalls/1/qr.gif"), 404)


def test_deleting_a_product_that_was_sold_archives_it(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    checkout(client, shop, "cash", headers=shop.headers)
    honey = shop.honey.product_id
    removed = client.delete(f"/api/v1/products/{honey}", headers=auth(Role.ADMIN))
    assert removed.status_code == 200 and removed.get_json()["outcome"] == "archived"
    assert (
        client.get(f"/api/v1/orders/{session.scalar(select(Order.public_id))}").status_code == 200
    )
    listed = client.get("/api/v1/products", query_string={"q": "mat ong bac ha"}).get_json()
    assert listed["total"] == 0
