"""Live mode drives a real server over HTTP: checkout, bank notifications, cards, adoption."""

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.markets.models import Market, Stall
from market.simulator.behaviour import Adoption, Sale, play
from market.simulator.cli import simulate_command
from market.simulator.live import Api, LivePlayer, Pace, create_world, send_transfer
from market.simulator.scenario import load_scenario
from market.simulator.world import build_world
from market.vendors.models import Vendor
from payments.bank_formats import BankTransfer
from payments.models import LedgerEntry, PaymentIntent, PaymentMethod, PaymentStatus
from tests.clock import FakeClock
from tests.settings import TEST_SECRETS

FRIDAY = date(2026, 11, 6)  # the scenario's launch campaign
SECRET = TEST_SECRETS["SIMBANK_WEBHOOK_SECRET"]


@pytest.fixture
def api(live_server: str) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


def ledger(session: Session) -> Counter[PaymentMethod]:
    return Counter(
        PaymentMethod(method) for (method,) in session.execute(select(LedgerEntry.method))
    )


def test_a_live_night_reaches_the_ledger_with_its_methods(
    session: Session, api: Api, admin_token: str, small_scenario: Path
) -> None:
    scenario = load_scenario(small_scenario)
    world = build_world(scenario, 7)
    created = create_world(api, admin_token, world)
    events = list(play(world, scenario, FRIDAY, 1, 7))
    player = LivePlayer(api, created, SECRET, Pace(0))

    player.play(events)
    player.finish()

    sales = [event for event in events if isinstance(event, Sale)]
    paid = Counter(sale.method for sale in sales if sale.received_at is not None)
    assert set(paid) == set(PaymentMethod)  # the night has cash, VietQR and card sales
    assert ledger(session) == paid
    assert player.tally.sales == len(sales)
    adopted = {(a.vendor, a.market) for a in events if isinstance(a, Adoption)}
    showing = session.scalar(select(func.count()).where(Stall.qr_since.is_not(None)))
    assert showing == len(adopted) > 0


def test_a_repeated_bank_notification_changes_nothing(
    session: Session, api: Api, admin_token: str, small_scenario: Path
) -> None:
    scenario = load_scenario(small_scenario)
    world = build_world(scenario, 7)
    created = create_world(api, admin_token, world)
    qr_sales = (
        event
        for event in play(world, scenario, FRIDAY, 1, 7)
        if not isinstance(event, Sale) or event.method == PaymentMethod.VIETQR
    )
    player = LivePlayer(api, created, SECRET, Pace(0))
    player.play(islice(qr_sales, 30))
    player.finish()
    before = ledger(session)
    intent = session.scalar(
        select(PaymentIntent).where(PaymentIntent.status == PaymentStatus.PAID).limit(1)
    )
    vendor = session.get_one(Vendor, intent.vendor_id)

    repeat = BankTransfer(
        provider="simbank",
        transaction_id=f"SIM{intent.reference}",
        account_number=vendor.account_number,
        amount_vnd=intent.amount_vnd,
        memo=f"{intent.reference} chuyen tien",
        occurred_at=datetime.now(UTC),
        incoming=True,
    )

    assert send_transfer(api, SECRET, repeat) == "duplicate"
    assert ledger(session) == before
    assert before[PaymentMethod.VIETQR] > 0


def test_the_live_command_creates_the_world_flags_it_simulated_and_exports_it(
    app: Flask, session: Session, live_server: str, small_scenario: Path, tmp_path: Path
) -> None:
    arguments = ["--mode", "live", "--url", live_server, "--speed", "0"]
    arguments += ["--scenario", str(small_scenario), "--days", "1", "--start", str(FRIDAY)]

    result = app.test_cli_runner().invoke(simulate_command, [*arguments, "--export", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "Calibration against domain.md" in result.output
    markets = session.scalars(select(Market)).all()
    assert [market.simulated for market in markets] == [True]
    with open(tmp_path / "ledger.csv", encoding="utf-8") as file:
        exported = Counter(PaymentMethod(row["method"]) for row in csv.DictReader(file))
    assert ledger(session) == exported


def test_an_unreachable_server_is_refused_before_the_world_is_created(
    app: Flask, session: Session, small_scenario: Path
) -> None:
    result = app.test_cli_runner().invoke(
        simulate_command,
        ["--mode", "live", "--url", "http://127.0.0.1:9", "--scenario", str(small_scenario)],
    )

    assert result.exit_code == 2
    assert "Cannot use the server at http://127.0.0.1:9" in result.output
    assert session.scalar(select(func.count()).select_from(Market)) == 0


def test_the_pace_divides_simulated_time_by_the_speed_and_skips_idle_hours() -> None:
    clock = FakeClock()
    pace = Pace(60, clock, clock.sleep)
    evening = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)

    for moment in (
        evening,
        evening + timedelta(minutes=1),
        evening + timedelta(minutes=3),
        evening + timedelta(hours=20),  # the next night: no waiting through the day
        evening + timedelta(hours=20, seconds=30),
    ):
        pace.wait(moment)

    assert clock.slept == [1.0, 2.0, 0.5]


def test_speed_zero_never_waits() -> None:
    clock = FakeClock()
    pace = Pace(0, clock, clock.sleep)

    pace.wait(datetime(2026, 11, 6, tzinfo=UTC))
    pace.wait(datetime(2026, 11, 6, 0, 30, tzinfo=UTC))

    assert clock.slept == []
