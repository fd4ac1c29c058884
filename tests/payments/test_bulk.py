"""The bulk ledger applies checkout's and the ledger's rules in memory, then writes them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from market.core.errors import Conflict, DomainError
from market.core.principals import Principal
from market.markets.models import Stall
from market.sales.bulk import BulkCheckout
from market.sales.models import Order
from market.sales.services import LineRequest
from market.vendors.models import Listing, Vendor
from payments.bank_formats import BankTransfer
from payments.bulk import References
from payments.models import (
    BankNotification,
    EventKind,
    LedgerEntry,
    MatchStatus,
    PaymentIntent,
    PaymentMethod,
    PaymentStatus,
    StallDaySales,
)
from tests.payments import banks
from tests.shop import Shop

NOON = datetime(2026, 11, 6, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam
REFERENCE = re.compile(r"OC[0-9A-HJKMNP-TV-Z]{8}")


def checkout(session: Session, shop: Shop) -> tuple[BulkCheckout, Principal]:
    vendor = session.scalar(
        select(Vendor).join(Stall, Stall.vendor_id == Vendor.id).where(Stall.id == shop.stall_id)
    )
    assert vendor is not None
    return BulkCheckout(session, [shop.stall_id], "test/7/2026-11-06"), Principal(
        vendor.user_id, vendor.user.role
    )


def test_refused_orders_leave_nothing_behind(session: Session, shop: Shop) -> None:
    bulk, vendor = checkout(session, shop)

    with pytest.raises(Conflict) as short:
        bulk.place_order(
            stall_id=shop.stall_id,
            lines=[LineRequest(shop.juice.id, 1), LineRequest(shop.honey.id, 4)],
            method=PaymentMethod.VIETQR,
            actor=vendor,
            now=NOON,
        )
    with pytest.raises(DomainError) as card:
        bulk.place_order(
            stall_id=shop.stall_id,
            lines=[LineRequest(shop.juice.id, 1)],
            method=PaymentMethod.CARD,
            actor=vendor,
            now=NOON,
        )
    bulk.flush()

    assert short.value.field == "lines.1.quantity"
    assert card.value.field == "method"
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert session.scalar(select(Listing.stock).where(Listing.id == shop.juice.id)) == 50


def test_a_transfer_after_expiry_is_a_late_payment_and_the_stock_came_back(
    session: Session, shop: Shop
) -> None:
    bulk, vendor = checkout(session, shop)
    order = bulk.place_order(
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.juice.id, 2)],
        method=PaymentMethod.VIETQR,
        actor=vendor,
        now=NOON,
    )
    bulk.flush()  # the intent is written pending; what follows updates it
    assert bulk.expire_unpaid(NOON + timedelta(minutes=16)) == 1
    reference = order.payment.reference
    match = bulk.ledger.settle_transfer(
        BankTransfer(
            provider="simbank",
            transaction_id="T1",
            account_number=banks.ACCOUNT,
            amount_vnd=20_000,
            memo=f"{reference} chuyen tien",
            occurred_at=NOON + timedelta(minutes=40),
            incoming=True,
        ),
        order.payment,
    )
    bulk.flush()

    intent = session.scalar(select(PaymentIntent).where(PaymentIntent.reference == reference))
    assert match == MatchStatus.MATCHED and intent is not None
    assert intent.status == PaymentStatus.PAID
    assert intent.attention is not None and "after the payment window" in intent.attention
    assert [(e.kind, e.amount_vnd) for e in intent.events] == [
        (EventKind.CREATED, 0),
        (EventKind.EXPIRED, 0),
        (EventKind.MONEY_RECEIVED, 20_000),
    ]
    ledger = session.scalars(select(LedgerEntry)).one()
    assert (ledger.amount_vnd, ledger.is_late) == (20_000, True)
    day = session.scalars(select(StallDaySales)).one()
    assert (day.qr_issued, day.qr_expired, day.payments, day.late_payments) == (1, 1, 1, 1)
    assert session.scalar(select(Listing.stock).where(Listing.id == shop.juice.id)) == 50
    assert session.scalar(select(Order.stock_released_at)) is not None
    assert session.scalar(select(BankNotification.match)) == MatchStatus.MATCHED


def test_a_paid_intent_cannot_expire(session: Session, shop: Shop) -> None:
    bulk, vendor = checkout(session, shop)
    order = bulk.place_order(
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.juice.id, 1)],
        method=PaymentMethod.CASH,
        actor=vendor,
        now=NOON,
    )

    with pytest.raises(Conflict):
        bulk.ledger.record(order.payment, EventKind.EXPIRED, 0, "system", None, NOON)
    assert order.payment.status == PaymentStatus.PAID


def test_references_belong_to_the_run_and_skip_those_already_taken(
    session: Session, shop: Shop
) -> None:
    first = [References(session, "run/a").reference(n) for n in range(3)]
    drawn = References(session, "run/a")
    again = [drawn.reference(n) for n in range(3)]
    other = References(session, "run/b").reference(0)
    bulk, vendor = checkout(session, shop)
    order = bulk.place_order(
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.juice.id, 1)],
        method=PaymentMethod.VIETQR,
        actor=vendor,
        now=NOON,
    )
    bulk.flush()
    session.execute(
        update(PaymentIntent).where(PaymentIntent.id == order.payment.id).values(reference=first[0])
    )

    redrawn = References(session, "run/a").reference(0)

    assert first == again and len(set(first)) == 3 and other not in first
    assert all(REFERENCE.fullmatch(reference) for reference in [*first, other, redrawn])
    assert redrawn != first[0]
