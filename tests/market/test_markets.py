"""Markets and stalls: administrators register markets, vendors open their own stalls."""

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.services import issue_token
from market.core.principals import Role
from market.markets.models import Market, Stall
from market.vendors.models import Vendor
from tests.factories.markets import MarketFactory, StallFactory, VendorFactory
from tests.market.test_app import assert_error

KIM_DONG = {
    "name": "Phố đi bộ Kim Đồng",
    "commune_code": "01273",
    "kind": "walking_street",
    "market_class": 3,
    "schedule": [{"days": [5, 6], "opens": "19:00", "closes": "23:00"}],
}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_admin_registers_a_market_anyone_finds_it_without_accents(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    created = client.post("/api/v1/markets", json=KIM_DONG, headers=auth(Role.ADMIN))
    assert created.status_code == 201
    market = created.get_json()
    assert market["province_code"] == "04"
    assert market["schedule"] == KIM_DONG["schedule"]

    found = client.get("/api/v1/markets", query_string={"q": "kim dong", "province": "04"})
    assert [m["id"] for m in found.get_json()["items"]] == [market["id"]]
    other_province = client.get("/api/v1/markets", query_string={"q": "kim dong", "province": "01"})
    assert other_province.get_json()["total"] == 0


def test_only_admins_manage_markets(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    assert_error(client.post("/api/v1/markets", json=KIM_DONG), 401)
    for role in (Role.VENDOR, Role.OFFICIAL):
        assert_error(client.post("/api/v1/markets", json=KIM_DONG, headers=auth(role)), 403)


def test_bad_markets_name_the_field_and_save_nothing(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(Role.ADMIN)
    before = count(session, Market)
    cases = [
        ({"commune_code": "99999"}, "commune_code"),
        ({"commune_code": "1273"}, "commune_code"),
        ({"kind": "supermarket"}, "kind"),
        ({"market_class": 4}, "market_class"),
        ({"market_class": 1.5}, "market_class"),
        ({"name": "   "}, "name"),
        ({"schedule": []}, "schedule"),
        ({"schedule": [{"days": [8], "opens": "19:00", "closes": "23:00"}]}, "schedule"),
        ({"schedule": [{"days": [5], "opens": "25:00", "closes": "23:00"}]}, "schedule"),
        ({"schedule": [{"days": [5], "opens": "19:00", "closes": "19:00"}]}, "schedule"),
    ]
    for change, field in cases:
        response = client.post("/api/v1/markets", json={**KIM_DONG, **change}, headers=headers)
        body = assert_error(response, 422)
        assert field in body["errors"]["json"], (change, body)
    assert count(session, Market) == before


def test_a_market_with_stalls_cannot_be_deleted(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    headers = auth(Role.ADMIN)
    empty, used = MarketFactory(), StallFactory().market
    assert client.delete(f"/api/v1/markets/{empty.id}", headers=headers).status_code == 204
    assert_error(client.delete(f"/api/v1/markets/{used.id}", headers=headers), 409)
    assert client.get(f"/api/v1/markets/{used.id}").status_code == 200


def vendor_headers(session: Session) -> tuple[dict[str, str], Vendor]:
    """Return a new vendor with its profile, and headers carrying its token."""
    vendor = VendorFactory()
    token = issue_token(session, vendor.user).token
    return {"Authorization": f"Bearer {token}"}, vendor


def test_a_vendor_opens_a_stall_and_the_market_lists_it(
    client: FlaskClient, session: Session
) -> None:
    headers, vendor = vendor_headers(session)
    market = MarketFactory()
    stall = {"market_id": market.id, "code": "a12", "name": "Nước mía", "category": "drinks"}
    created = client.post("/api/v1/stalls", json=stall, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["code"] == "A12"
    assert created.get_json()["vendor_id"] == vendor.id

    listed = client.get(f"/api/v1/markets/{market.id}/stalls").get_json()
    assert [s["code"] for s in listed["items"]] == ["A12"]
    taken = client.post("/api/v1/stalls", json=stall, headers=vendor_headers(session)[0])
    assert assert_error(taken, 409)["errors"] == {
        "json": {"code": ["Stall A12 is already taken in this market."]}
    }


def test_a_vendor_without_a_profile_is_told_to_register(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    stall = {"market_id": MarketFactory().id, "code": "B1", "name": "x", "category": "drinks"}
    body = assert_error(client.post("/api/v1/stalls", json=stall, headers=auth(Role.VENDOR)), 409)
    assert "POST /api/v1/vendors" in body["message"]


def test_a_vendor_cannot_touch_another_vendors_stall(
    client: FlaskClient,
    session: Session,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    stall = StallFactory()
    intruder, _ = vendor_headers(session)
    assert_error(
        client.patch(f"/api/v1/stalls/{stall.id}", json={"name": "mine"}, headers=intruder), 403
    )
    assert_error(client.delete(f"/api/v1/stalls/{stall.id}", headers=intruder), 403)
    assert client.get(f"/api/v1/stalls/{stall.id}").get_json()["name"] == stall.name
    closed = client.delete(f"/api/v1/stalls/{stall.id}", headers=auth(Role.ADMIN))
    assert closed.get_json()["closed_at"]
    assert client.get(f"/api/v1/markets/{stall.market_id}/stalls").get_json()["total"] == 0
    assert count(session, Stall) >= 1
