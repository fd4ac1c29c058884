"""Databases of a test module's own, committed to for real, and a stall to sell from in them.

Races, waiting screens, browsers and crashed servers need committed rows that other connections
and processes see, so they cannot use the rolled-back test session.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from market.accounts.services import create_user
from market.core.principals import Role
from market.core.text import fold
from market.markets.models import Market, MarketKind, Stall, StallCategory
from market.vendors.models import Listing, Vendor
from tests.payments import banks


@contextmanager
def scratch_database(database_url: str, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL of an empty database beside `database_url`'s, dropped afterwards.

    On SQLite a file in `folder`; on PostgreSQL a database created on the same server.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / f'{label}.sqlite3'}"
        return
    name = f"ocop_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class StallForSale:
    """The ids of a stall and of its listings, in the order they were asked for."""

    stall_id: int
    listing_ids: list[int]


def add_stall(
    session: Session, name: str, goods: list[tuple[str, int, int]], vendor_name: str = "Quầy thử"
) -> StallForSale:
    """Add a vendor with a stall at a night market selling `goods` (title, price, stock)."""
    user = create_user(session, vendor_name, Role.VENDOR)
    vendor = Vendor(
        user_id=user.id,
        display_name=vendor_name,
        bank_bin="970436",
        account_number=banks.ACCOUNT,
        account_holder="NONG THI HOA",
    )
    market = Market(
        name="Chợ đêm",
        search_name="cho dem",
        commune_code="01273",
        kind=MarketKind.WALKING_STREET,
        schedule=[],
    )
    stall = Stall(
        market=market,
        vendor=vendor,
        code=uuid.uuid4().hex[:8],
        name=name,
        category=StallCategory.OCOP_PRODUCTS,
    )
    listings = [
        Listing(
            vendor=vendor,
            stall=stall,
            title=title,
            search_title=fold(title),
            unit="chai",
            price_vnd=price,
            stock=stock,
        )
        for title, price, stock in goods
    ]
    session.add_all([vendor, market, stall, *listings])
    session.flush()
    return StallForSale(stall.id, [listing.id for listing in listings])
