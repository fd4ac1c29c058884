"""Every mapped model, imported once so that Alembic and the app see the whole schema."""

from catalog.models import Certification, EcommerceListing, Producer, Product
from market.accounts.models import ApiToken, User
from market.core.audit import AuditEvent
from market.markets.models import Market, Stall
from market.places.models import Commune, Province
from market.reports.models import ReportedFigure
from market.sales.models import Order, OrderLine
from market.vendors.models import Listing, Vendor
from payments.models import (
    ActiveStallMonth,
    BankNotification,
    LedgerEntry,
    MarketMonthSales,
    PaymentEvent,
    PaymentIntent,
    StallDaySales,
)

__all__ = [
    "AuditEvent",
    "ActiveStallMonth",
    "MarketMonthSales",
    "ReportedFigure",
    "StallDaySales",
    "BankNotification",
    "LedgerEntry",
    "Order",
    "OrderLine",
    "PaymentEvent",
    "PaymentIntent",
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
