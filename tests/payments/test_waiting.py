"""A vendor's screen waiting for a payment: woken by the commit that changes it, in any process.

The waits run against a scratch database of this module's own, committed for real (PostgreSQL
when the suite runs on it, SQLite otherwise), through the HTTP API. Boards are given a 30 s
fallback look, so an answer within seconds can only come from the announcement.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask

from market import migrate
from market.app import create_app
from market.places.services import load_places
from payments.changes import ChangeBoard, attach_board
from tests.payments import banks
from tests.scratch import add_stall, scratch_database
from tests.settings import TEST_SECRETS

REDIS_URL = os.environ.get("OCOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SLOW_FALLBACK = 30.0  # seconds: longer than any wait below, so only a wake-up answers early
WOKEN_WITHIN = 3.0  # seconds from the bank's notification to the waiting screen's answer


def redis_reachable() -> bool:
    address = urlparse(REDIS_URL)
    try:
        with socket.create_connection((address.hostname, address.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not redis_reachable(), reason=f"Redis is not reachable at {REDIS_URL} (OCOP_TEST_REDIS_URL)"
)


@pytest.fixture(scope="module")
def scratch_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this module's own, with the places, dropped afterwards."""
    with scratch_database(database_url, tmp_path_factory.mktemp("waiting"), "waiting") as url:
        yield migrated(url)


def migrated(url: str) -> str:
    app = server(url)
    migrate.upgrade(app.extensions["database"].engine)
    with app.extensions["database"].sessionmaker.begin() as session:
        load_places(session)
    app.extensions["database"].engine.dispose()
    return url


def server(url: str) -> Flask:
    """One server process's app: its own engine, pool and change board."""
    return create_app({"TESTING": True, "DATABASE_URL": url, **TEST_SECRETS})


@pytest.fixture
def apps(scratch_url: str) -> Iterator[list[Flask]]:
    """Two apps on the scratch database, as two gunicorn workers would be; boards closed after."""
    made = [server(scratch_url), server(scratch_url)]
    yield made
    for app in made:
        attach_board(app.extensions["database"].engine, None).close()
        app.extensions["database"].engine.dispose()


def open_payment(app: Flask) -> dict[str, Any]:
    """Commit a stall selling one 250,000 dong honey, order it by VietQR, return the payment."""
    with app.extensions["database"].sessionmaker.begin() as session:
        made = add_stall(session, "Mật ong", [("Mật ong", 250_000, 5)], vendor_name="Quầy chờ")
    lines = [{"listing_id": made.listing_ids[0], "quantity": 1}]
    order = {"stall_id": made.stall_id, "method": "vietqr", "lines": lines}
    response = app.test_client().post("/api/v1/orders", json=order)
    assert response.status_code == 201, response.get_json()
    payment: dict[str, Any] = response.get_json()["payment"]
    return payment


class Waiter(threading.Thread):
    """A vendor's screen: long-polls the payment while it is pending, notes when it answered."""

    def __init__(self, app: Flask, payment_id: str, wait: int) -> None:
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.url = f"/api/v1/payments/{payment_id}"
        self.wait = wait
        self.answer: dict[str, Any] = {}
        self.answered_at = 0.0
        self.started_at = 0.0

    def run(self) -> None:
        self.started_at = time.monotonic()
        response = self.client.get(self.url, query_string={"status": "pending", "wait": self.wait})
        self.answered_at = time.monotonic()
        self.answer = response.get_json()

    def waiting(self, board: ChangeBoard, payment_id: str) -> None:
        """Return once the screen is registered on `board` (its first look is done or under way)."""
        deadline = time.monotonic() + 5
        while payment_id not in board._waiters:
            assert time.monotonic() < deadline, "the screen never started waiting"
            time.sleep(0.01)
        time.sleep(0.2)  # past its first look at the database


def pay(app: Flask, payment: dict[str, Any]) -> float:
    """Deliver the bank's notification for the whole amount; return when it was answered."""
    response = banks.simbank(app.test_client(), payment["reference"], payment["amount_vnd"])
    assert response.status_code == 200, response.get_json()
    return time.monotonic()


def test_a_waiting_screen_answers_as_soon_as_the_payment_arrives(apps: list[Flask]) -> None:
    app = apps[0]
    board = attach_board(app.extensions["database"].engine, None, recheck_seconds=SLOW_FALLBACK)
    payment = open_payment(app)
    screen = Waiter(app, payment["id"], wait=25)
    screen.start()
    screen.waiting(board, payment["id"])
    paid_at = pay(app, payment)
    screen.join(timeout=SLOW_FALLBACK)
    assert screen.answer["status"] == "paid"
    assert screen.answered_at - paid_at < WOKEN_WITHIN
    assert board._waiters == {}  # the screen's registration is gone


def test_a_waiting_screen_answers_pending_when_nothing_happens_in_time(
    apps: list[Flask],
) -> None:
    app = apps[0]
    attach_board(app.extensions["database"].engine, None)  # looks every second, as served
    payment = open_payment(app)
    screen = Waiter(app, payment["id"], wait=2)
    screen.start()
    screen.join(timeout=10)
    assert screen.answer["status"] == "pending"
    assert 2.0 <= screen.answered_at - screen.started_at < 2.0 + WOKEN_WITHIN


@needs_redis
def test_a_screen_on_another_worker_is_woken_through_redis_at_once(apps: list[Flask]) -> None:
    bank_side, screen_side = apps
    attach_board(bank_side.extensions["database"].engine, REDIS_URL)
    board = attach_board(
        screen_side.extensions["database"].engine, REDIS_URL, recheck_seconds=SLOW_FALLBACK
    )
    payment = open_payment(bank_side)
    screen = Waiter(screen_side, payment["id"], wait=25)
    screen.start()
    screen.waiting(board, payment["id"])
    deadline = time.monotonic() + 5
    while not board.listening:  # subscribed before the bank's notification, as a running worker
        assert time.monotonic() < deadline, "the board never subscribed to Redis"
        time.sleep(0.05)
    paid_at = pay(bank_side, payment)
    screen.join(timeout=SLOW_FALLBACK)
    assert screen.answer["status"] == "paid"
    assert screen.answered_at - paid_at < WOKEN_WITHIN


def test_without_redis_a_screen_on_another_worker_still_sees_the_payment(
    apps: list[Flask],
) -> None:
    bank_side, screen_side = apps
    attach_board(bank_side.extensions["database"].engine, None)
    board = attach_board(screen_side.extensions["database"].engine, None)  # looks every second
    payment = open_payment(bank_side)
    screen = Waiter(screen_side, payment["id"], wait=25)
    screen.start()
    screen.waiting(board, payment["id"])
    paid_at = pay(bank_side, payment)
    screen.join(timeout=SLOW_FALLBACK)
    assert screen.answer["status"] == "paid"
    assert screen.answered_at - paid_at < 1.0 + WOKEN_WITHIN


def test_a_lost_redis_leaves_the_board_looking_every_second() -> None:
    board = ChangeBoard("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with board.watch("pay_nothing"):
        time.sleep(0.3)
        assert not board.listening
        assert board.recheck_seconds == 1.0
    started = time.monotonic()
    for _ in range(20):  # a failed publish is logged, not raised, and not retried at once
        board.announce(["pay_nothing"])
    assert time.monotonic() - started < 2.0
    board.close()
