"""Live mode: drive a running OCOP Market over HTTP as its users and the bank would, paced.

The world is created through the API: producers, products, certifications, markets and vendor
accounts with an administrator's token, then each vendor's profile, stall and listings with
that vendor's own token. Each sale is a checkout, POST /api/v1/orders with an Idempotency-Key:
cash recorded by the stall's vendor, VietQR and card by an anonymous shopper. A card is charged
at once through POST /api/v1/payments/{id}/card; a VietQR transfer reaches the server as the
simulator bank's signed notification after the transfer's delay; adoption turns a stall's
VietQR on, a restock sets a listing's stock.

The server stamps every write with its own clock: a live run happens now. Events keep their
order and their spacing, divided by the speed, and idle gaps (nights, closed days) are skipped;
the simulated dates only choose which market days are played. The server's payment window is
not accelerated: above speed 1, a "late" transfer lands inside it, and codes never paid expire
when the server's expiry job runs.
"""

import heapq
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPConnection, HTTPResponse, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from market.core.clock import VIETNAM
from market.simulator.behaviour import Adoption, Event, Restock, Sale
from market.simulator.store import TEST_CARD, Tally
from market.simulator.world import World
from payments.bank_formats import BankTransfer, sign_simbank
from payments.models import PaymentMethod

DEFAULT_URL = "http://127.0.0.1:5000"
TIMEOUT_SECONDS = 30
IDLE_GAP = timedelta(hours=1)  # longer stretches with nothing to send are skipped
SIMBANK_WEBHOOK = "/api/v1/webhooks/bank/simbank"
SETTLED = frozenset({"matched", "duplicate"})  # what a notification of ours may become


class LiveError(RuntimeError):
    """The server refused or failed a call of the run."""


class Api:
    """A JSON client of one server over one kept-alive connection; no dependency beyond http."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// address")
        kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        self._connection = kind(parts.hostname, parts.port, timeout=timeout)
        self._prefix = parts.path.rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        """Send JSON (or `raw` bytes) and return the decoded answer; an error status raises."""
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = self._send(method, self._prefix + path, data, sent | (headers or {}))
        answer = response.read()
        if response.status >= 400:
            raise LiveError(f"{method} {path}: {response.status} {answer.decode(errors='replace')}")
        return json.loads(answer) if answer else None

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> HTTPResponse:
        try:
            self._connection.request(method, path, body=data, headers=headers)
            return self._connection.getresponse()
        except (RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the kept-alive connection while it was idle: send once more on
            # a new one. Orders carry an Idempotency-Key and transfers a transaction id, so a
            # request that did arrive is not applied twice.
            self._connection.close()
            self._connection.request(method, path, body=data, headers=headers)
            return self._connection.getresponse()

    def close(self) -> None:
        self._connection.close()


@dataclass
class Created:
    """The server's ids for a world's markets, stalls and listings, and each vendor's token."""

    markets: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # vendor key -> account number
    stalls: dict[str, int] = field(default_factory=dict)
    vendors: dict[str, str] = field(default_factory=dict)  # stall key -> its vendor's key
    listings: dict[str, int] = field(default_factory=dict)
    # (vendor key, market key) -> that vendor's stalls in that market, which adoption turns on
    places: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def create_world(api: Api, admin: str, world: World) -> Created:
    """Create a world's catalog, markets and vendors through the API; stalls start cash-only."""
    producers = {
        producer.key: api.call(
            "POST",
            "/api/v1/producers",
            {
                "name": producer.name,
                "producer_type": producer.producer_type.value,
                "commune_code": producer.commune_code,
            },
            token=admin,
        )["id"]
        for producer in world.producers
    }
    products: dict[str, int] = {}
    for product in world.products:
        body = {
            "producer_id": producers[product.producer],
            "name": product.name,
            "group_code": product.group_code,
            "subgroup_code": product.subgroup_code,
            "unit": product.unit,
            "origin_commune_code": product.origin_commune_code,
            "description": product.description,
        }
        products[product.key] = api.call("POST", "/api/v1/products", body, token=admin)["id"]
        for certification in product.certifications:
            api.call(
                "POST",
                f"/api/v1/products/{products[product.key]}/certifications",
                {
                    "stars": certification.stars,
                    "score": certification.score,
                    "decision_number": certification.decision_number,
                    "decision_date": certification.decision_date.isoformat(),
                    "issuing_level": certification.issuing_level.value,
                },
                token=admin,
            )
    created = Created()
    for market in world.markets:
        body = {
            "name": market.name,
            "commune_code": market.commune_code,
            "kind": market.kind.value,
            "market_class": market.market_class,
            "address": market.address,
            "schedule": market.schedule,
        }
        created.markets[market.key] = api.call("POST", "/api/v1/markets", body, token=admin)["id"]
    for vendor in world.vendors:
        account = api.call(
            "POST", "/api/v1/users", {"name": vendor.owner_name, "role": "vendor"}, token=admin
        )
        token = account["token"]["token"]
        api.call(
            "POST",
            "/api/v1/vendors",
            {
                "display_name": vendor.display_name,
                "bank_bin": vendor.bank_bin,
                "account_number": vendor.account_number,
                "account_holder": vendor.account_holder,
                "phone": vendor.phone,
            },
            token=token,
        )
        created.tokens[vendor.key] = token
        created.accounts[vendor.key] = vendor.account_number
    for stall in world.stalls:
        body = {
            "market_id": created.markets[stall.market],
            "code": stall.code,
            "name": stall.name,
            "category": stall.category.value,
            "accepts_qr": False,
        }
        stall_id = api.call("POST", "/api/v1/stalls", body, token=created.tokens[stall.vendor])[
            "id"
        ]
        created.stalls[stall.key] = stall_id
        created.vendors[stall.key] = stall.vendor
        created.places.setdefault((stall.vendor, stall.market), []).append(stall_id)
    for listing in world.listings:
        body = {
            "stall_id": created.stalls[listing.stall],
            "unit": listing.unit,
            "price_vnd": listing.price_vnd,
            "stock": listing.stock,
        }
        if listing.product:
            body["product_id"] = products[listing.product]
        else:
            body["title"] = listing.title
        token = created.tokens[listing.vendor]
        created.listings[listing.key] = api.call("POST", "/api/v1/listings", body, token=token)[
            "id"
        ]
    return created


def send_transfer(api: Api, secret: str, transfer: BankTransfer) -> str:
    """Notify the server of a transfer as the simulator's bank does; return what it became."""
    body = json.dumps(
        {
            "transaction_id": transfer.transaction_id,
            "account_number": transfer.account_number,
            "amount_vnd": transfer.amount_vnd,
            "memo": transfer.memo,
            "occurred_at": transfer.occurred_at.astimezone(VIETNAM).isoformat(),
        }
    ).encode()
    signature = sign_simbank(body, secret, int(time.time()))
    answer = api.call("POST", SIMBANK_WEBHOOK, raw=body, headers={"X-OCOP-Signature": signature})
    status = str(answer["status"])
    if status not in SETTLED:
        raise LiveError(f"The server did not match transfer {transfer.transaction_id}: {status}")
    return status


class Pace:
    """Map simulated moments onto the wall clock, `speed` times faster; speed 0 never waits.

    A stretch longer than IDLE_GAP between two moments is skipped: the later one is due at once.
    """

    def __init__(
        self,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be 0 (no waiting) or more, not {speed}")
        self.speed, self._clock, self._sleep = speed, clock, sleep
        self._origin: tuple[datetime, float] | None = None  # a simulated moment and its wall time
        self._last: datetime | None = None

    def wait(self, moment: datetime) -> None:
        """Sleep until `moment` is due."""
        if self.speed == 0:
            return
        if self._origin is None or self._last is None or moment - self._last > IDLE_GAP:
            self._origin = (moment, self._clock())
        self._last = moment
        since, wall = self._origin
        delay = wall + (moment - since).total_seconds() / self.speed - self._clock()
        if delay > 0:
            self._sleep(delay)


class LivePlayer:
    """Send a run's events to the server as they fall due, and transfers after their delay."""

    def __init__(self, api: Api, created: Created, bank_secret: str, pace: Pace) -> None:
        self.api, self.created, self.secret, self.pace = api, created, bank_secret, pace
        self.tally = Tally()
        self._keys = (f"sim-{secrets.token_hex(6)}-{number}" for number in itertools.count())
        self._due: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def play(
        self, events: Iterable[Event], on_event: Callable[[Event], None] | None = None
    ) -> None:
        """Send each event when it is due, and the transfers due before it."""
        for event in events:
            self._deliver(event.at)
            self.pace.wait(event.at)
            if isinstance(event, Sale):
                self._sell(event)
            elif isinstance(event, Adoption):
                self._adopt(event)
            elif isinstance(event, Restock):
                self._restock(event)
            if on_event is not None:
                on_event(event)

    def finish(self) -> None:
        """Deliver the transfers still on their way."""
        while self._due:
            self._deliver(self._due[0][0])

    def _deliver(self, now: datetime) -> None:
        while self._due and self._due[0][0] <= now:
            moment, _, action = heapq.heappop(self._due)
            self.pace.wait(moment)
            action()

    def _sell(self, sale: Sale) -> None:
        body = {
            "stall_id": self.created.stalls[sale.stall],
            "lines": [
                {"listing_id": self.created.listings[line.listing], "quantity": line.quantity}
                for line in sale.lines
            ],
            "method": sale.method.value,
        }
        # Cash is recorded by the vendor; QR and card shoppers check out without an account.
        token = self.created.tokens[sale.vendor] if sale.method == PaymentMethod.CASH else None
        key = {"Idempotency-Key": next(self._keys)}
        order = self.api.call("POST", "/api/v1/orders", body, token=token, headers=key)
        self.tally.sales += 1
        payment = order["payment"]
        if sale.method == PaymentMethod.CARD:
            charge = self.api.call(
                "POST", f"/api/v1/payments/{payment['id']}/card", {"payment_method": TEST_CARD}
            )
            if charge["outcome"] != "succeeded":
                raise LiveError(f"The test card was not charged: {charge}")
            self.tally.cards += 1
        elif sale.method == PaymentMethod.VIETQR and sale.received_at is not None:
            reference = payment["reference"]
            heapq.heappush(
                self._due,
                (sale.received_at, next(self._order), lambda: self._transfer(sale, reference)),
            )

    def _transfer(self, sale: Sale, reference: str) -> None:
        transfer = BankTransfer(
            provider="simbank",
            transaction_id=f"SIM{reference}",
            account_number=self.created.accounts[sale.vendor],
            amount_vnd=sale.received_vnd,
            memo=f"{reference} chuyen tien",
            occurred_at=datetime.now(VIETNAM),
            incoming=True,
        )
        send_transfer(self.api, self.secret, transfer)
        self.tally.transfers += 1

    def _adopt(self, adoption: Adoption) -> None:
        token = self.created.tokens[adoption.vendor]
        for stall_id in self.created.places.get((adoption.vendor, adoption.market), []):
            self.api.call("PATCH", f"/api/v1/stalls/{stall_id}", {"accepts_qr": True}, token=token)
        self.tally.adoptions += 1

    def _restock(self, restock: Restock) -> None:
        listing = self.created.listings[restock.listing]
        token = self.created.tokens[self.created.vendors[restock.stall]]
        self.api.call("PATCH", f"/api/v1/listings/{listing}", {"stock": restock.stock}, token=token)
