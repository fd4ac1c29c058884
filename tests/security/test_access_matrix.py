"""Every endpoint × method × role, generated from the route table so none can be forgotten.

Roles: anonymous, shopper (anonymous, but the order in the world is theirs), vendor A (owns the
stall, listings, orders and payments of the world), vendor B (a vendor with a stall of their own),
official and admin. Path parameters are vendor A's objects. The expected outcome derives from the
view's declared roles (`allow(...)` or the pages' `page_access(...)`; an undeclared GET is open)
and from ownership: vendor B touching vendor A's things is refused (403 or 404).

Each cell runs in a savepoint rolled back afterwards, and compares a fingerprint of every table
before and after: a refused call must change nothing. A route the matrix cannot fill fails.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from catalog import services as catalog_services
from market.accounts.services import issue_token
from market.app import create_app
from market.core.access import ACCESS_ATTRIBUTE, ANYONE
from market.core.db import Base
from market.core.principals import Role
from market.markets.models import Stall
from payments.models import PaymentIntent
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.factories.markets import ListingFactory, StallFactory
from tests.market.test_markets import vendor_headers
from tests.payments import banks
from tests.shop import Shop, checkout

ROLES = ("anonymous", "shopper", "vendor_a", "vendor_b", "official", "admin")
ROLE_OF = {
    "vendor_a": Role.VENDOR,
    "vendor_b": Role.VENDOR,
    "official": Role.OFFICIAL,
    "admin": Role.ADMIN,
}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
STATIC_TABLES = {"provinces", "communes", "alembic_version"}
REPORT_QUERY = {"place": "04", "from": "2026-01-01", "to": "2026-01-31"}

# Path parameters by name; `by_endpoint` overrides them where a name means another thing.
ANY_CHOICES = {
    "image_format": "png",
    "kind": "qr",
    "chart": "share",
    "file_format": "html",
    "provider": "simbank",
    "filename": "swagger-ui.css",
}

# Who, besides the owner and administrators, may not touch vendor A's things even though their
# role may call the endpoint: (method, endpoint) -> roles refused with 403 or 404.
NOT_OWNERS: dict[tuple[str, str], set[str]] = {
    ("PATCH", "vendors.VendorDetail"): {"vendor_b"},
    ("POST", "vendors.Listings"): {"vendor_b"},
    ("PATCH", "vendors.ListingDetail"): {"vendor_b"},
    ("DELETE", "vendors.ListingDetail"): {"vendor_b"},
    ("PATCH", "markets.StallDetail"): {"vendor_b"},
    ("DELETE", "markets.StallDetail"): {"vendor_b"},
    ("POST", "sales.CancelOrder"): {"vendor_b"},
    ("POST", "sales.Refunds"): {"vendor_b"},
    ("DELETE", "accounts.Token"): {"vendor_b", "official"},
    # The vendor's pages, on vendor A's stall, listing and order.
    **{
        (method, f"web.{page}"): {"vendor_b"}
        for page in ("checkout", "edit_listing", "new_listing", "poster", "today", "vendor_order")
        for method in ("GET", "POST")
    },
}


@dataclass
class World:
    """Vendor A's objects, and every role's credentials."""

    ids: dict[str, Any]
    headers: dict[str, dict[str, str]]
    users: dict[str, tuple[int, Role]] = field(default_factory=dict)


@pytest.fixture
def world(app: Flask, client: Any, session: Session, shop: Shop, auth: Callable) -> World:
    vendor_a = session.scalar(select(Stall).where(Stall.id == shop.stall_id)).vendor  # type: ignore[union-attr]
    headers_b, vendor_b = vendor_headers(session)
    stall_b = StallFactory(vendor=vendor_b)
    ListingFactory(stall=stall_b)
    product = ProductFactory()
    certification = CertificationFactory(product_id=product.id)
    ecommerce = catalog_services.add_ecommerce_listing(
        session, product.id, platform="shopee", url="https://shopee.vn/mat-ong"
    )
    pending = checkout(client, shop).get_json()
    paid = checkout(client, shop, lines=[{"listing_id": shop.juice.id, "quantity": 1}]).get_json()
    banks.simbank(client, paid["payment"]["reference"], 10_000)
    spare_token = issue_token(session, vendor_a.user, "spare")
    session.flush()
    official, admin = auth(Role.OFFICIAL), auth(Role.ADMIN)
    ids = {
        "producer_id": product.producer_id,
        "product_id": product.id,
        "certification_id": certification.id,
        "ecommerce_listing_id": ecommerce.id,
        "market_id": session.get(Stall, shop.stall_id).market_id,  # type: ignore[union-attr]
        "stall_id": shop.stall_id,
        "listing_id": shop.juice.id,
        "vendor_id": vendor_a.id,
        "order_id": pending["id"],
        "payment_id": pending["payment"]["id"],
        "paid_payment_id": paid["payment"]["id"],
        "paid_order_id": paid["id"],
        "reference": pending["payment"]["reference"],
        "token_id": spare_token.id,
        "code": "04",
        "commune": "01273",
        "key": "970436",
        "juice_id": shop.juice.id,
    }
    return World(
        ids=ids,
        headers={
            "anonymous": {},
            "shopper": {},
            "vendor_a": shop.headers,
            "vendor_b": headers_b,
            "official": official,
            "admin": admin,
        },
    )


@dataclass
class Call:
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    raw: Callable[[World], dict[str, Any]] | None = None


def _bodies(w: World) -> dict[tuple[str, str], Call]:
    """Valid requests for the writes (and the reads that need more than their path)."""
    i = w.ids
    return {
        ("POST", "accounts.Users"): Call(json={"name": "Chị Lan", "role": "official"}),
        ("POST", "accounts.Tokens"): Call(json={"label": "phone"}),
        ("DELETE", "accounts.Token"): Call(),
        ("POST", "catalog.Producers"): Call(
            json={"name": "HTX Chè", "producer_type": "cooperative", "commune_code": "01273"}
        ),
        ("PATCH", "catalog.ProducerDetail"): Call(json={"name": "HTX Chè Shan"}),
        ("DELETE", "catalog.ProducerDetail"): Call(),
        ("POST", "catalog.Products"): Call(
            json={
                "producer_id": i["producer_id"],
                "name": "Chè Shan tuyết",
                "group_code": "BEVERAGE",
                "subgroup_code": "2.1",
                "unit": "gói",
                "origin_commune_code": "01273",
            }
        ),
        ("PATCH", "catalog.ProductDetail"): Call(json={"name": "Mật ong rừng"}),
        ("DELETE", "catalog.ProductDetail"): Call(),
        ("POST", "catalog.ProductCertifications"): Call(
            json={
                "stars": 4,
                "score": 75,
                "decision_number": "99/QĐ-UBND",
                "decision_date": "2025-09-01",
                "issuing_level": "province",
            }
        ),
        ("PATCH", "catalog.CertificationDetail"): Call(json={"score": 61}),
        ("DELETE", "catalog.CertificationDetail"): Call(),
        ("POST", "catalog.CertificationRevocation"): Call(json={"reason": "Hồ sơ sai"}),
        ("POST", "catalog.ProductEcommerceListings"): Call(
            json={"platform": "tiki", "url": "https://tiki.vn/mat-ong"}
        ),
        ("PATCH", "catalog.EcommerceListingDetail"): Call(
            path={"listing_id": i["ecommerce_listing_id"]}, json={"url": "https://shopee.vn/x"}
        ),
        ("DELETE", "catalog.EcommerceListingDetail"): Call(
            path={"listing_id": i["ecommerce_listing_id"]}
        ),
        ("GET", "catalog.EcommerceListingDetail"): Call(
            path={"listing_id": i["ecommerce_listing_id"]}
        ),
        ("POST", "markets.Markets"): Call(
            json={
                "name": "Chợ phiên Trùng Khánh",
                "commune_code": "01273",
                "kind": "market_4_0",
                "schedule": [{"days": [7], "opens": "06:00", "closes": "11:00"}],
            }
        ),
        ("PATCH", "markets.MarketDetail"): Call(json={"address": "Phố Kim Đồng"}),
        ("DELETE", "markets.MarketDetail"): Call(),
        ("POST", "markets.Stalls"): Call(
            json={"market_id": i["market_id"], "code": "Z9", "name": "Bánh", "category": "drinks"}
        ),
        ("PATCH", "markets.StallDetail"): Call(json={"name": "Quầy mới"}),
        ("DELETE", "markets.StallDetail"): Call(),
        ("POST", "vendors.Vendors"): Call(
            json={
                "display_name": "Quầy cô Mai",
                "bank_bin": "970436",
                "account_number": "0011009999999",
                "account_holder": "LE THI MAI",
            }
        ),
        ("PATCH", "vendors.VendorDetail"): Call(json={"display_name": "Quầy đổi tên"}),
        ("POST", "vendors.Listings"): Call(
            json={
                "stall_id": i["stall_id"],
                "title": "Xôi",
                "unit": "gói",
                "price_vnd": 20_000,
                "stock": 5,
            }
        ),
        ("PATCH", "vendors.ListingDetail"): Call(json={"price_vnd": 12_000}),
        ("DELETE", "vendors.ListingDetail"): Call(),
        ("POST", "sales.Orders"): Call(
            json={
                "stall_id": i["stall_id"],
                "method": "vietqr",
                "lines": [{"listing_id": i["juice_id"], "quantity": 1}],
            }
        ),
        ("POST", "sales.CancelOrder"): Call(),
        ("POST", "sales.Refunds"): Call(
            path={"payment_id": i["paid_payment_id"]}, json={"amount_vnd": 5_000}
        ),
        ("POST", "payments.DecodeVietQR"): Call(json={"payload": "000201"}),
        ("POST", "payments.CardPayment"): Call(json={"payment_method": "pm_card_visa"}),
        ("POST", "payments.BankWebhook"): Call(raw=_simbank_for_pending),
        ("POST", "payments.StripeWebhook"): Call(json={"id": "evt_unsigned"}),
        # Forms posted without their CSRF token: refused, or shown again; never a write.
        ("POST", "web.sign_in"): Call(),
        ("POST", "web.sign_out"): Call(),
        ("POST", "web.checkout"): Call(),
        ("POST", "web.edit_listing"): Call(),
        ("POST", "web.new_listing"): Call(),
        ("GET", "reports.Indicators"): Call(query=REPORT_QUERY),
        ("GET", "reports.IndicatorsCsv"): Call(query=REPORT_QUERY),
        ("GET", "reports.Chart"): Call(query=REPORT_QUERY),
        ("GET", "reports.Document"): Call(query=REPORT_QUERY),
        ("POST", "reports.Figures"): Call(
            json={
                "indicator": "ADULT_ACCOUNT_RATE",
                "place": "04",
                "as_of": "2025-05-12",
                "value": 80,
                "source": "vietnam.vn",
            }
        ),
    }


def _simbank_for_pending(w: World) -> dict[str, Any]:
    import json
    import time

    from payments.bank_formats import sign_simbank
    from tests.settings import TEST_SECRETS

    body = json.dumps(
        {
            "transaction_id": "SIM-MATRIX",
            "account_number": banks.ACCOUNT,
            "amount_vnd": 270_000,
            "memo": w.ids["reference"],
            "occurred_at": "2026-11-20T19:30:00+07:00",
        }
    ).encode()
    signature = sign_simbank(body, TEST_SECRETS["SIMBANK_WEBHOOK_SECRET"], int(time.time()))
    return {
        "data": body,
        "content_type": "application/json",
        "headers": {"X-OCOP-Signature": signature},
    }


# The route table, read once from an app that never touches its (empty) database.
_route_app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "matrix"})
ROUTES = sorted(
    (
        (method, rule.endpoint, rule)
        for rule in _route_app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - IGNORED_METHODS)
    ),
    key=lambda route: (route[1], route[0]),
)
_route_app.extensions["database"].engine.dispose()


def declared_roles(app: Flask, rule: Rule, method: str) -> tuple[str, ...] | None:
    """Return the roles the view declares for `method`, or None when it declares nothing."""
    view = app.view_functions[rule.endpoint]
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view
    return getattr(handler, ACCESS_ATTRIBUTE, None)


def is_allowed(declared: tuple[str, ...] | None, method: str, role: str) -> bool:
    if declared is None:
        assert method == "GET", "undeclared writes are refused by create_app"
        return True
    if ANYONE in declared:
        return True
    return role in ROLE_OF and ROLE_OF[role] in {Role(r) for r in declared}


def build_request(w: World, method: str, endpoint: str, rule: Rule) -> dict[str, Any]:
    """Fill the rule's path from the world, and add the body or query the endpoint needs."""
    call = _bodies(w).get((method, endpoint), Call())
    if method != "GET" and (method, endpoint) not in _bodies(w):
        pytest.fail(f"the access matrix has no request for {method} {rule.rule} ({endpoint})")
    values = {}
    for name in rule.arguments:
        if name in call.path:
            values[name] = call.path[name]
        elif name in w.ids:
            values[name] = w.ids[name]
        elif name in ANY_CHOICES:
            values[name] = ANY_CHOICES[name]
        else:
            pytest.fail(f"the access matrix cannot fill <{name}> of {rule.rule} ({endpoint})")
    path = rule.rule
    for name, value in values.items():
        path = path.replace(rule_placeholder(rule, name), str(value))
    request: dict[str, Any] = {"path": path, "method": method, "query_string": call.query}
    if call.raw is not None:
        request.update(call.raw(w))
    elif call.json is not None:
        request["json"] = call.json
    return request


def rule_placeholder(rule: Rule, name: str) -> str:
    for converter, argument in _placeholders(rule.rule):
        if argument == name:
            return converter
    raise KeyError(name)


def _placeholders(pattern: str) -> Iterator[tuple[str, str]]:
    import re

    for match in re.finditer(r"<(?:[^:<>]+:)?([^<>]+)>", pattern):
        yield match.group(0), match.group(1)


def fingerprint(connection: Connection) -> str:
    """Hash every row of every table but the reference places."""
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        if table.name in STATIC_TABLES:
            continue
        rows = connection.execute(text(f'SELECT * FROM "{table.name}"')).all()
        digest.update(table.name.encode())
        digest.update(repr(sorted(map(repr, rows))).encode())
    return digest.hexdigest()


MATRIX_SIZE = len(ROUTES) * len(ROLES)


@pytest.mark.parametrize(
    ("method", "endpoint", "rule"),
    ROUTES,
    ids=[f"{method} {rule.rule}" for method, _, rule in ROUTES],
)
def test_every_role_gets_what_the_endpoint_declares(
    app: Flask, connection: Connection, world: World, method: str, endpoint: str, rule: Rule
) -> None:
    declared = declared_roles(app, rule, method)
    is_page = endpoint.startswith("web.")
    problems = []
    for role in ROLES:
        request = build_request(world, method, endpoint, rule)
        client = app.test_client()
        headers = dict(request.pop("headers", {}))
        if is_page and role in ROLE_OF:
            _sign_in_page(app, client, world, role)
        else:
            headers.update(world.headers[role])
        savepoint = connection.begin_nested()
        try:
            before = fingerprint(connection)
            response = client.open(headers=headers, **request)
            response.close()
            after = fingerprint(connection)
        finally:
            savepoint.rollback()
        allowed = is_allowed(declared, method, role)
        refused_owner = role in NOT_OWNERS.get((method, endpoint), set())
        cell = f"{role}: {method} {request['path']} -> {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{cell}: server error")
        elif not allowed:
            expected = _refusals(is_page, role)
            if response.status_code not in expected:
                problems.append(f"{cell}: expected one of {sorted(expected)}")
            if before != after:
                problems.append(f"{cell}: refused, yet the database changed")
        elif refused_owner:
            if response.status_code not in {403, 404} | ({400} if is_page else set()):
                problems.append(f"{cell}: not the owner, expected 403 or 404")
            if before != after:
                problems.append(f"{cell}: not the owner, yet the database changed")
        elif response.status_code in (401, 403):
            problems.append(f"{cell}: allowed, yet refused")
    assert not problems, "\n".join(problems)


def _refusals(is_page: bool, role: str) -> set[int]:
    if role in ROLE_OF:
        return {403} | ({400} if is_page else set())  # pages: a forged form fails CSRF first
    return {401} | ({302, 303, 400} if is_page else set())  # pages send strangers to sign in


def _sign_in_page(app: Flask, client: Any, world: World, role: str) -> None:
    """Sign the role in to the pages the way the sign-in form does: a signed session cookie."""
    from market.accounts.services import authenticate_token

    token = world.headers[role]["Authorization"].removeprefix("Bearer ")
    with app.app_context():
        from market.core.extensions import db

        principal = authenticate_token(db.session, token)
    assert principal is not None
    with client.session_transaction() as page_session:
        page_session["user_id"] = principal.user_id
        page_session["role"] = principal.role.value


def test_the_matrix_covers_the_whole_route_table(app: Flask) -> None:
    live = {
        (method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    assert live == {(method, endpoint) for method, endpoint, _ in ROUTES}
    assert MATRIX_SIZE >= 6 * 60


def test_a_known_payment_is_reachable_only_through_its_unguessable_id(
    client: Any, world: World, session: Session
) -> None:
    """The shopper's receipt link is the only handle: sequential ids find nothing."""
    intent_id = session.scalar(
        select(PaymentIntent.id).where(PaymentIntent.public_id == world.ids["payment_id"])
    )
    assert client.get(f"/api/v1/payments/{intent_id}").status_code == 404
    assert client.get(f"/api/v1/payments/{world.ids['payment_id']}").status_code == 200
