"""Every mapped model, imported once so that Alembic and the app see the whole schema."""

from catalog.models import Certification, EcommerceListing, Producer, Product
from market.accounts.models import ApiToken, User
from market.markets.models import Market, Stall
from market.places.models import Commune, Province
from market.vendors.models import Listing, Vendor

__all__ = [
    "Certification",
    "EcommerceListing",
    "Producer",
    "Product",
    "ApiToken",
    "Commune",
    "Listing",
    "Market",
    "Province",
    "Stall",
    "User",
    "Vendor",
]
