"""Fast mode's bulk writer writes what the one-sale-at-a-time services write."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.markets.models import Market, Stall
from market.reports.model import Grain, Place
from market.reports.services import ReportQuery, build_report
from market.sales.bulk import fingerprint
from market.sales.models import Order, OrderLine
from market.sales.services import LineRequest, _fingerprint
from market.simulator.behaviour import play
from market.simulator.scenario import load_scenario
from market.simulator.store import BulkPlayer, Player, Stored, Tally, run_key, store_world
from market.simulator.world import build_world
from market.vendors.models import Listing
from payments.gateways.fake import FakeCardGateway
from payments.models import (
    TALLY_COLUMNS,
    ActiveStallMonth,
    BankNotification,
    LedgerEntry,
    MarketMonthSales,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    StallDaySales,
)

START = date(2026, 10, 30)  # a week before the launch campaign, so QR arrives mid-run
DAYS = 16
COMMUNE = Place("commune", "01273", "Phường Thục Phán")


def play_both_ways(
    session: Session, scenario_path: Path, chunk: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Play the same run one sale at a time and in bulk, each in a savepoint rolled back after."""
    results = []
    for bulk in (False, True):
        savepoint = session.begin_nested()
        scenario = load_scenario(scenario_path)
        world = build_world(scenario, 7)
        stored = store_world(session, world, START)
        gateway = FakeCardGateway()
        if bulk:
            player: Player = BulkPlayer(
                session, stored, gateway, run_key(world, START), chunk, commit=session.flush
            )
        else:
            player = Player(session, stored, gateway)
        player.play(play(world, scenario, START, DAYS, 7))
        player.finish()
        session.flush()
        results.append(written(session, stored, player.tally))
        savepoint.rollback()
    return results[0], results[1]


def written(session: Session, stored: Stored, tally: Tally) -> dict[str, Any]:
    """Return what a run wrote, keyed by the world's keys instead of database ids."""
    stalls = {id_: key for key, id_ in stored.stalls.items()}
    listings = {id_: key for key, id_ in stored.listings.items()}
    sums = [func.count(), func.sum(LedgerEntry.amount_vnd)]
    return {
        "tally": tally,
        "ledger": sorted(
            session.execute(
                select(
                    LedgerEntry.method,
                    LedgerEntry.kind,
                    LedgerEntry.is_late,
                    LedgerEntry.is_ocop,
                    LedgerEntry.local_date,
                    *sums,
                ).group_by(
                    LedgerEntry.method,
                    LedgerEntry.kind,
                    LedgerEntry.is_late,
                    LedgerEntry.is_ocop,
                    LedgerEntry.local_date,
                )
            ).all()
        ),
        "intents": sorted(
            session.execute(
                select(
                    PaymentIntent.method,
                    PaymentIntent.status,
                    PaymentIntent.attention.is_(None),
                    func.count(),
                    func.sum(PaymentIntent.received_vnd),
                ).group_by(
                    PaymentIntent.method, PaymentIntent.status, PaymentIntent.attention.is_(None)
                )
            ).all()
        ),
        "events": sorted(
            session.execute(
                select(PaymentEvent.kind, PaymentEvent.source, func.count()).group_by(
                    PaymentEvent.kind, PaymentEvent.source
                )
            ).all()
        ),
        "notifications": session.execute(
            select(BankNotification.match, func.count(), func.sum(BankNotification.amount_vnd))
            .group_by(BankNotification.match)
            .order_by(BankNotification.match)
        ).all(),
        "orders": session.execute(
            select(
                func.count(),
                func.sum(Order.total_vnd),
                func.count(Order.stock_released_at),
            )
        ).one(),
        "stock": {
            listings[id_]: stock
            for id_, stock in session.execute(select(Listing.id, Listing.stock)).all()
        },
        "stall_days": {
            (row.local_date, stalls[row.stall_id], row.method): [
                getattr(row, name) for name in TALLY_COLUMNS
            ]
            for row in session.scalars(select(StallDaySales))
        },
        # Summed over the shards: which shard a stall adds to depends on its id.
        "market_months": {
            (month, method): list(sums)
            for month, method, *sums in session.execute(
                select(
                    MarketMonthSales.month,
                    MarketMonthSales.method,
                    *[
                        func.sum(getattr(MarketMonthSales, name))
                        for name in ("active_stalls", *TALLY_COLUMNS)
                    ],
                ).group_by(MarketMonthSales.month, MarketMonthSales.method)
            )
        },
        "active_stalls": session.scalar(select(func.count()).select_from(ActiveStallMonth)),
        "report": build_report(
            session,
            ReportQuery([COMMUNE], START, START + timedelta(days=DAYS - 1), Grain.DAY),
        ).values,
        "references_astray": references_astray(session),
    }


def references_astray(session: Session) -> dict[str, int]:
    """Count rows whose references the database no longer checks (migrations 0009, 0011, 0013):
    links to a missing parent, and copied places that are not their parent's."""
    intent, ledger = PaymentIntent, LedgerEntry

    def orphans(child: Any, parent: Any, link: Any) -> Any:
        return (
            select(func.count())
            .select_from(child)
            .outerjoin(parent, parent.id == link)
            .where(link.is_not(None), parent.id.is_(None))
        )

    checks = {
        "orders without stall": orphans(Order, Stall, Order.stall_id),
        "lines without listing": orphans(OrderLine, Listing, OrderLine.listing_id),
        "lines of another stall's listing": select(func.count())
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Listing, Listing.id == OrderLine.listing_id)
        .where(Listing.stall_id != Order.stall_id),
        "lines without order": orphans(OrderLine, Order, OrderLine.order_id),
        "intents without order": orphans(intent, Order, intent.order_id),
        "events without intent": orphans(PaymentEvent, intent, PaymentEvent.intent_id),
        "notifications without intent": orphans(
            BankNotification, intent, BankNotification.intent_id
        ),
        "ledger rows without event": orphans(ledger, PaymentEvent, ledger.event_id),
        "orders placed astray": select(func.count())
        .select_from(Order)
        .join(Stall, Stall.id == Order.stall_id)
        .where((Order.vendor_id != Stall.vendor_id) | (Order.market_id != Stall.market_id)),
        "lines of another product": select(func.count())
        .select_from(OrderLine)
        .join(Listing, Listing.id == OrderLine.listing_id)
        .where(OrderLine.product_id.is_distinct_from(Listing.product_id)),
        "intents placed astray": select(func.count())
        .select_from(intent)
        .join(Order, Order.id == intent.order_id)
        .join(Stall, Stall.id == Order.stall_id)
        .join(Market, Market.id == Stall.market_id)
        .where(
            (intent.vendor_id != Order.vendor_id)
            | (intent.stall_id != Order.stall_id)
            | (intent.market_id != Order.market_id)
            | (intent.commune_code != Market.commune_code)
        ),
        "ledger rows placed astray": select(func.count())
        .select_from(ledger)
        .join(PaymentEvent, PaymentEvent.id == ledger.event_id)
        .join(intent, intent.id == PaymentEvent.intent_id)
        .where(
            (ledger.intent_id != intent.id)
            | (ledger.vendor_id != intent.vendor_id)
            | (ledger.stall_id != intent.stall_id)
            | (ledger.market_id != intent.market_id)
            | (ledger.commune_code != intent.commune_code)
        ),
    }
    return {name: session.scalar(query) or 0 for name, query in checks.items()}


@pytest.mark.parametrize("chunk", [37, 20_000])
def test_bulk_writes_the_same_ledger_roll_ups_and_report_as_one_sale_at_a_time(
    session: Session, small_scenario: Path, chunk: int
) -> None:
    one_by_one, bulk = play_both_ways(session, small_scenario, chunk)

    assert bulk["tally"].sales > 500
    assert bulk["tally"].transfers > 50 and bulk["tally"].expired > 0
    for part in one_by_one:
        assert bulk[part] == one_by_one[part], part
    assert set(bulk["references_astray"].values()) == {0}


def test_bulk_orders_carry_the_fingerprint_checkout_computes() -> None:
    lines = [LineRequest(12, 3), LineRequest(7, 1)]
    for method in PaymentMethod:
        assert fingerprint(4, lines, method) == _fingerprint(4, lines, method)
