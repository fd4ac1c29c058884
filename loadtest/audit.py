"""After a run: check on the database that no money was lost or counted twice, and no stock.

`gather` reads what the run left in its (fresh) database; `judge` compares it with what the
bank's logs say was sent and what the manifest says was stocked. Every notification the server
acknowledged must be stored once, as one money event with one ledger row of the amount sent;
repeats must change nothing; every intent's received amount must equal its events and its
ledger rows, every settled intent must have a ledger row; stock never goes below zero, and each
listing's stock is its opening stock less what orders still hold.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from market.sales.models import Order, OrderLine
from market.vendors.models import Listing
from payments.models import (
    BankNotification,
    EventKind,
    LedgerEntry,
    MatchStatus,
    PaymentEvent,
    PaymentIntent,
    PaymentStatus,
)

PROVIDER = "simbank"
SETTLED_STATUSES = frozenset(
    {
        PaymentStatus.PAID,
        PaymentStatus.UNDERPAID,
        PaymentStatus.OVERPAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    }
)
"""Statuses an intent reaches only once money arrived, so it must have a payment ledger row."""

MONEY_EVENTS = frozenset({EventKind.MONEY_RECEIVED, EventKind.REFUNDED})
SHOWN = 5  # examples quoted per problem


@dataclass(frozen=True)
class Notification:
    transaction_id: str
    match: str
    intent_id: int | None
    amount_vnd: int


@dataclass(frozen=True)
class Event:
    id: int
    intent_id: int
    kind: str
    amount_vnd: int
    dedupe_key: str | None


@dataclass(frozen=True)
class Ledger:
    event_id: int
    intent_id: int
    kind: str
    amount_vnd: int


@dataclass(frozen=True)
class Intent:
    id: int
    status: str
    method: str
    amount_vnd: int
    received_vnd: int
    refunded_vnd: int


@dataclass
class Snapshot:
    """What the run left in the database that the audit needs."""

    notifications: list[Notification] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ledger: list[Ledger] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    stock: dict[int, int] = field(default_factory=dict)  # listing id -> stock now
    held: dict[int, int] = field(default_factory=dict)  # listing id -> quantity orders hold


@dataclass
class Audit:
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, what: str, examples: Iterable[Any]) -> None:
        shown = list(examples)
        if shown:
            quoted = ", ".join(map(str, shown[:SHOWN])) + (" …" if len(shown) > SHOWN else "")
            self.problems.append(f"{what}: {len(shown)} ({quoted})")


def gather(connection: Connection) -> Snapshot:
    """Read notifications, money events, ledger rows, intents and stock from the database."""
    held = (
        select(OrderLine.listing_id, func.sum(OrderLine.quantity))
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.stock_released_at.is_(None))
        .group_by(OrderLine.listing_id)
    )
    notifications = select(
        BankNotification.transaction_id,
        BankNotification.match,
        BankNotification.intent_id,
        BankNotification.amount_vnd,
    ).where(BankNotification.provider == PROVIDER)
    events = select(
        PaymentEvent.id,
        PaymentEvent.intent_id,
        PaymentEvent.kind,
        PaymentEvent.amount_vnd,
        PaymentEvent.dedupe_key,
    ).where(PaymentEvent.kind.in_(MONEY_EVENTS))
    ledger = select(
        LedgerEntry.event_id, LedgerEntry.intent_id, LedgerEntry.kind, LedgerEntry.amount_vnd
    )
    intents = select(
        PaymentIntent.id,
        PaymentIntent.status,
        PaymentIntent.method,
        PaymentIntent.amount_vnd,
        PaymentIntent.received_vnd,
        PaymentIntent.refunded_vnd,
    )
    return Snapshot(
        notifications=[Notification(*row) for row in connection.execute(notifications).all()],
        events=[Event(*row) for row in connection.execute(events).all()],
        ledger=[Ledger(*row) for row in connection.execute(ledger).all()],
        intents=[Intent(*row) for row in connection.execute(intents).all()],
        stock={row.id: row.stock for row in connection.execute(select(Listing.id, Listing.stock))},
        held={listing: int(quantity) for listing, quantity in connection.execute(held).all()},
    )


def opening_stock(manifest: Mapping[str, Any]) -> dict[int, int]:
    """Return each listing's stock when the run began, from its manifest."""
    return {
        listing["id"]: listing["stock"]
        for stall in manifest["stalls"]
        for listing in stall["listings"]
    }


def judge(
    records: Iterable[Mapping[str, Any]], snapshot: Snapshot, stocked: Mapping[int, int]
) -> Audit:
    """Compare the bank's log with the database; list every fact and every problem found."""
    audit = Audit()
    sent: dict[str, Mapping[str, Any]] = {}
    deliveries: Counter[str] = Counter()
    answers: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        if record["event"] == "sent":
            sent.setdefault(record["transaction_id"], record)
            deliveries[record["delivery"]] += 1
        elif record["event"] == "answered":
            answers[record["transaction_id"]].append(record)
    acknowledged = {
        txid for txid, replies in answers.items() if any(r["http_status"] == 200 for r in replies)
    }
    stored: defaultdict[str, list[Notification]] = defaultdict(list)
    for notification in snapshot.notifications:
        stored[notification.transaction_id].append(notification)
    audit.facts.update(
        transactions_sent=len(sent),
        deliveries_by_kind=dict(sorted(deliveries.items())),
        transactions_acknowledged=len(acknowledged),
        notifications_stored=len(snapshot.notifications),
        answers_by_outcome=dict(
            sorted(Counter(str(r["outcome"]) for rs in answers.values() for r in rs).items())
        ),
    )
    _check_notifications(audit, sent, answers, acknowledged, stored)
    _check_money(audit, snapshot, stored)
    _check_stock(audit, snapshot, stocked)
    return audit


def _check_notifications(
    audit: Audit,
    sent: Mapping[str, Mapping[str, Any]],
    answers: Mapping[str, list[Mapping[str, Any]]],
    acknowledged: set[str],
    stored: Mapping[str, list[Notification]],
) -> None:
    """Each acknowledged transaction stored once, as sent; nothing stored that was not sent."""
    audit.problem(
        "acknowledged by the server but not stored (lost)",
        sorted(txid for txid in acknowledged if txid not in stored),
    )
    audit.problem(
        "stored more than once", sorted(txid for txid, rows in stored.items() if len(rows) > 1)
    )
    audit.problem(
        "stored but never sent by the bank", sorted(txid for txid in stored if txid not in sent)
    )
    audit.problem(
        "answered 'matched' more than once (counted twice)",
        sorted(
            txid
            for txid, replies in answers.items()
            if sum(r["outcome"] == "matched" for r in replies) > 1
        ),
    )
    audit.problem(
        "stored with another amount than sent",
        sorted(
            txid
            for txid, rows in stored.items()
            if txid in sent and any(row.amount_vnd != sent[txid]["amount_vnd"] for row in rows)
        ),
    )
    audit.problem(
        "did not match their payment",
        sorted(
            f"{txid}={row.match}"
            for txid, rows in stored.items()
            for row in rows
            if row.match != MatchStatus.MATCHED
        ),
    )
    unanswered = [txid for txid in sent if txid not in acknowledged]
    audit.facts.update(
        sent_without_acknowledgement=len(unanswered),
        of_which_stored=sum(txid in stored for txid in unanswered),
    )


def _check_money(
    audit: Audit, snapshot: Snapshot, stored: Mapping[str, list[Notification]]
) -> None:
    """One event per matched notification, one ledger row per money event, totals that agree."""
    by_key: defaultdict[str, list[Event]] = defaultdict(list)
    for event in snapshot.events:
        if event.dedupe_key is not None:
            by_key[event.dedupe_key].append(event)
    matched = [row for rows in stored.values() for row in rows if row.match == MatchStatus.MATCHED]
    counted = {row.transaction_id: by_key[f"{PROVIDER}:{row.transaction_id}"] for row in matched}
    audit.problem(
        "matched notifications without a money event",
        sorted(txid for txid, events in counted.items() if not events),
    )
    audit.problem(
        "matched notifications with more than one money event",
        sorted(txid for txid, events in counted.items() if len(events) > 1),
    )
    notification_of = {row.transaction_id: row for row in matched}
    audit.problem(
        "money events whose amount or payment differ from their notification",
        sorted(
            txid
            for txid, events in counted.items()
            for event in events
            if (event.amount_vnd, event.intent_id)
            != (notification_of[txid].amount_vnd, notification_of[txid].intent_id)
        ),
    )
    rows_of_event = Counter(row.event_id for row in snapshot.ledger)
    events_by_id = {event.id: event for event in snapshot.events}
    audit.problem(
        "money events without a ledger row",
        sorted(event.id for event in snapshot.events if not rows_of_event[event.id]),
    )
    audit.problem(
        "money events with more than one ledger row",
        sorted(event_id for event_id, rows in rows_of_event.items() if rows > 1),
    )
    audit.problem(
        "ledger rows whose amount differs from their event",
        sorted(
            row.event_id
            for row in snapshot.ledger
            if (recorded := events_by_id.get(row.event_id)) is not None
            and abs(row.amount_vnd) != recorded.amount_vnd
        ),
    )
    received: Counter[int] = Counter()
    for event in snapshot.events:
        if event.kind == EventKind.MONEY_RECEIVED:
            received[event.intent_id] += event.amount_vnd
    paid_rows: Counter[int] = Counter()
    ledgered: Counter[int] = Counter()
    for row in snapshot.ledger:
        if row.amount_vnd > 0:
            paid_rows[row.intent_id] += 1
            ledgered[row.intent_id] += row.amount_vnd
    audit.problem(
        "intents whose received amount differs from their events or their ledger rows",
        sorted(
            intent.id
            for intent in snapshot.intents
            if not intent.received_vnd == received[intent.id] == ledgered[intent.id]
        ),
    )
    audit.problem(
        "settled intents (paid, over- or underpaid, refunded) without a ledger row",
        sorted(
            intent.id
            for intent in snapshot.intents
            if intent.status in SETTLED_STATUSES and not paid_rows[intent.id]
        ),
    )
    audit.facts.update(
        money_events=len(snapshot.events),
        ledger_rows=len(snapshot.ledger),
        intents_by_status=dict(sorted(Counter(str(i.status) for i in snapshot.intents).items())),
        intents_by_method=dict(sorted(Counter(str(i.method) for i in snapshot.intents).items())),
    )


def _check_stock(audit: Audit, snapshot: Snapshot, stocked: Mapping[int, int]) -> None:
    """No negative stock; each listing holds its opening stock less what orders still hold."""
    audit.problem(
        "listings with negative stock",
        sorted(f"{listing}={stock}" for listing, stock in snapshot.stock.items() if stock < 0),
    )
    audit.problem(
        "listings whose stock is not their opening stock less what orders hold",
        sorted(
            f"{listing}: {opening} - {snapshot.held.get(listing, 0)} != {snapshot.stock[listing]}"
            for listing, opening in stocked.items()
            if listing in snapshot.stock
            and opening - snapshot.held.get(listing, 0) != snapshot.stock[listing]
        ),
    )
    audit.facts.update(
        listings=len(stocked),
        units_held_by_orders=sum(snapshot.held.get(listing, 0) for listing in stocked),
    )
