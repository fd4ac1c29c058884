"""Vendors and listings."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Product
from market.accounts.models import User
from market.core.db import Base, UTCDateTime, utcnow
from market.markets.models import Stall


class Vendor(Base):
    """A stallholder's business, owned by one vendor account, paid into one bank account."""

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(15))
    bank_bin: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(19))
    account_holder: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    stalls: Mapped[list[Stall]] = relationship(back_populates="vendor")


class Listing(Base):
    """A vendor's offer at one of its stalls: an OCOP product or any other goods, at a price."""

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("price_vnd > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # Covers every listing filter but the text and stock, so page counts read no table; its
        # leading stall_id serves the foreign key. A lone price index misled SQLite's planner
        # (no STAT4: it took 50,000-200,000 dong for a narrow range) into 127 ms counts. No
        # index holds stock, which every sale changes (migration 0012 says why).
        Index(
            "ix_listings_stall_live",
            "stall_id",
            "archived_at",
            "product_id",
            "price_vnd",
            "search_title",
        ),
        # Listings of a province by group, stars or price, counted without reading the table
        # (SQLite takes this index for any province filter: it must cover them all).
        Index(
            "ix_listings_province_filter",
            "province_code",
            "product_group",
            "product_stars",
            "archived_at",
            "stall_id",
            "price_vnd",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    stall_id: Mapped[int] = mapped_column(ForeignKey("stalls.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    search_title: Mapped[str] = mapped_column(String(160))
    unit: Mapped[str] = mapped_column(String(30))
    price_vnd: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Copies for the filters, written by database triggers (migration 0008), never by Python:
    # the stall's province, the product's group and its current certification's stars while
    # not revoked. Null for goods that are not catalog products.
    province_code: Mapped[str | None] = mapped_column(String(2))
    product_group: Mapped[str | None] = mapped_column(String(16))
    product_stars: Mapped[int | None] = mapped_column(SmallInteger)

    stall: Mapped[Stall] = relationship()
    vendor: Mapped[Vendor] = relationship()
    product: Mapped[Product | None] = relationship()
