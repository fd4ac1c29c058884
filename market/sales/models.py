"""Orders and their lines, with prices frozen at checkout."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.db import Base, UTCDateTime, utcnow
from payments.models import PaymentIntent


class Order(Base):
    """What a shopper buys at one stall in one checkout."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("total_vnd > 0", name="total_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # The stall's vendor and market, copied without foreign keys (migration 0009 says why); the
    # stall itself without one too, since stalls are closed, never deleted (0013).
    vendor_id: Mapped[int]
    stall_id: Mapped[int] = mapped_column(index=True)
    market_id: Mapped[int]
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stock_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["OrderLine"]] = relationship(
        primaryjoin="Order.id == foreign(OrderLine.order_id)",
        back_populates="order",
        order_by="OrderLine.id",
    )
    payment: Mapped[PaymentIntent] = relationship(
        primaryjoin="Order.id == foreign(PaymentIntent.order_id)", uselist=False, viewonly=True
    )


class OrderLine(Base):
    """One listing in an order, at the price it had when the shopper checked out."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_vnd > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)  # no foreign key: migration 0011
    listing_id: Mapped[int]  # no foreign key (listings are archived, never deleted: 0013)
    product_id: Mapped[int | None]  # the listing's, copied without a foreign key (0009)
    title: Mapped[str] = mapped_column(String(160))
    unit: Mapped[str] = mapped_column(String(30))
    unit_price_vnd: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]
    line_total_vnd: Mapped[int] = mapped_column(BigInteger)
    is_ocop: Mapped[bool] = mapped_column(Boolean)

    order: Mapped[Order] = relationship(
        primaryjoin="Order.id == foreign(OrderLine.order_id)", back_populates="lines"
    )
