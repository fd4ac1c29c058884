"""Recording payments once, with their roll-ups, when deliveries repeat or codes collide."""

from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.core.clock import VIETNAM
from market.core.principals import Principal, Role
from market.markets.models import Stall
from market.sales.services import LineRequest, place_order
from payments import intents
from payments.bank_formats import BankTransfer
from payments.models import (
    ActiveStallMonth,
    BankNotification,
    EventKind,
    LedgerEntry,
    MarketMonthSales,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    PaymentStatus,
    StallDaySales,
)
from payments.transfers import settle_transfer
from tests.market.test_app import assert_error
from tests.payments import banks
from tests.shop import Shop, checkout


def pay_at(session: Session, shop: Shop, when: datetime, by_bank: bool = False) -> PaymentIntent:
    """Sell a juice by QR at `when` and record its transfer at the same moment.

    `by_bank`: as the bank's notification does (on PostgreSQL, in one statement).
    """
    stall = session.get_one(Stall, shop.stall_id)
    order = place_order(
        session,
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.juice.id, 1)],
        method=PaymentMethod.VIETQR,
        actor=Principal(stall.vendor.user_id, Role.VENDOR),
        now=when,
    )
    intent = order.payment
    if not by_bank:
        intents.record(session, intent, EventKind.MONEY_RECEIVED, 10_000, "test", None, when)
        return intent
    transfer = BankTransfer(
        provider="simbank",
        transaction_id=f"T{intent.reference}",
        account_number=intent.payee_account,
        amount_vnd=10_000,
        memo=f"{intent.reference} nuoc mia",
        occurred_at=when,
        incoming=True,
    )
    settled = settle_transfer(session, transfer)
    assert settled.intent is intent and intent.status == PaymentStatus.PAID
    return intent


@pytest.mark.parametrize("by_bank", [False, True], ids=["recorded", "by_bank"])
def test_a_stall_is_active_once_a_month_however_often_it_is_paid(
    session: Session, shop: Shop, by_bank: bool
) -> None:
    for day, hour in [(3, 9), (3, 17), (4, 8), (28, 12), (28, 13)]:
        pay_at(session, shop, datetime(2026, 5, day, hour, tzinfo=VIETNAM), by_bank)
    pay_at(session, shop, datetime(2026, 6, 1, 7, tzinfo=VIETNAM), by_bank)

    days = session.execute(
        select(StallDaySales.local_date, StallDaySales.payments, StallDaySales.qr_issued)
        .where(StallDaySales.stall_id == shop.stall_id)
        .order_by(StallDaySales.local_date)
    ).all()
    assert [(str(day), payments, issued) for day, payments, issued in days] == [
        ("2026-05-03", 2, 2),
        ("2026-05-04", 1, 1),
        ("2026-05-28", 2, 2),
        ("2026-06-01", 1, 1),
    ]
    marks = session.scalars(
        select(ActiveStallMonth.month).where(ActiveStallMonth.stall_id == shop.stall_id)
    ).all()
    assert sorted(str(month) for month in marks) == ["2026-05-01", "2026-06-01"]
    months = session.execute(
        select(MarketMonthSales.month, MarketMonthSales.active_stalls, MarketMonthSales.payments)
        .join(Stall, Stall.market_id == MarketMonthSales.market_id)
        .where(Stall.id == shop.stall_id)
        .order_by(MarketMonthSales.month)
    ).all()
    assert [(str(month), active, paid) for month, active, paid in months] == [
        ("2026-05-01", 1, 5),
        ("2026-06-01", 1, 1),
    ]


def test_a_drawn_reference_that_exists_is_drawn_again(
    client: FlaskClient, session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = checkout(client, shop).get_json()["payment"]["reference"]
    drawn = iter([first, first, "OCFRESH001"])
    monkeypatch.setattr(intents, "new_reference", lambda now: next(drawn))
    second = checkout(client, shop)
    assert second.status_code == 201
    payment = second.get_json()["payment"]
    assert payment["reference"] == "OCFRESH001"
    assert "OCFRESH001" in payment["qr_payload"]
    assert session.scalar(select(func.count()).select_from(PaymentIntent)) == 2
    # The clash wrote nothing twice: one created event per intent, two codes issued.
    created = select(func.count()).where(PaymentEvent.kind == EventKind.CREATED)
    assert session.scalar(created) == 2
    assert session.scalar(select(func.sum(StallDaySales.qr_issued))) == 2
    assert session.scalar(select(func.sum(MarketMonthSales.qr_issued))) == 2


def test_a_retried_full_refund_answers_as_the_first_did(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop, "cash", headers=shop.headers).get_json()["payment"]
    path = f"/api/v1/payments/{payment['id']}/refunds"
    key = {**shop.headers, "Idempotency-Key": "refund-all-0001"}
    first = client.post(path, json={"amount_vnd": 270_000}, headers=key)
    retried = client.post(path, json={"amount_vnd": 270_000}, headers=key)
    assert first.status_code == retried.status_code == 201
    assert retried.get_json()["status"] == "refunded"
    fresh = client.post(path, json={"amount_vnd": 270_000}, headers=shop.headers)
    assert assert_error(fresh, 422)["reason"] == "refund_too_large"
    amounts = session.scalars(select(LedgerEntry.amount_vnd).order_by(LedgerEntry.id)).all()
    assert amounts == [270_000, -270_000]


@pytest.mark.parametrize(
    ("memo", "account", "status"),
    [("no code here", banks.ACCOUNT, "unmatched"), (None, "0099887766", "wrong_account")],
)
def test_a_notification_that_pays_nothing_is_kept_once(
    client: FlaskClient, session: Session, shop: Shop, memo: str | None, account: str, status: str
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    memo = memo or f"{payment['reference']} thanh toan"
    sent = [
        banks.simbank(client, memo, 270_000, account=account, transaction_id="KEPT-1")
        for _ in range(2)
    ]
    assert [response.get_json()["status"] for response in sent] == [status, "duplicate"]
    stored = session.scalars(select(BankNotification)).all()
    assert [row.match for row in stored] == [status]
    intent = session.scalar(select(PaymentIntent).where(PaymentIntent.public_id == payment["id"]))
    assert intent is not None and intent.status == PaymentStatus.PENDING
    assert stored[0].intent_id == (intent.id if status == "wrong_account" else None)
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
