"""Crash safety: SIGKILL the real server at random moments of a stream of checkouts and payments.

`ocop-market serve` runs under gunicorn (2 workers) on a scratch database (PostgreSQL when the
suite runs on it). Shoppers check out with Idempotency-Keys and the simulator's bank sends a
signed notification for most orders; a seeded killer SIGKILLs the server's whole process group
at random moments and starts it again. Like a real notification service, the bank retries every
notification until it is answered 2xx, and shoppers retry their checkout with the same key.
Then `ocop-market payments expire` runs, and the expiry again with a clock 16 minutes later, and
loadtest/audit.py checks that every acknowledged notification is stored once, every paid intent
has its ledger row, totals equal their events, and stock is never negative and adds up.

The default run injects OCOP_CRASH_KILLS=3 kills; more on demand, e.g.
OCOP_RUN_SLOW=1 OCOP_CRASH_KILLS=20 OCOP_CRASH_SEED=11 .venv/bin/python -m pytest tests/reliability
"""

import http.client
import json
import os
import random
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from loadtest.audit import gather, judge
from loadtest.run import free_port, ocop_market, start_server
from market import migrate
from market.core.db import create_db_engine, utcnow
from market.places.services import load_places
from market.sales.services import expire_unpaid
from payments.bank_formats import sign_simbank
from payments.models import PaymentIntent, PaymentStatus
from tests.payments import banks
from tests.scratch import add_stall, scratch_database

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("OCOP_CRASH_KILLS", "3"))
SEED = int(os.environ.get("OCOP_CRASH_SEED", "7"))
ORDERS_PER_KILL = 25
OPENING_STOCK = 1_000
ROOT = Path(__file__).resolve().parents[2]
PAID_SHARE = 0.8
WEBHOOK = "/api/v1/webhooks/bank/simbank"


@dataclass
class Bank:
    """The bank's log of notifications sent and answered, in loadtest/audit.py's format."""

    records: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0


class Server:
    """`ocop-market serve` in a process group of its own, killed and restarted on demand."""

    def __init__(self, url: str, secret: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "SIMBANK_WEBHOOK_SECRET": secret,
            "SECRET_KEY": secrets.token_hex(16),
            "RATELIMIT_ENABLED": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [ocop_market(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = start_server([*command, "--workers", "2"], self.env, self.log, self.base, 60)

    def kill(self) -> None:
        """SIGKILL gunicorn's master and workers at once, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST and return (status, JSON body); (0, None) when the server is not there.

    A server killed mid-answer cuts the body short (IncompleteRead): the caller does not know
    whether the request took effect, and retries it, as a real client or bank would.
    """
    request = urllib.request.Request(
        base + path, data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
        return 0, None


@pytest.fixture
def shop_database(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[int, int], int]]:
    """A migrated scratch database with one stall selling five listings."""
    with scratch_database(database_url, tmp_path, "crash") as url:
        engine = create_db_engine(url)
        migrate.upgrade(engine)
        goods = [(f"Món {n}", 10_000 * n, OPENING_STOCK) for n in range(1, 6)]
        with sessionmaker(engine).begin() as session:
            load_places(session)
            made = add_stall(session, "Đặc sản", goods, vendor_name="Quầy thử sập")
        engine.dispose()
        yield url, dict.fromkeys(made.listing_ids, OPENING_STOCK), made.stall_id


def test_sigkill_during_payments_loses_nothing_and_counts_nothing_twice(
    shop_database: tuple[str, dict[int, int], int], tmp_path: Path
) -> None:
    url, stocked, stall_id = shop_database
    secret = secrets.token_hex(16)
    server = Server(url, secret, tmp_path / "server.log")
    rng = random.Random(SEED)
    bank = Bank()
    kills = 0
    server_lock = threading.Lock()
    stop = threading.Event()

    def killer() -> None:
        nonlocal kills
        while kills < KILLS and not stop.wait(rng.uniform(1.0, 4.0)):
            with server_lock:
                server.kill()
                kills += 1
            server.start()

    def until_answered(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, answer = post(server.base, path, body, headers)
            if status and status < 500:
                return status, answer
            time.sleep(0.1)  # down, or killed mid-request: the caller retries the same call
        raise AssertionError(f"no answer to {path} in 120 s")

    def notify(transaction_id: str, reference: str, amount: int) -> None:
        payload = {
            "transaction_id": transaction_id,
            "account_number": banks.ACCOUNT,
            "amount_vnd": amount,
            "memo": f"thanh toan {reference}",
            "occurred_at": "2026-11-20T19:30:00+07:00",
        }
        body = json.dumps(payload).encode()
        attempt = 0
        while True:
            signature = sign_simbank(body, secret, int(time.time()))
            bank.records.append(
                {
                    "event": "sent",
                    "transaction_id": transaction_id,
                    "delivery": "first" if attempt == 0 else "retry",
                    "amount_vnd": amount,
                }
            )
            status, answer = post(server.base, WEBHOOK, body, {"X-OCOP-Signature": signature})
            outcome = answer.get("status") if isinstance(answer, dict) else None
            bank.records.append(
                {
                    "event": "answered",
                    "transaction_id": transaction_id,
                    "http_status": status,
                    "outcome": outcome,
                }
            )
            if 200 <= status < 300:
                return
            assert attempt < 1_000, f"{transaction_id} never acknowledged: {status} {answer}"
            attempt += 1
            bank.retries += 1
            time.sleep(0.1)

    server.start()
    thread = threading.Thread(target=killer, name="killer")
    thread.start()
    try:
        n = 0
        # Keep the stream going until every kill has hit it, and a little beyond the last one.
        while thread.is_alive() or n < ORDERS_PER_KILL * max(KILLS, 1):
            n += 1
            listing_id = rng.choice(sorted(stocked))
            order = {
                "stall_id": stall_id,
                "method": "vietqr",
                "lines": [{"listing_id": listing_id, "quantity": rng.randint(1, 3)}],
            }
            status, created = until_answered(
                "/api/v1/orders",
                json.dumps(order).encode(),
                {"Idempotency-Key": f"crash-{SEED}-{n}"},
            )
            assert status == 201, created
            payment = created["payment"]
            if rng.random() < PAID_SHARE:
                notify(f"CRASH-{SEED}-{n}", payment["reference"], payment["amount_vnd"])
        stop.set()
        thread.join(timeout=120)
    finally:
        stop.set()
        thread.join(timeout=120)
        server.stop()

    expired_now = subprocess.run(
        [ocop_market(), "payments", "expire"],
        cwd=ROOT,
        env={**server.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "payments expired" in expired_now.stdout
    engine = create_engine(url) if url.startswith("postgresql") else create_db_engine(url)
    try:
        later = utcnow() + timedelta(minutes=16)
        with sessionmaker(engine).begin() as session:
            expire_unpaid(session, later)
        with engine.connect() as connection:
            audit = judge(bank.records, gather(connection), stocked)
            stuck = connection.scalar(
                select(func.count()).where(
                    PaymentIntent.status == PaymentStatus.PENDING, PaymentIntent.expires_at < later
                )
            )
    finally:
        engine.dispose()
    sent = sum(record["event"] == "sent" for record in bank.records)
    print(
        f"\ncrash safety: {kills} kills, {sent} notifications sent ({bank.retries} retried), "
        f"audit facts {audit.facts}, problems {audit.problems or 'none'}"
    )
    assert kills == KILLS
    assert audit.problems == []
    assert stuck == 0
