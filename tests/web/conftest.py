"""Page fixtures: two vendors with stalls, an official, and the test app with CSRF on."""

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from market.core.principals import Role
from market.markets.models import Stall
from tests.factories.markets import ListingFactory, StallFactory
from tests.shop import Shop
from tests.web.pages import account, give_login

VENDOR_A = "0912000101"
VENDOR_B = "0912000102"
OFFICIAL = "0912000103"


@pytest.fixture(autouse=True)
def csrf_on(app: Flask) -> None:
    """The pages are tested as served: with CSRF protection (Flask-WTF's default) on."""
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


@dataclass
class Vendors:
    a: Shop
    b_stall_id: int
    b_listing_id: int


@pytest.fixture
def vendors(session: Session, shop: Shop) -> Vendors:
    """Vendor A (the shop: juice and OCOP honey) and vendor B with a stall of its own."""
    give_login(session, session.get_one(Stall, shop.stall_id).vendor.user, VENDOR_A)
    other = StallFactory()
    give_login(session, other.vendor.user, VENDOR_B)
    listing = ListingFactory(stall=other, title="Bánh cuốn", price_vnd=30_000)
    session.flush()
    return Vendors(shop, other.id, listing.id)


@pytest.fixture
def official(session: Session) -> str:
    account(session, Role.OFFICIAL, OFFICIAL)
    return OFFICIAL
