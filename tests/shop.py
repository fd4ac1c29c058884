"""A stall ready to sell, shared by the checkout and card tests."""

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.vendors.models import Listing
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.factories.markets import ListingFactory, StallFactory
from tests.market.test_markets import vendor_headers
from tests.payments import banks


@dataclass
class Shop:
    headers: dict[str, str]
    stall_id: int
    juice: Listing  # 10,000 dong a cup
    honey: Listing  # 250,000 dong a bottle, an OCOP product


@pytest.fixture
def shop(session: Session) -> Shop:
    """A vendor's stall selling juice at 10,000 dong and OCOP honey at 250,000."""
    headers, vendor = vendor_headers(session)
    vendor.account_number = banks.ACCOUNT
    stall = StallFactory(vendor=vendor)
    honey_product = ProductFactory(name="Mật ong bạc hà")
    CertificationFactory(product_id=honey_product.id, stars=4, score=80)
    juice = ListingFactory(stall=stall, title="Nước mía", price_vnd=10_000, stock=50)
    honey = ListingFactory(
        stall=stall,
        title="Mật ong bạc hà",
        product_id=honey_product.id,
        price_vnd=250_000,
        stock=3,
    )
    session.flush()
    return Shop(headers, stall.id, juice, honey)


def checkout(client: FlaskClient, shop: Shop, method: str = "vietqr", **extra: Any) -> TestResponse:
    """Order two juices and one honey (270,000 dong) unless other lines are given."""
    lines = extra.pop(
        "lines",
        [
            {"listing_id": shop.juice.id, "quantity": 2},
            {"listing_id": shop.honey.id, "quantity": 1},
        ],
    )
    return client.post(
        "/api/v1/orders",
        json={"stall_id": shop.stall_id, "lines": lines, "method": method},
        **extra,
    )
