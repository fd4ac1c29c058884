"""Payment intents, their append-only events, bank notifications, and the ledger of settled money.

Cross-package links are foreign keys by table name (orders, vendors, stalls, markets, communes):
payments imports nothing from market but its shared kernel.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.db import Base, UTCDateTime, enum_column, utcnow


class PaymentMethod(StrEnum):
    """How a shopper pays.

    vietqr: a bank transfer to the vendor's account by scanning a dynamic VietQR.
    card: a card payment through the card gateway (Stripe).
    cash: cash handed to the vendor, who records it.
    """

    VIETQR = "vietqr"
    CARD = "card"
    CASH = "cash"


class PaymentStatus(StrEnum):
    """Where a payment intent stands; `apply_event` in payments.intents owns every transition.

    pending: waiting for money; nothing received yet.
    paid: exactly the amount was received.
    underpaid: less than the amount was received; the vendor is asked to settle the rest.
    overpaid: more than the amount was received; the vendor is asked to return the excess.
    expired: the payment window closed with nothing received.
    cancelled: withdrawn before any money arrived.
    partially_refunded: some of the money received was returned.
    refunded: all of the money received was returned.
    """

    PENDING = "pending"
    PAID = "paid"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


OPEN_STATUSES = frozenset({PaymentStatus.PENDING})
"""Statuses in which the intent still waits for its money and may expire or be cancelled."""

CLOSED_WITHOUT_MONEY = frozenset({PaymentStatus.EXPIRED, PaymentStatus.CANCELLED})
"""Statuses reached with nothing received; money arriving after them is a late payment."""


class EventKind(StrEnum):
    """What happened to an intent; money events carry a positive amount.

    created: the intent was opened.
    money_received: a transfer, card charge or cash payment arrived.
    card_declined: a card attempt was declined; nothing moved.
    refunded: money was returned to the shopper.
    expired: the payment window closed.
    cancelled: the intent was withdrawn.
    """

    CREATED = "created"
    MONEY_RECEIVED = "money_received"
    CARD_DECLINED = "card_declined"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PaymentIntent(Base):
    """The request to pay one order, and what has happened to it since."""

    __tablename__ = "payment_intents"
    __table_args__ = (
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint("received_vnd >= 0", name="received_not_negative"),
        CheckConstraint(
            "refunded_vnd >= 0 AND refunded_vnd <= received_vnd", name="refund_bounded"
        ),
        Index("ix_payment_intents_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # Links to rows written with it carry no foreign key (migration 0011 says why).
    order_id: Mapped[int] = mapped_column(unique=True)
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    received_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    payee_bin: Mapped[str] = mapped_column(String(6))
    payee_account: Mapped[str] = mapped_column(String(19))
    qr_payload: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attention: Mapped[str | None] = mapped_column(String(200))
    # Where the sale happened, frozen for the ledger and the reports.
    # Copies of the order's, without foreign keys of their own (migration 0009 says why).
    vendor_id: Mapped[int]
    stall_id: Mapped[int]
    market_id: Mapped[int]
    commune_code: Mapped[str] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))
    is_ocop: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    events: Mapped[list["PaymentEvent"]] = relationship(
        primaryjoin="PaymentIntent.id == foreign(PaymentEvent.intent_id)",
        back_populates="intent",
        order_by="PaymentEvent.id",
    )


class PaymentEvent(Base):
    """Something that happened to an intent. Never updated or deleted."""

    __tablename__ = "payment_events"
    __table_args__ = (CheckConstraint("amount_vnd >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, "payment_event_kind"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[str] = mapped_column(String(32))
    # Exactly-once: the provider's own id for what it told us, e.g. "sepay:92704".
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    intent: Mapped[PaymentIntent] = relationship(
        primaryjoin="PaymentIntent.id == foreign(PaymentEvent.intent_id)", back_populates="events"
    )


class MatchStatus(StrEnum):
    """What became of a bank notification.

    matched: it paid an intent (recorded as a money_received event).
    unmatched: no intent has the reference in its memo; kept for the vendor to reconcile.
    wrong_account: the reference is ours but the money went to another account.
    outgoing: money leaving the account; nothing to do.
    """

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    WRONG_ACCOUNT = "wrong_account"
    OUTGOING = "outgoing"


class BankNotification(Base):
    """Every transfer a bank-notification service told us about, once per provider id."""

    __tablename__ = "bank_notifications"
    __table_args__ = (UniqueConstraint("provider", "transaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str] = mapped_column(String(64))
    account_number: Mapped[str] = mapped_column(String(32))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    match: Mapped[MatchStatus] = mapped_column(enum_column(MatchStatus, "bank_match"))
    intent_id: Mapped[int | None] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerKind(StrEnum):
    """payment: money in (positive). refund: money returned (negative)."""

    PAYMENT = "payment"
    REFUND = "refund"


class LedgerEntry(Base):
    """One settled movement of money, written in the transaction that settled it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_local_date_vendor", "local_date", "vendor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(unique=True)
    # The event's intent and the intent's place, copied without foreign keys (migration 0009).
    intent_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[LedgerKind] = mapped_column(enum_column(LedgerKind, "ledger_kind"))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    vendor_id: Mapped[int]
    stall_id: Mapped[int]
    market_id: Mapped[int] = mapped_column(index=True)
    commune_code: Mapped[str] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    is_ocop: Mapped[bool] = mapped_column(Boolean)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    local_date: Mapped[date] = mapped_column(Date)


class SalesTally:
    """The counters every sales roll-up keeps; reports add them up instead of scanning the ledger.

    payments / paid_vnd: money received (each bank transfer, card charge or cash sale is one).
    refunds / refunded_vnd: money returned, as a positive sum.
    late_payments: money received after the payment window had closed.
    ocop_*: the same for orders that contain an OCOP product.
    qr_issued / qr_expired: dynamic VietQR codes shown, and those that expired unpaid, both on the
    day the code was issued, so their ratio is the QR failure rate of that day's codes.
    """

    payments: Mapped[int] = mapped_column(default=0)
    paid_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    refunded_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    late_payments: Mapped[int] = mapped_column(default=0)
    ocop_payments: Mapped[int] = mapped_column(default=0)
    ocop_paid_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    ocop_refunded_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    qr_issued: Mapped[int] = mapped_column(default=0)
    qr_expired: Mapped[int] = mapped_column(default=0)


TALLY_COLUMNS = (
    "payments",
    "paid_vnd",
    "refunds",
    "refunded_vnd",
    "late_payments",
    "ocop_payments",
    "ocop_paid_vnd",
    "ocop_refunded_vnd",
    "qr_issued",
    "qr_expired",
)

# 16 rows per market, month and method: stalls of a market rarely share one, and a province's
# year still reads few rows.
MARKET_MONTH_SHARDS = 16


def market_month_shard(stall_id: Any) -> Any:
    """Return the shard of MarketMonthSales a stall's sales add to (of an id, or an id column)."""
    return stall_id % MARKET_MONTH_SHARDS


class StallDaySales(SalesTally, Base):
    """Sales per local day, stall and method: the fine roll-up, for days, weeks and one vendor."""

    __tablename__ = "sales_stall_days"
    __table_args__ = (
        Index("ix_sales_stall_days_province_date", "province_code", "local_date"),
        Index("ix_sales_stall_days_commune_date", "commune_code", "local_date"),
        Index("ix_sales_stall_days_market_date", "market_id", "local_date"),
        Index("ix_sales_stall_days_vendor_date", "vendor_id", "local_date"),
    )

    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    stall_id: Mapped[int] = mapped_column(ForeignKey("stalls.id"), primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(
        enum_column(PaymentMethod, "payment_method"), primary_key=True
    )
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id"))
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    province_code: Mapped[str] = mapped_column(String(2))


class MarketMonthSales(SalesTally, Base):
    """Sales per local month, market and method: the coarse roll-up a province's year reads.

    Each is kept in up to MARKET_MONTH_SHARDS rows, one per shard of the market's stalls, which
    readers add up: with one row, every checkout and payment at a market queued for its lock.
    active_stalls counts the stalls that received money by this method at least once in the month.
    """

    __tablename__ = "sales_market_months"
    __table_args__ = (
        Index("ix_sales_market_months_province_month", "province_code", "month"),
        Index("ix_sales_market_months_commune_month", "commune_code", "month"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first local day
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id"), primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(
        enum_column(PaymentMethod, "payment_method"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # see market_month_shard
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"))
    province_code: Mapped[str] = mapped_column(String(2))
    active_stalls: Mapped[int] = mapped_column(default=0)


class ActiveStallMonth(Base):
    """That a stall received money by a method in a month; its first insert counts it active."""

    __tablename__ = "active_stall_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    stall_id: Mapped[int] = mapped_column(ForeignKey("stalls.id"), primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(
        enum_column(PaymentMethod, "payment_method"), primary_key=True
    )
