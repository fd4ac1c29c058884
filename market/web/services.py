"""Reads the pages need and the API does not offer: a vendor's stalls, a stall's day, where to buy.

Writes go through the domain services (vendors, markets, sales); these only read.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from market.core.clock import VIETNAM
from market.core.principals import Principal
from market.markets.models import Market, Stall
from market.sales.models import Order
from market.vendors.models import Listing, Vendor
from market.vendors.services import ListingFilter, ListingSort, listing_query
from payments.models import LedgerEntry, PaymentMethod


def vendor_of(session: Session, principal: Principal) -> Vendor | None:
    """Return the signed-in account's vendor profile, if it has one."""
    return session.scalar(select(Vendor).where(Vendor.user_id == principal.user_id))


def vendor_stalls(session: Session, vendor: Vendor) -> list[Stall]:
    """Return a vendor's open stalls with their market, by market then code."""
    query = (
        select(Stall)
        .options(joinedload(Stall.market))
        .where(Stall.vendor_id == vendor.id, Stall.closed_at.is_(None))
        .order_by(Stall.market_id, Stall.code, Stall.id)
    )
    return list(session.scalars(query))


def stall_listings(session: Session, stall_id: int) -> list[Listing]:
    """Return the listings on sale at a stall, by title."""
    query = listing_query(ListingFilter(stall_id=stall_id, sort=ListingSort.TITLE))
    return list(session.scalars(query))


def product_listings(session: Session, product_id: int) -> list[Listing]:
    """Return where a catalog product is on sale: live listings at open stalls, cheapest first."""
    query = (
        select(Listing)
        .join(Listing.stall)
        .options(joinedload(Listing.stall).joinedload(Stall.market))
        .where(
            Listing.product_id == product_id,
            Listing.archived_at.is_(None),
            Stall.closed_at.is_(None),
        )
        .order_by(Listing.price_vnd, Listing.id)
    )
    return list(session.scalars(query))


def market_stalls(session: Session, market_id: int) -> list[Stall]:
    """Return a market's open stalls with their live listings, by code."""
    query = (
        select(Stall)
        .where(Stall.market_id == market_id, Stall.closed_at.is_(None))
        .order_by(Stall.code, Stall.id)
    )
    return list(session.scalars(query))


def market_listings(session: Session, market_id: int) -> dict[int, list[Listing]]:
    """Return the live listings of a market's open stalls, by stall id, each by title."""
    found: dict[int, list[Listing]] = {}
    query = listing_query(ListingFilter(market_id=market_id, sort=ListingSort.TITLE))
    for listing in session.scalars(query):
        found.setdefault(listing.stall_id, []).append(listing)
    return found


def markets(session: Session) -> list[Market]:
    """Return every market by name."""
    return list(session.scalars(select(Market).order_by(Market.name, Market.id)))


@dataclass(frozen=True)
class MethodTotal:
    method: PaymentMethod
    count: int
    amount_vnd: int


@dataclass(frozen=True)
class DaySales:
    """A stall's orders of one Vietnam local day, and the money received that day by method."""

    day: date
    orders: list[Order]
    totals: list[MethodTotal]

    @property
    def received_vnd(self) -> int:
        return sum(total.amount_vnd for total in self.totals)


def day_sales(session: Session, stall_id: int, day: date) -> DaySales:
    """Return a stall's orders placed on `day` (local) and the ledger's takings of that day."""
    start = datetime.combine(day, time(), VIETNAM)
    orders = session.scalars(
        select(Order)
        .options(selectinload(Order.lines), selectinload(Order.payment))
        .where(
            Order.stall_id == stall_id,
            Order.created_at >= start,
            Order.created_at < start + timedelta(days=1),
        )
        .order_by(Order.created_at.desc(), Order.id.desc())
    ).all()
    rows = session.execute(
        select(
            LedgerEntry.method,
            func.count(func.distinct(LedgerEntry.intent_id)),
            func.sum(LedgerEntry.amount_vnd),
        )
        .where(LedgerEntry.stall_id == stall_id, LedgerEntry.local_date == day)
        .group_by(LedgerEntry.method)
        .order_by(LedgerEntry.method)
    ).all()
    totals = [
        MethodTotal(PaymentMethod(method), count, int(amount)) for method, count, amount in rows
    ]
    return DaySales(day, list(orders), totals)
