"""Forced races with real concurrent connections: money is counted once, stock never goes below 0.

Each test commits for real, in a scratch database of its own (PostgreSQL when the suite runs on
it, where row locks and unique indexes do the work; SQLite otherwise).
"""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from market import migrate
from market.markets.models import Stall
from market.places.services import load_places
from market.vendors.models import Listing
from payments.models import LedgerEntry, PaymentIntent, StallDaySales
from tests.payments import banks
from tests.scratch import add_stall, scratch_database
from tests.settings import TEST_SECRETS

# Concurrency levels: each race runs once per level. PostgreSQL, where the row locks and unique
# indexes do the work, also runs 32 at once with the slow tests; SQLite queues its writers.
ON_POSTGRESQL = os.environ.get("OCOP_TEST_DATABASE_URL", "").startswith("postgresql")
LEVELS = [2, 8, pytest.param(32, marks=pytest.mark.slow)] if ON_POSTGRESQL else [2, 8]


@pytest.fixture(params=LEVELS, ids=lambda level: f"{level}-at-once")
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture(scope="module")
def scratch_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own, dropped afterwards."""
    with scratch_database(database_url, tmp_path_factory.mktemp("races"), "races") as url:
        yield url


@pytest.fixture(scope="module")
def race_app(scratch_url: str) -> Iterator[Flask]:
    from market.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": scratch_url, **TEST_SECRETS})
    engine = app.extensions["database"].engine
    migrate.upgrade(engine)
    with app.extensions["database"].sessionmaker.begin() as session:
        load_places(session)
    yield app
    engine.dispose()


@pytest.fixture
def stall(race_app: Flask) -> dict[str, int]:
    """A committed stall selling one listing with one item left."""
    with race_app.extensions["database"].sessionmaker.begin() as session:
        made = add_stall(session, "Mật ong", [("Mật ong", 250_000, 1)], vendor_name="Quầy đua")
    return {"stall_id": made.stall_id, "listing_id": made.listing_ids[0]}


def at_once(app: Flask, workers: int, call: Callable[[Any, int], Any]) -> list[Any]:
    """Run `call(client, i)` in `workers` threads released together; return their results."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def work(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[i] = call(client, i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def order(client: Any, stall: dict[str, int], key: str | None = None) -> Any:
    return client.post(
        "/api/v1/orders",
        json={
            "stall_id": stall["stall_id"],
            "method": "vietqr",
            "lines": [{"listing_id": stall["listing_id"], "quantity": 1}],
        },
        headers={"Idempotency-Key": key} if key else {},
    )


def read(app: Flask, query: Any) -> Any:
    with Session(app.extensions["database"].engine) as session:
        return session.scalar(query)


def test_one_notification_delivered_by_many_workers_counts_once(
    race_app: Flask, stall: dict[str, int], workers: int
) -> None:
    created = order(race_app.test_client(), stall).get_json()["payment"]
    transaction = f"SIM-{uuid.uuid4().hex}"
    responses = at_once(
        race_app,
        workers,
        lambda client, _: banks.simbank(
            client, created["reference"], 250_000, transaction_id=transaction
        ),
    )
    statuses = sorted(response.get_json()["status"] for response in responses)
    assert statuses == ["duplicate"] * (workers - 1) + ["matched"], statuses
    intent_id = read(
        race_app, select(PaymentIntent.id).where(PaymentIntent.public_id == created["id"])
    )
    assert read(race_app, select(func.count()).where(LedgerEntry.intent_id == intent_id)) == 1
    assert (
        read(race_app, select(PaymentIntent.received_vnd).where(PaymentIntent.id == intent_id))
        == 250_000
    )
    assert_totals_match_events(race_app, intent_id)


def test_the_same_idempotency_key_posted_at_once_makes_one_order(
    race_app: Flask, stall: dict[str, int], workers: int
) -> None:
    key = f"race-{uuid.uuid4().hex}"
    responses = at_once(race_app, workers, lambda client, _: order(client, stall, key))
    assert {response.status_code for response in responses} == {201}
    assert len({response.get_json()["id"] for response in responses}) == 1
    assert read(race_app, select(Listing.stock).where(Listing.id == stall["listing_id"])) == 0
    # The requests that lost the key wrote nothing: one payment opened, one QR code counted.
    opened = select(func.count()).where(PaymentIntent.stall_id == stall["stall_id"])
    assert read(race_app, opened) == 1
    issued = select(func.sum(StallDaySales.qr_issued)).where(
        StallDaySales.stall_id == stall["stall_id"]
    )
    assert read(race_app, issued) == 1


def test_many_shoppers_buying_the_last_item_leave_one_winner(
    race_app: Flask, stall: dict[str, int], workers: int
) -> None:
    responses = at_once(
        race_app,
        workers,
        lambda client, i: order(client, stall, f"shopper-{i}-{uuid.uuid4().hex}"),
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * (workers - 1), codes
    assert read(race_app, select(Listing.stock).where(Listing.id == stall["listing_id"])) == 0


def test_a_refund_racing_a_late_payment_never_refunds_more_than_was_paid(
    race_app: Flask, stall: dict[str, int], workers: int
) -> None:
    from market.accounts.services import issue_token
    from market.vendors.models import Vendor as VendorModel

    client = race_app.test_client()
    created = order(client, stall).get_json()["payment"]
    with race_app.extensions["database"].sessionmaker.begin() as session:
        vendor = session.scalar(
            select(VendorModel).join(Stall).where(Stall.id == stall["stall_id"])
        )
        token = issue_token(session, vendor.user).token
    headers = {"Authorization": f"Bearer {token}"}
    banks.simbank(client, created["reference"], 100_000)

    def pay_or_refund(client: Any, i: int) -> Any:
        if i % 2:
            return banks.simbank(
                client, created["reference"], 150_000, transaction_id=f"late-{i}-{uuid.uuid4().hex}"
            )
        return client.post(
            f"/api/v1/payments/{created['id']}/refunds",
            json={"amount_vnd": 100_000},
            headers=headers,
        )

    at_once(race_app, workers, pay_or_refund)
    intent = read(race_app, select(PaymentIntent).where(PaymentIntent.public_id == created["id"]))
    ledger_total = read(
        race_app, select(func.sum(LedgerEntry.amount_vnd)).where(LedgerEntry.intent_id == intent.id)
    )
    assert 0 <= intent.refunded_vnd <= intent.received_vnd
    assert ledger_total == intent.received_vnd - intent.refunded_vnd
    assert_totals_match_events(race_app, intent.id)


def assert_totals_match_events(app: Flask, intent_id: int) -> None:
    """The intent's received and refunded totals are the sums of its events, nothing else."""
    from payments.models import EventKind, PaymentEvent

    def total(kind: EventKind) -> int:
        return read(
            app,
            select(func.coalesce(func.sum(PaymentEvent.amount_vnd), 0)).where(
                PaymentEvent.intent_id == intent_id, PaymentEvent.kind == kind
            ),
        )

    intent = read(app, select(PaymentIntent).where(PaymentIntent.id == intent_id))
    assert intent.received_vnd == total(EventKind.MONEY_RECEIVED)
    assert intent.refunded_vnd == total(EventKind.REFUNDED)


@pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL's server ends the connections")
def test_after_the_database_ends_every_connection_one_request_fails_and_the_next_reconnect(
    race_app: Flask,
) -> None:
    with race_app.extensions["database"].sessionmaker.begin() as session:
        made = add_stall(session, "Nước mía", [("Nước mía", 10_000, 100)], "Quầy nối lại")
    shop = {"stall_id": made.stall_id, "listing_id": made.listing_ids[0]}
    # Four connections in the pool, and the stall's rows remembered: checkout's first statement
    # then runs on the driver's cursor.
    warm = at_once(race_app, 4, lambda client, _: order(client, shop))
    assert {response.status_code for response in warm} == {201}
    end_other_connections(race_app.extensions["database"].engine.url)
    client = race_app.test_client()
    statuses = [order(client, shop).status_code for _ in range(5)]
    assert statuses == [503, 201, 201, 201, 201], statuses


def end_other_connections(url: Any) -> None:
    """End every connection to the database but this one, as a restart of the server does."""
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"SELECT pg_terminate_backend(pid) {others}"))
            deadline = time.monotonic() + 10
            while connection.execute(text(f"SELECT count(*) {others}")).scalar():
                assert time.monotonic() < deadline, "the connections did not end"
                time.sleep(0.05)
    finally:
        admin.dispose()
