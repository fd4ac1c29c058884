"""A simulated run goes through the real checkout, bank notifications, cards and expiry."""

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.markets.models import Market, Stall
from market.reports.model import Grain, Place
from market.reports.services import ReportQuery, build_report
from market.simulator.behaviour import Adoption, Event, Outcome, Sale, play
from market.simulator.scenario import load_scenario
from market.simulator.store import Player, store_world
from market.simulator.world import build_world
from payments.gateways.fake import FakeCardGateway
from payments.models import LedgerEntry, LedgerKind, PaymentIntent, PaymentMethod, PaymentStatus

FRIDAY = date(2026, 11, 6)  # the scenario's launch campaign


def run(session: Session, sales: int, seed: int = 7) -> list[Sale]:
    """Store Kim Đồng and play its first `sales` sales from the campaign Friday."""
    scenario = load_scenario("cao-bang-kim-dong")
    world = build_world(scenario, seed)
    player = Player(session, store_world(session, world, FRIDAY), FakeCardGateway())
    played: list[Sale] = []

    def first_sales(events: Iterator[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, Sale):
                if len(played) == sales:
                    return
                played.append(event)
            yield event

    player.play(first_sales(play(world, scenario, FRIDAY, 2, seed)))
    player.finish()
    return played


def test_every_paid_sale_reaches_the_ledger_once_and_failed_codes_expire(
    session: Session,
) -> None:
    sales = run(session, 150)

    paid = Counter(sale.method for sale in sales if sale.outcome != Outcome.FAILED)
    ledger = Counter(
        PaymentMethod(method)
        for (method,) in session.execute(
            select(LedgerEntry.method).where(LedgerEntry.kind == LedgerKind.PAYMENT)
        )
    )
    assert ledger == paid
    failed = sum(sale.outcome == Outcome.FAILED for sale in sales)
    expired = session.scalar(
        select(func.count()).where(PaymentIntent.status == PaymentStatus.EXPIRED)
    )
    assert expired == failed
    assert (
        session.scalar(select(func.count()).where(PaymentIntent.status == PaymentStatus.PENDING))
        == 0
    )


def test_the_reports_show_what_the_simulator_played(session: Session) -> None:
    sales = run(session, 150)
    commune = Place("commune", "01273", "Phường Thục Phán")

    report = build_report(
        session, ReportQuery([commune], FRIDAY, FRIDAY + timedelta(days=1), Grain.DAY)
    )

    counted: Counter[str] = Counter()
    for value in report.values:
        if value.indicator == "TRANSACTIONS":
            counted[value.dimensions["method"]] += value.value or 0
    played = Counter(s.method.value for s in sales if s.outcome != Outcome.FAILED)
    assert counted == played
    assert {value.source.value for value in report.values} == {"simulated"}
    market = session.scalar(select(Market))
    assert market.simulated


def test_vendors_show_their_qr_from_the_day_they_adopt(session: Session) -> None:
    scenario = load_scenario("cao-bang-kim-dong")
    world = build_world(scenario, 7)
    stored = store_world(session, world, FRIDAY)
    adoptions = [
        event for event in play(world, scenario, FRIDAY, 1, 7) if isinstance(event, Adoption)
    ]

    Player(session, stored, FakeCardGateway()).play(adoptions)

    showing = session.scalar(select(func.count()).where(Stall.qr_since.is_not(None)))
    assert showing == len({(a.vendor, a.market) for a in adoptions}) > 0
    assert session.scalar(select(func.count()).select_from(Stall)) == len(world.stalls)


@pytest.mark.slow
def test_a_run_through_a_launch_campaign_raises_the_cashless_share(session: Session) -> None:
    scenario = load_scenario("cao-bang-kim-dong")
    world = build_world(scenario, 7)
    start = date(2026, 10, 16)  # three weekends before the campaign, two after
    player = Player(session, store_world(session, world, start), FakeCardGateway())
    player.play(play(world, scenario, start, 35, 7))
    player.finish()
    commune = Place("commune", "01273", "Phường Thục Phán")

    report = build_report(session, ReportQuery([commune], start, date(2026, 11, 19), Grain.WEEK))

    shares = [
        value.value
        for value in report.values
        if value.indicator == "NONCASH_SHARE_COUNT" and value.value is not None
    ]
    before, after = shares[:3], shares[-2:]
    assert sum(after) / len(after) > sum(before) / len(before) + 2
