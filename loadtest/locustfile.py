"""Locust users that behave like the simulator's people at a market night.

- `Shopper`: a phone with no account. Browses a market's listings and stalls, searches products
  typed without accents, checks out at a stall and pays by VietQR (the code's image, then a
  transfer that this process's bank delivers) or, for tourists, by card through the configured
  gateway (a first card sometimes declined); sometimes resends a checkout with its
  Idempotency-Key and expects the same order back.
- `Vendor`: one stall's screen, signed in with the vendor's token. Sales arrive as a Poisson
  stream: a cash sale is recorded at once; otherwise the vendor issues a code (a checkout at the
  stall), shows it, and long-polls `GET /api/v1/payments/{id}?status=pending&wait=…` until the
  money arrives, cancelling the code when the shopper never pays.
- `Bank`: the simulator's bank. Delivers signed simbank notifications for the transfers this
  process's shoppers and vendors started, when each falls due; some twice in a row, some twice
  at once, some again later, and retries when the server errs. Logs every attempt.
- `Official`: reads the market's indicators as JSON, as CSV, and as a chart.

Who takes part, how often and with what think times comes from a profile of
loadtest/scenario.toml; stalls, prices, tickets and payment habits from the simulator's scenario.
The state shared by the users of one process (the transfers awaiting the bank, the bank's log)
lives in that process only, so the same file runs in Locust's master/worker mode. Run it with
`ocop-market loadtest`, or by hand (see loadtest/README.md):

    .venv/bin/python -m locust -f loadtest/locustfile.py --host http://127.0.0.1:5000 \\
        --ocop-manifest OUT/manifest.json --ocop-output OUT [--ocop-profile stalls]
"""

import itertools
import json
import math
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest import bank
from loadtest.scenario import DEFAULT_PROFILE, DEFAULT_SCENARIO, LoadProfile, draw_basket
from loadtest.scenario import load_profile as read_profile
from market.core.clock import vietnam_today
from payments.gateways.card import MIN_CARD_AMOUNT_VND

STATS_FILE = "stats.json"
LONG_POLL = "/api/v1/payments/[id]?wait"
GOOD_CARD, DECLINED_CARD = "pm_card_visa", "pm_card_visa_chargeDeclined"
WAIT_CAP = 5  # no pause longer than five times its mean: an exponential tail would idle a user


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--ocop-manifest", default="", help="the run's manifest.json (required)")
    parser.add_argument("--ocop-output", default="", help="folder for bank logs and stats.json")
    parser.add_argument("--ocop-profile", default=DEFAULT_PROFILE, help="profile of the scenario")
    parser.add_argument("--ocop-scenario", default=str(DEFAULT_SCENARIO), help="scenario TOML")
    parser.add_argument(
        "--ocop-warmup", type=float, default=0.0, help="seconds after which the figures restart"
    )


@dataclass
class Process:
    """What the users of one Locust process share; never shared between processes."""

    profile: LoadProfile
    manifest: dict[str, Any]
    log: bank.BankLog
    worker_index: int
    workers: int
    queue: bank.TransferQueue = field(default_factory=bank.TransferQueue)
    rng: random.Random = field(default_factory=random.Random)
    matched: set[str] = field(default_factory=set)  # transactions the server said it counted
    stalls_claimed: itertools.count = field(default_factory=itertools.count)
    transfers_made: itertools.count = field(default_factory=lambda: itertools.count(1))

    def claim_stall(self) -> dict[str, Any]:
        """Give each new vendor its own stall; processes interleave, so no two share one."""
        stalls = self.manifest["stalls"]
        return stalls[(self.worker_index + self.workers * next(self.stalls_claimed)) % len(stalls)]

    def transaction_id(self) -> str:
        return f"LT-{self.worker_index}-{os.getpid()}-{next(self.transfers_made)}"

    def await_transfer(self, payment: dict[str, Any], account_number: str) -> None:
        """Have this process's bank pay a code as a shopper would, or never."""
        transfer = bank.draw_transfer(
            self.profile.bank,
            self.rng,
            self.transaction_id(),
            payment,
            account_number,
            time.time(),
        )
        if transfer is not None:
            self.queue.put(transfer)


PROCESS: Process | None = None


def process() -> Process:
    assert PROCESS is not None, "test_start has not run in this process"
    return PROCESS


@events.init.add_listener
def configure(environment: Environment, runner: Any, **kwargs: Any) -> None:
    """Set the user weights of the profile on the process that dispatches users."""
    if isinstance(runner, WorkerRunner):
        return  # the master decides who runs; a worker spawns whatever it is sent
    options = environment.parsed_options
    profile = read_profile(options.ocop_profile, Path(options.ocop_scenario))
    for user_class, kind in ((Shopper, "shopper"), (Vendor, "vendor"), (Official, "official")):
        user_class.weight = profile.users.get(kind, 0)
    # fixed_count users go round the workers first: one bank per worker (times its senders).
    workers = options.expect_workers if isinstance(runner, MasterRunner) else 1
    Bank.fixed_count = profile.bank.users_per_worker * workers
    environment.user_classes[:] = [
        user_class
        for user_class in environment.user_classes
        if user_class.weight > 0 or user_class.fixed_count > 0
    ]


@events.test_start.add_listener
def start(environment: Environment, **kwargs: Any) -> None:
    """Open this process's bank log and read the manifest; time the warm-up where figures are."""
    global PROCESS
    runner = environment.runner
    options = environment.parsed_options
    if not isinstance(runner, WorkerRunner) and options.ocop_warmup > 0:
        # Workers report figures as they go; restarting the dispatcher's totals restarts all.
        gevent.spawn_later(options.ocop_warmup, runner.stats.reset_all)
    if isinstance(runner, MasterRunner):
        return
    if not options.ocop_manifest or not options.ocop_output:
        raise SystemExit("--ocop-manifest and --ocop-output are required")
    index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
    log = Path(options.ocop_output) / f"bank-w{index}-p{os.getpid()}.jsonl"
    PROCESS = Process(
        profile=read_profile(options.ocop_profile, Path(options.ocop_scenario)),
        manifest=json.loads(Path(options.ocop_manifest).read_text(encoding="utf-8")),
        log=bank.BankLog(log),
        worker_index=index,
        workers=max(1, options.expect_workers) if isinstance(runner, WorkerRunner) else 1,
    )


@events.quitting.add_listener
def finish(environment: Environment, **kwargs: Any) -> None:
    """Close the bank log; on the master (or a local run) write the figures for the SLO check."""
    if PROCESS is not None:
        PROCESS.log.close()
    runner = environment.runner
    output = environment.parsed_options.ocop_output if environment.parsed_options else ""
    if isinstance(runner, WorkerRunner) or not output or runner is None:
        return
    stats = runner.stats
    entries = [entry.serialize() for entry in stats.entries.values() if entry.num_requests]
    figures = {
        "users": runner.final_user_classes_count or runner.user_classes_count,
        "target_users": runner.target_user_count,
        "start_time": stats.total.start_time,
        "last_request_timestamp": stats.total.last_request_timestamp,
        "entries": [
            {key: entry[key] for key in ("name", "method", "num_requests", "num_failures")}
            | {"response_times": {str(ms): n for ms, n in entry["response_times"].items()}}
            for entry in entries
        ],
        "errors": [error.serialize() for error in stats.errors.values()],
    }
    Path(output, STATS_FILE).write_text(json.dumps(figures, indent=1), encoding="utf-8")


def exponential(mean: float) -> float:
    """Draw a pause with the given mean, capped: people act as a Poisson stream."""
    return min(random.expovariate(1 / mean), WAIT_CAP * mean) if mean > 0 else 0.0


class MarketUser(FastHttpUser):
    """A person of the market; the profile sets the weights, and drops the kinds it leaves out."""

    abstract = True
    weight = 1  # Locust drops weight-0 classes before the profile is read; configure() sets it
    network_timeout = 40.0  # above the longest long-poll (wait=30)
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.process = process()
        self.manifest = self.process.manifest
        self.profile = self.process.profile
        self.mixes = {mix.category.value: mix for mix in self.profile.stall_mixes}

    def checkout(
        self, stall: dict[str, Any], method: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Check out a basket at a stall; return the order, or None if it failed or sold out."""
        basket = draw_basket(self.mixes[stall["category"]], stall["listings"], self.process.rng)
        body = {"stall_id": stall["id"], "lines": basket, "method": method}
        sent = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
        order = self._post_order(body, sent, f"/api/v1/orders [{method}]")
        if order is not None and random.random() < self.profile.shopper.retry_rate:
            again = self._post_order(body, sent, "/api/v1/orders [retry]")
            if again is not None and again["id"] != order["id"]:
                self.environment.events.user_error.fire(
                    user_instance=self,
                    exception=AssertionError("a retried Idempotency-Key made a second order"),
                    tb=None,
                )
        return order

    def _post_order(
        self, body: dict[str, Any], headers: dict[str, str], name: str
    ) -> dict[str, Any] | None:
        with self.client.post(
            "/api/v1/orders", json=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code == 201:
                return response.json()
            if response.status_code == 409 and "out_of_stock" in (response.text or ""):
                response.success()  # sold out is an answer, not an error
                return None
            response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
            return None

    def show_code(self, payment: dict[str, Any]) -> None:
        self.client.get(
            f"/api/v1/payments/{payment['id']}/qr.png", name="/api/v1/payments/[id]/qr.png"
        )


class Shopper(MarketUser):
    """A phone: browses, searches without accents, buys and pays by QR or card."""

    def on_start(self) -> None:
        super().on_start()
        shoppers = self.profile.simulator.shoppers
        tourist = random.random() < self.profile.tourist_share
        segment = shoppers.tourist if tourist else shoppers.local
        noncash = segment.noncash_share
        # Shoppers who pay in cash are recorded by vendors; these are the non-cash ones.
        self.card_share = segment.card_share / noncash if noncash else 0.0

    def wait_time(self) -> float:
        return exponential(self.profile.shopper.think_seconds)

    @task
    def act(self) -> None:
        plan = self.profile.shopper
        choices = (self.browse, self.search, self.buy)
        random.choices(choices, weights=(plan.browse, plan.search, plan.buy))[0]()

    def browse(self) -> None:
        market = self.manifest["market_id"]
        page = random.randint(1, 3)
        self.client.get(
            f"/api/v1/listings?market={market}&page={page}&page_size=20",
            name="/api/v1/listings?market",
        )
        stall = random.choice(self.manifest["stalls"])
        self.client.get(f"/api/v1/stalls/{stall['id']}", name="/api/v1/stalls/[id]")

    def search(self) -> None:
        term = random.choice(self.manifest["search_terms"])
        self.client.get(f"/api/v1/products?q={term}&page_size=20", name="/api/v1/products?q")
        if random.random() < 0.5:
            self.client.get(
                f"/api/v1/listings?market={self.manifest['market_id']}&q={term}",
                name="/api/v1/listings?q",
            )

    def buy(self) -> None:
        stall = random.choice(self.manifest["stalls"])
        by_card = random.random() < self.card_share
        order = self.checkout(stall, "card" if by_card else "vietqr")
        if order is None:
            return
        payment = order["payment"]
        if payment["method"] == "card" and payment["amount_vnd"] >= MIN_CARD_AMOUNT_VND:
            if random.random() < self.profile.shopper.declined_card_rate:
                self.pay_card(payment, DECLINED_CARD, "declined")
            self.pay_card(payment, GOOD_CARD, "succeeded")
        elif payment["method"] == "vietqr":
            self.show_code(payment)
            self.process.await_transfer(payment, stall["account_number"])

    def pay_card(self, payment: dict[str, Any], card: str, expected: str) -> None:
        with self.client.post(
            f"/api/v1/payments/{payment['id']}/card",
            json={"payment_method": card},
            name="/api/v1/payments/[id]/card",
            catch_response=True,
        ) as response:
            outcome = response.json().get("outcome") if response.status_code == 200 else None
            if outcome != expected:
                response.failure(f"expected {expected}, got {response.status_code} {outcome}")


class Vendor(MarketUser):
    """A stall's screen: records cash, issues codes and waits for their money."""

    def on_start(self) -> None:
        super().on_start()
        self.stall = self.process.claim_stall()
        self.headers = {"Authorization": f"Bearer {self.stall['vendor_token']}"}
        # Sales are scheduled as a Poisson stream; a long one delays the next, never drops it.
        self.next_sale = time.monotonic() + exponential(self.profile.vendor.sale_every_seconds)

    def wait_time(self) -> float:
        return max(0.0, self.next_sale - time.monotonic())

    @task
    def sell(self) -> None:
        if time.monotonic() < self.next_sale:
            return  # Locust runs a user's first task at once; the first sale keeps its time
        plan = self.profile.vendor
        self.next_sale += exponential(plan.sale_every_seconds)
        if random.random() < plan.cash_share:
            self.checkout(self.stall, "cash", self.headers)
            return
        order = self.checkout(self.stall, "vietqr", self.headers)
        if order is None:
            return
        payment = order["payment"]
        self.show_code(payment)
        self.process.await_transfer(payment, self.stall["account_number"])
        if self.watch(payment) == "pending":
            self.cancel(order)

    def watch(self, payment: dict[str, Any]) -> str:
        """Long-poll until the payment leaves pending or the vendor gives up; return its status."""
        plan = self.profile.vendor
        deadline = time.monotonic() + plan.give_up_seconds
        status = payment["status"]
        while status == "pending" and (left := deadline - time.monotonic()) >= 1:
            wait = min(plan.long_poll_seconds, math.floor(left))
            with self.client.get(
                f"/api/v1/payments/{payment['id']}?status=pending&wait={wait}",
                name=LONG_POLL,
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                    return status
                status = response.json()["status"]
        return status

    def cancel(self, order: dict[str, Any]) -> None:
        with self.client.post(
            f"/api/v1/orders/{order['id']}/cancel",
            headers=self.headers,
            name="/api/v1/orders/[id]/cancel",
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                response.success()  # the money arrived as the vendor gave up: a late payment


class Official(MarketUser):
    """A provincial official reading the market's cashless indicators."""

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Authorization": f"Bearer {self.manifest['official_token']}"}

    def wait_time(self) -> float:
        return exponential(self.profile.official.think_seconds)

    @task
    def read(self) -> None:
        plan = self.profile.official
        today = vietnam_today()
        query = (
            f"place=market:{self.manifest['market_id']}&grain=day"
            f"&from={today - timedelta(days=plan.report_days - 1)}&to={today}"
        )
        paths = (
            "/api/v1/reports/indicators",
            "/api/v1/reports/indicators.csv",
            "/api/v1/reports/charts/share.png",
        )
        path = random.choices(paths, weights=(plan.indicators, plan.csv, plan.chart))[0]
        self.client.get(f"{path}?{query}", headers=self.headers, name=path)


class Bank(FastHttpUser):
    """One sender of this process's bank: delivers each transfer's notification when it is due."""

    fixed_count = 1  # set from the profile: bank.users_per_worker per worker
    network_timeout = 20.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.process = process()
        self.plan = self.process.profile.bank
        self.secret = self.process.manifest["simbank_secret"]

    def wait_time(self) -> float:
        return self.plan.poll_seconds

    @task
    def deliver_due(self) -> None:
        while (transfer := self.process.queue.pop_due(time.time())) is not None:
            self.deliver(transfer)

    def deliver(self, transfer: bank.Transfer) -> None:
        """Send one transfer's notification, with the repeats the plan asks for."""
        raw, signature = bank.notification(transfer, self.secret)
        first = transfer.delivery == bank.Delivery.FIRST
        if first and random.random() < self.plan.concurrent_duplicate_rate:
            twin = bank.repeat_of(transfer, bank.Delivery.CONCURRENT, transfer.due)
            racing = [gevent.spawn(self.post, copy, raw, signature) for copy in (transfer, twin)]
            gevent.joinall(racing)
            answered = any(copy.value for copy in racing)
        else:
            answered = self.post(transfer, raw, signature)
        now = time.time()
        if not answered:
            if transfer.attempt < self.plan.max_attempts:
                self.process.queue.put(bank.retry_of(transfer, now + 2 ** (transfer.attempt - 1)))
            return
        if first and random.random() < self.plan.duplicate_rate:
            self.post(bank.repeat_of(transfer, bank.Delivery.DUPLICATE, now), raw, signature)
        if first and random.random() < self.plan.redelivery_rate:
            later = now + self.plan.redelivery_after_seconds
            self.process.queue.put(bank.repeat_of(transfer, bank.Delivery.REDELIVERY, later))

    def post(self, transfer: bank.Transfer, raw: bytes, signature: str) -> bool:
        """Send a notification; return whether the server answered it (2xx)."""
        self.process.log.sent(transfer)
        repeat = transfer.delivery != bank.Delivery.FIRST
        with self.client.post(
            bank.WEBHOOK_PATH,
            data=raw,
            headers={"Content-Type": "application/json", "X-OCOP-Signature": signature},
            name=bank.WEBHOOK_PATH + (" [repeat]" if repeat else ""),
            catch_response=True,
        ) as response:
            status = response.status_code or 0
            outcome = response.json().get("status") if status == 200 else None
            self.process.log.answered(transfer, status, outcome)
            if status != 200:
                response.failure(f"{status}: {(response.text or '')[:200]}")
                return False
            if outcome == "matched":
                if transfer.transaction_id in self.process.matched:
                    response.failure(f"{transfer.transaction_id} was counted twice")
                self.process.matched.add(transfer.transaction_id)
            elif outcome != "duplicate":
                response.failure(f"{transfer.transaction_id}: the server answered {outcome}")
            return True
