"""Factories for markets, vendors, stalls and listings."""

import factory

from market.core.db import utcnow
from market.core.principals import Role
from market.markets.models import Market, MarketKind, Stall, StallCategory
from market.vendors.models import Listing, Vendor
from tests.factories import current_session
from tests.factories.accounts import UserFactory

WEEKEND_NIGHTS = [{"days": [5, 6], "opens": "19:00", "closes": "23:00"}]


class MarketFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Market
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    name = factory.Sequence(lambda n: f"Phố đi bộ Kim Đồng {n}")
    search_name = factory.LazyAttribute(lambda market: market.name.lower())
    commune_code = "01273"  # Phường Thục Phán, Cao Bằng
    kind = MarketKind.WALKING_STREET
    market_class = 3
    schedule = WEEKEND_NIGHTS


class VendorFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Vendor
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    user = factory.SubFactory(UserFactory, role=Role.VENDOR)
    display_name = factory.Sequence(lambda n: f"Quầy bà Hoa {n}")
    bank_bin = "970436"  # Vietcombank
    account_number = factory.Sequence(lambda n: f"{1012345670 + n}")
    account_holder = "NONG THI HOA"


class StallFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Stall
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    market = factory.SubFactory(MarketFactory)
    vendor = factory.SubFactory(VendorFactory)
    code = factory.Sequence(lambda n: f"A{n}")
    name = "Nước mía sầu riêng"
    category = StallCategory.DRINKS
    qr_since = factory.LazyFunction(utcnow)


class ListingFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Listing
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    stall = factory.SubFactory(StallFactory)
    vendor_id = factory.SelfAttribute("stall.vendor_id")
    title = "Nước mía"
    search_title = "nuoc mia"
    unit = "cốc"
    price_vnd = 10_000
    stock = 100
