"""Vendors and their listings: registration, payout accounts, ownership, browsing."""

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.core.principals import Role
from market.places.models import Commune
from market.vendors.models import Listing, Vendor
from tests.factories.catalog import ProductFactory
from tests.factories.markets import ListingFactory, StallFactory
from tests.market.test_app import assert_error
from tests.market.test_markets import count, vendor_headers

PROFILE = {
    "display_name": "Quầy nước mía bà Hoa",
    "phone": "0912345678",
    "bank_bin": "970436",
    "account_number": "0011001234567",
    "account_holder": "NONG THI HOA",
}


def test_a_vendor_registers_once_and_sees_its_payout_account(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(Role.VENDOR)
    created = client.post("/api/v1/vendors", json=PROFILE, headers=headers)
    assert created.status_code == 201
    own = client.get("/api/v1/vendors/me", headers=headers).get_json()
    assert own["account_number"] == "0011001234567"
    public = client.get(f"/api/v1/vendors/{own['id']}").get_json()
    assert public["display_name"] == PROFILE["display_name"]
    assert "account_number" not in public and "phone" not in public
    assert_error(client.post("/api/v1/vendors", json=PROFILE, headers=headers), 409)


def test_bad_payout_accounts_name_the_field_and_save_nothing(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(Role.VENDOR)
    before = count(session, Vendor)
    for change, field in (
        ({"bank_bin": "123456"}, "bank_bin"),
        ({"bank_bin": "97043"}, "bank_bin"),
        ({"account_number": "00110A1234"}, "account_number"),
        ({"account_number": "0011-001234"}, "account_number"),
        ({"account_number": "12345"}, "account_number"),
        ({"account_number": "1" * 20}, "account_number"),
        ({"phone": "+84-06-956 0423"}, "phone"),
        ({"account_holder": ""}, "account_holder"),
    ):
        response = client.post("/api/v1/vendors", json={**PROFILE, **change}, headers=headers)
        assert field in assert_error(response, 422)["errors"]["json"], change
    assert count(session, Vendor) == before


def test_only_vendors_register_and_only_the_owner_edits(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    assert_error(client.post("/api/v1/vendors", json=PROFILE, headers=auth(Role.OFFICIAL)), 403)
    owner = StallFactory().vendor
    intruder, _ = vendor_headers(session)
    change = {"account_number": "9999999999"}
    assert_error(client.patch(f"/api/v1/vendors/{owner.id}", json=change, headers=intruder), 403)
    session.refresh(owner)
    assert owner.account_number != "9999999999"


def test_a_vendor_lists_goods_at_its_stall_and_shoppers_find_them(
    client: FlaskClient, session: Session
) -> None:
    headers, vendor = vendor_headers(session)
    stall = StallFactory(vendor=vendor)
    listing = {
        "stall_id": stall.id,
        "title": "Nước mía sầu riêng",
        "unit": "cốc",
        "price_vnd": 15_000,
        "stock": 40,
    }
    created = client.post("/api/v1/listings", json=listing, headers=headers)
    assert created.status_code == 201, created.get_json()

    found = client.get("/api/v1/listings", query_string={"q": "nuoc mia sau rieng"}).get_json()
    assert [item["id"] for item in found["items"]] == [created.get_json()["id"]]
    by_market = client.get("/api/v1/listings", query_string={"market": stall.market_id}).get_json()
    assert by_market["total"] == 1


def test_listing_prices_are_whole_positive_dong(client: FlaskClient, session: Session) -> None:
    headers, vendor = vendor_headers(session)
    stall = StallFactory(vendor=vendor)
    before = count(session, Listing)
    for price in (0, -5_000, 15_000.5, "15000", 10**12, None):
        listing = {"stall_id": stall.id, "title": "Mật ong", "price_vnd": price, "stock": 1}
        response = client.post("/api/v1/listings", json=listing, headers=headers)
        assert "price_vnd" in assert_error(response, 422)["errors"]["json"], price
    negative_stock = {"stall_id": stall.id, "title": "Mật ong", "price_vnd": 1, "stock": -1}
    assert_error(client.post("/api/v1/listings", json=negative_stock, headers=headers), 422)
    assert count(session, Listing) == before


def test_a_vendor_cannot_list_at_or_edit_another_vendors_stall(
    client: FlaskClient, session: Session
) -> None:
    theirs = ListingFactory()
    headers, _ = vendor_headers(session)
    listing = {"stall_id": theirs.stall_id, "title": "x", "price_vnd": 1000, "stock": 1}
    assert_error(client.post("/api/v1/listings", json=listing, headers=headers), 403)
    path = f"/api/v1/listings/{theirs.id}"
    assert_error(client.patch(path, json={"price_vnd": 1}, headers=headers), 403)
    assert_error(client.delete(path, headers=headers), 403)
    assert client.get(path).get_json()["price_vnd"] == theirs.price_vnd


def test_listings_filter_by_price_and_stock_and_sort_stably(
    client: FlaskClient, session: Session
) -> None:
    stall = StallFactory()
    prices = [30_000, 10_000, 20_000, 10_000]
    for price, stock in zip(prices, (5, 0, 3, 2), strict=True):
        ListingFactory(stall=stall, price_vnd=price, stock=stock)
    query = {"stall": stall.id, "sort": "price_asc"}
    ordered = client.get("/api/v1/listings", query_string=query).get_json()["items"]
    assert [item["price_vnd"] for item in ordered] == sorted(prices)
    assert ordered[0]["id"] < ordered[1]["id"]
    in_range = client.get(
        "/api/v1/listings",
        query_string={**query, "min_price": 10_000, "max_price": 20_000, "in_stock": "true"},
    ).get_json()["items"]
    assert [(item["price_vnd"], item["stock"]) for item in in_range] == [(10_000, 2), (20_000, 3)]
    backwards = client.get("/api/v1/listings", query_string={"min_price": 5, "max_price": 1})
    assert "max_price" in assert_error(backwards, 422)["errors"]["query"]


def test_an_archived_listing_leaves_the_shelf_but_not_the_database(
    client: FlaskClient, session: Session
) -> None:
    headers, vendor = vendor_headers(session)
    listing = ListingFactory(stall=StallFactory(vendor=vendor))
    archived = client.delete(f"/api/v1/listings/{listing.id}", headers=headers)
    assert archived.get_json()["archived_at"]
    shelf = client.get("/api/v1/listings", query_string={"stall": listing.stall_id}).get_json()
    assert shelf["total"] == 0
    assert client.get(f"/api/v1/listings/{listing.id}").status_code == 200


def test_listing_filters_follow_the_market_the_product_and_its_certification(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    admin = auth(Role.ADMIN)
    honey = ProductFactory(name="Mật ong bạc hà", group_code="FOOD", subgroup_code="1.2")
    first = client.post(
        f"/api/v1/products/{honey.id}/certifications",
        headers=admin,
        json={
            "stars": 4,
            "score": 75,
            "decision_number": "12/QĐ-UBND",
            "decision_date": "2025-08-01",
            "issuing_level": "province",
        },
    ).get_json()
    listing = ListingFactory(product_id=honey.id, title="Mật ong bạc hà")
    market_id = listing.stall.market_id

    def found(**filters: object) -> list[int]:
        page = client.get("/api/v1/listings", query_string=filters).get_json()
        return [item["id"] for item in page["items"]]

    assert found(province="04", group="FOOD", stars=4) == [listing.id]
    other, province = session.execute(
        select(Commune.code, Commune.province_code)
        .where(Commune.province_code != "04")
        .order_by(Commune.code)
        .limit(1)
    ).one()
    moved = client.patch(
        f"/api/v1/markets/{market_id}", headers=admin, json={"commune_code": other}
    )
    assert moved.status_code == 200
    assert found(province="04") == []
    assert found(province=province) == [listing.id]

    client.post(f"/api/v1/certifications/{first['id']}/revoke", headers=admin, json={"reason": "x"})
    assert found(stars=4) == []
    client.patch(
        f"/api/v1/products/{honey.id}",
        headers=admin,
        json={"group_code": "BEVERAGE", "subgroup_code": "2.1"},
    )
    assert found(group="FOOD") == [] and found(group="BEVERAGE") == [listing.id]
