"""The simulator's bank in a load test: transfers awaiting delivery, notifications and their log.

Plain Python (no Locust, no gevent), so the runner and the tests can use it too. One
`TransferQueue` lives in each Locust process: the codes that process's shoppers and vendors
show are paid by that process's bank, so nothing is shared between processes. Every delivery
attempt is logged twice to the process's own file, once when it is sent and once when it is
answered, and the audit reads those files back.
"""

import heapq
import itertools
import json
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from loadtest.scenario import BankPlan
from market.core.clock import VIETNAM
from payments.bank_formats import sign_simbank

WEBHOOK_PATH = "/api/v1/webhooks/bank/simbank"
PRICE_STEP_VND = 1000
PARTIAL_SHARES = (0.3, 0.9)  # as the simulator's underpaying shoppers send
LOG_GLOB = "bank-*.jsonl"


class Delivery(StrEnum):
    """Why a notification is being sent.

    first: the transfer's first notification.
    duplicate: the same call again at once, as a service does when our answer was slow.
    concurrent: the same call at the same moment as another copy, racing it.
    redelivery: the same transaction again later, freshly signed, after a lost answer.
    retry: the same call again because the server erred or did not answer.
    """

    FIRST = "first"
    DUPLICATE = "duplicate"
    CONCURRENT = "concurrent"
    REDELIVERY = "redelivery"
    RETRY = "retry"


@dataclass(frozen=True)
class Transfer:
    """A shopper's transfer paying a code, due at a moment of time.time()."""

    due: float
    occurred_at: float  # when the money moved: every delivery of the transaction says the same
    transaction_id: str
    payment_id: str
    reference: str
    account_number: str
    amount_vnd: int
    delivery: Delivery = Delivery.FIRST
    attempt: int = 1


def draw_transfer(
    plan: BankPlan,
    rng: random.Random,
    transaction_id: str,
    payment: dict[str, Any],
    account_number: str,
    now: float,
) -> Transfer | None:
    """Draw how a shopper pays a code: None if never, else when and how much (maybe short)."""
    if rng.random() < plan.failed_rate:
        return None
    amount = payment["amount_vnd"]
    if rng.random() < plan.partial_rate and amount >= 2 * PRICE_STEP_VND:
        share = rng.uniform(*PARTIAL_SHARES)
        short = math.floor(amount * share / PRICE_STEP_VND) * PRICE_STEP_VND
        amount = min(max(short, PRICE_STEP_VND), amount - PRICE_STEP_VND)
    delay = rng.lognormvariate(math.log(plan.paid_delay_median_seconds), plan.delay_sigma)
    return Transfer(
        due=now + delay,
        occurred_at=now + delay,
        transaction_id=transaction_id,
        payment_id=payment["id"],
        reference=payment["reference"],
        account_number=account_number,
        amount_vnd=amount,
    )


def repeat_of(transfer: Transfer, delivery: Delivery, due: float) -> Transfer:
    """Return another delivery of the same transaction."""
    return replace(transfer, delivery=delivery, due=due, attempt=1)


def retry_of(transfer: Transfer, due: float) -> Transfer:
    """Return the next attempt of a delivery that failed."""
    return replace(transfer, delivery=Delivery.RETRY, due=due, attempt=transfer.attempt + 1)


class TransferQueue:
    """Transfers waiting for their moment, earliest first; one per Locust process."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Transfer]] = []
        self._order = itertools.count()

    def put(self, transfer: Transfer) -> None:
        heapq.heappush(self._heap, (transfer.due, next(self._order), transfer))

    def pop_due(self, now: float) -> Transfer | None:
        """Return the earliest transfer due by `now`, or None."""
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[2]
        return None

    def __len__(self) -> int:
        return len(self._heap)


def notification(transfer: Transfer, secret: str, now: float | None = None) -> tuple[bytes, str]:
    """Return the simbank body of a transfer and its X-OCOP-Signature, signed `now`."""
    body = json.dumps(
        {
            "transaction_id": transfer.transaction_id,
            "account_number": transfer.account_number,
            "amount_vnd": transfer.amount_vnd,
            "memo": f"{transfer.reference} chuyen tien",
            "occurred_at": datetime.fromtimestamp(transfer.occurred_at, VIETNAM).isoformat(
                timespec="seconds"
            ),
        }
    ).encode()
    return body, sign_simbank(body, secret, int(time.time() if now is None else now))


class BankLog:
    """One process's log of delivery attempts, a JSON object a line, flushed as written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: TextIO = path.open("a", encoding="utf-8")

    def sent(self, transfer: Transfer) -> None:
        self._write({"event": "sent", "at": time.time(), **asdict(transfer)})

    def answered(self, transfer: Transfer, http_status: int, outcome: str | None) -> None:
        """Record the server's answer; http_status 0 means no answer (a network error)."""
        self._write(
            {
                "event": "answered",
                "at": time.time(),
                "transaction_id": transfer.transaction_id,
                "delivery": transfer.delivery,
                "attempt": transfer.attempt,
                "http_status": http_status,
                "outcome": outcome,
            }
        )

    def _write(self, record: dict[str, Any]) -> None:
        self._out.write(json.dumps(record) + "\n")
        self._out.flush()  # a process killed at the end of a run keeps what it logged

    def close(self) -> None:
        self._out.close()


def read_logs(folder: Path) -> list[dict[str, Any]]:
    """Read every process's bank log in `folder`, skipping a line cut short by a kill."""
    records = []
    for path in sorted(Path(folder).glob(LOG_GLOB)):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records
