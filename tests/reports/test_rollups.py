"""The roll-ups agree exactly with a scan of the ledger, whatever happened to the payments."""

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.core.clock import VIETNAM
from market.core.principals import Principal, Role
from market.markets.models import Stall
from market.places.models import Commune
from market.reports.model import Grain, Place
from market.reports.services import COUNTRY, ReportQuery, build_report
from market.sales.services import LineRequest, expire_unpaid, place_order
from payments import intents
from payments.bank_formats import BankTransfer
from payments.models import (
    ActiveStallMonth,
    EventKind,
    MarketMonthSales,
    PaymentIntent,
    PaymentMethod,
    PaymentStatus,
    StallDaySales,
)
from payments.rollups import ARRAYS_FROM, Change, roll_up
from payments.rollups import Place as RollUpPlace
from payments.transfers import settle_transfer
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.factories.markets import ListingFactory, MarketFactory, StallFactory

START = date(2025, 1, 1)


def play_sales(session: Session, count: int, seed: int = 7) -> list[Stall]:
    """Play `count` sales over fifteen months at four stalls in two provinces, every outcome."""
    rng = random.Random(seed)
    markets = [MarketFactory(commune_code="01273"), MarketFactory(commune_code="00004")]
    stalls = [StallFactory(market=markets[i % 2]) for i in range(4)]
    honey = ProductFactory(name="Mật ong")
    CertificationFactory(product_id=honey.id, decision_date=date(2024, 6, 1))
    listings = {
        stall.id: [
            ListingFactory(stall=stall, price_vnd=15_000, stock=10_000),
            ListingFactory(stall=stall, product_id=honey.id, price_vnd=250_000, stock=10_000),
        ]
        for stall in stalls
    }
    moments = sorted(
        datetime(2025, 1, 1, tzinfo=VIETNAM) + timedelta(minutes=rng.randrange(460 * 24 * 60))
        for _ in range(count)
    )
    for now in moments:
        stall = rng.choice(stalls)
        method = rng.choice(list(PaymentMethod))
        vendor = Principal(stall.vendor.user_id, Role.VENDOR)
        lines = [LineRequest(listing.id, rng.randint(1, 3)) for listing in listings[stall.id]]
        order = place_order(
            session,
            stall_id=stall.id,
            lines=lines[: rng.randint(1, 2)],
            method=method,
            actor=vendor,
            now=now,
        )
        intent = order.payment
        if method != PaymentMethod.CASH:
            outcome = rng.choice(["paid", "paid", "short", "over", "expired", "late"])
            if outcome in ("expired", "late"):
                expire_unpaid(session, now + timedelta(minutes=16))
            if outcome != "expired":
                amount = {"short": -5_000, "over": 5_000}.get(outcome, 0) + intent.amount_vnd
                delay = timedelta(hours=30 if outcome == "late" else 0, minutes=2)
                pay(session, intent, amount, now + delay)
        if intent.received_vnd and rng.random() < 0.15:
            refund = rng.choice([intent.received_vnd, 5_000])
            later = now + timedelta(days=rng.randint(0, 40))
            intents.record(session, intent, EventKind.REFUNDED, refund, "test", None, later)
    expire_unpaid(session, moments[-1] + timedelta(hours=1))
    return stalls


def pay(session: Session, intent: PaymentIntent, amount: int, when: datetime) -> None:
    """Record a payment; a QR one as its bank's notification does (PostgreSQL: one statement)."""
    if intent.method != PaymentMethod.VIETQR:
        intents.record(session, intent, EventKind.MONEY_RECEIVED, amount, "test", None, when)
        return
    transfer = BankTransfer(
        provider="simbank",
        transaction_id=f"T{intent.reference}",
        account_number=intent.payee_account,
        amount_vnd=amount,
        memo=f"{intent.reference} mua hang",
        occurred_at=when,
        incoming=True,
    )
    assert settle_transfer(session, transfer).intent is intent


@pytest.mark.parametrize(
    ("grain", "start", "end"),
    [
        (Grain.MONTH, START, date(2026, 3, 31)),  # whole months: the monthly roll-up
        (Grain.QUARTER, START, date(2026, 3, 31)),
        (Grain.YEAR, START, date(2026, 3, 31)),
        (Grain.WEEK, date(2025, 2, 10), date(2025, 5, 17)),  # the daily roll-up
        (Grain.MONTH, date(2025, 2, 15), date(2025, 9, 14)),  # months cut by the range
        (Grain.DAY, date(2025, 3, 1), date(2025, 3, 31)),
    ],
)
def test_every_report_from_roll_ups_equals_the_ledger_scan(
    session: Session, grain: Grain, start: date, end: date
) -> None:
    stalls = play_sales(session, 240)
    vendor = stalls[0].vendor
    places = [
        COUNTRY,
        Place("province", "04", "Cao Bằng"),
        Place("commune", "00004", "a commune"),
        Place("market", str(stalls[1].market_id), "a market"),
        Place("vendor", str(vendor.id), vendor.display_name),
    ]
    query = ReportQuery(places, start, end, grain)

    from_roll_ups = build_report(session, query)
    from_ledger = build_report(session, query, from_ledger=True)

    assert from_roll_ups == from_ledger
    counted = [v for v in from_roll_ups.values if v.indicator == "TRANSACTIONS" and v.value]
    assert counted, "the played sales show up in the report"


def test_refunds_late_and_partial_payments_all_reach_the_roll_ups(session: Session) -> None:
    play_sales(session, 240)
    statuses = {status for (status,) in session.query(intents.PaymentIntent.status).distinct()}
    assert {
        PaymentStatus.UNDERPAID,
        PaymentStatus.OVERPAID,
        PaymentStatus.EXPIRED,
        PaymentStatus.REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
    } <= statuses
    report = build_report(session, ReportQuery([COUNTRY], START, date(2026, 3, 31), Grain.YEAR))
    failures = [v for v in report.values if v.indicator == "QR_FAILURE_RATE"]
    assert all(v.numerator for v in failures), "expired codes are counted"


def test_many_roll_up_rows_at_once_add_what_they_add_one_by_one(session: Session) -> None:
    """A simulator chunk's roll-ups (arrays on PostgreSQL) count as the same changes one by one."""
    market = MarketFactory(commune_code="01273")
    stalls = [StallFactory(market=market) for _ in range(3)]
    province = session.get_one(Commune, "01273").province_code
    days = [date(2026, 10, 10) + timedelta(days=offset) for offset in range(40)]  # two months
    changes = [
        Change(
            RollUpPlace(stall.id, stall.vendor_id, market.id, "01273", province),
            day,
            PaymentMethod.VIETQR,
            {"payments": 1, "paid_vnd": 1_000 * (index + 1), "qr_issued": 2},
        )
        for index, (stall, day) in enumerate((stall, day) for stall in stalls for day in days)
    ]
    assert len(changes) >= ARRAYS_FROM  # all at once takes the many-rows form

    roll_up(session, changes)  # every row new
    roll_up(session, changes)  # every row there already: each adds
    for change in changes[:3]:  # and one at a time, as bank webhooks add them
        roll_up(session, [change])

    days_stored = {
        (row.stall_id, row.local_date): (row.payments, row.paid_vnd, row.qr_issued)
        for row in session.scalars(select(StallDaySales))
    }
    times = [3] * 3 + [2] * (len(changes) - 3)  # how often each change was rolled up
    expected = {
        (change.place.stall_id, change.local_date): tuple(
            count * change.counts[name] for name in ("payments", "paid_vnd", "qr_issued")
        )
        for count, change in zip(times, changes, strict=True)
    }
    assert days_stored == expected
    months = {
        row.month: row
        for row in session.execute(
            select(
                MarketMonthSales.month,
                func.sum(MarketMonthSales.payments).label("payments"),
                func.sum(MarketMonthSales.paid_vnd).label("paid_vnd"),
                func.sum(MarketMonthSales.active_stalls).label("active_stalls"),
            ).group_by(MarketMonthSales.month)
        )
    }
    assert sorted(months) == [date(2026, 10, 1), date(2026, 11, 1)]
    for month, row in months.items():
        in_month = [key for key in expected if key[1].replace(day=1) == month]
        assert row.payments == sum(expected[key][0] for key in in_month)
        assert row.paid_vnd == sum(expected[key][1] for key in in_month)
        assert row.active_stalls == len(stalls)  # each stall counted once a month
    assert session.scalar(select(func.count()).select_from(ActiveStallMonth)) == 2 * len(stalls)
