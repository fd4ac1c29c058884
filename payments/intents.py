"""Payment intents: open them, record what happens to them, and write the ledger.

`apply_event` is the only place a status changes. Money is counted exactly once because every
event from outside carries the provider's own id as `dedupe_key`, which the database keeps unique:
a second delivery of the same notification finds the first and changes nothing.
"""

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from market.core.clock import vietnam_date
from market.core.db import (
    DriverStatement,
    attach_inserted,
    attach_loaded,
    dialect_of,
    insert_for,
    table_of,
    utcnow,
)
from market.core.errors import Conflict, DomainError, NotFound
from market.core.ids import base32, public_id
from payments import vietqr
from payments.changes import note_status_change
from payments.gateways.card import MAX_CARD_AMOUNT_VND, MIN_CARD_AMOUNT_VND
from payments.models import (
    CLOSED_WITHOUT_MONEY,
    OPEN_STATUSES,
    EventKind,
    LedgerEntry,
    LedgerKind,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    PaymentStatus,
)
from payments.rollups import Change, Place, roll_up

DEFAULT_TTL = timedelta(minutes=15)
# OC, two base-32 digits that change slowly (market.core.ids says why), six of a random body:
# ten characters, short enough for gateways that keep 9-12 memo characters.
REFERENCE_PREFIX = "OC"
BUCKET_DIGITS, BODY_DIGITS = 2, 6
BUCKETS, BODY_BITS = 32**BUCKET_DIGITS, 5 * BODY_DIGITS


@dataclass(frozen=True)
class Sale:
    """What the checkout asks payments to collect, and where the sale happens."""

    # None at checkout, which learns it as it writes the order (Opening.for_order); the bulk
    # writer draws its ids beforehand.
    order_id: int | None
    amount_vnd: int
    vendor_id: int
    stall_id: int
    market_id: int
    commune_code: str
    province_code: str
    is_ocop: bool
    payee_bin: str
    payee_account: str
    stall_label: str


# Where a sale happened: frozen on the intent at checkout and copied onto each ledger row.
PLACE_FIELDS = ("vendor_id", "stall_id", "market_id", "commune_code", "province_code", "is_ocop")


class IntentState(Protocol):
    """What the state machine reads and changes: a PaymentIntent, or the bulk writer's own."""

    method: PaymentMethod
    status: PaymentStatus
    amount_vnd: int
    received_vnd: int
    refunded_vnd: int
    attention: str | None


def _place(source: Sale | PaymentIntent) -> dict[str, Any]:
    return {name: getattr(source, name) for name in PLACE_FIELDS}


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording an event: the intent after it, and whether it was a repeat."""

    intent: PaymentIntent
    duplicate: bool


@dataclass(frozen=True)
class _Statements:
    """The statements every payment runs, for one dialect."""

    insert_intent: Any
    insert_event: Any
    insert_ledger_row: Any
    recorded: Any


@cache
def _statements(dialect: str) -> _Statements:
    """Build the hot statements once per dialect: building one costs more than running it."""
    intents, events = table_of(PaymentIntent), table_of(PaymentEvent)
    dialect_insert = insert_for(dialect)
    return _Statements(
        # A reference drawn twice finds the first: no row comes back, and another is drawn.
        insert_intent=dialect_insert(intents)
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(intents.c.id),
        # Exactly-once: a second event with the same dedupe_key inserts nothing.
        insert_event=dialect_insert(events)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(events.c.id),
        insert_ledger_row=insert(table_of(LedgerEntry)),
        recorded=select(events.c.intent_id).where(events.c.dedupe_key == bindparam("key")),
    )


def spell_reference(bucket: int, body: int) -> str:
    """Spell a reference: OC, the bucket (mod 1,024) in two digits, the body's 30 bits in six."""
    return REFERENCE_PREFIX + base32(bucket % BUCKETS, BUCKET_DIGITS) + base32(body, BODY_DIGITS)


def new_reference(now: datetime) -> str:
    """Return a fresh order reference such as OC7K2Q9D4X, bucketed by its UTC day."""
    return spell_reference(int(now.timestamp()) // 86_400, secrets.randbits(BODY_BITS))


@dataclass(frozen=True)
class Opening:
    """An intent ready to be written: its row, its created event and what it adds to roll-ups.

    Checkout plans it before writing anything, so that on PostgreSQL the order, the intent and
    the stock go to the database in one statement (market.sales.services); elsewhere
    `insert_opening` writes it and `roll_up` its changes.
    """

    sale: Sale
    method: PaymentMethod
    ttl: timedelta
    now: datetime
    values: dict[str, Any]  # the intent's row, without its id
    created: dict[str, Any]  # the created event's row, without its intent_id
    changes: list[Change]

    def redrawn(self) -> "Opening":
        """Return this opening with another reference (and so another code), after a clash."""
        values = _intent_values(self.sale, self.method, new_reference(self.now), self.ttl, self.now)
        return replace(self, values={**values, "order_id": self.values["order_id"]})

    def for_order(self, order_id: int) -> "Opening":
        return replace(self, values={**self.values, "order_id": order_id})


def plan_opening(
    sale: Sale, method: PaymentMethod, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None
) -> Opening:
    """Check that `method` can collect `sale` and return the rows that open its intent.

    A VietQR intent carries its dynamic code and counts as a code issued in the roll-ups.
    """
    now = now or utcnow()
    check_method_amount(method, sale.amount_vnd)
    changes = []
    if method == PaymentMethod.VIETQR:
        changes.append(Change(_place_of(sale), vietnam_date(now), method, {"qr_issued": 1}))
    return Opening(
        sale,
        method,
        ttl,
        now,
        _intent_values(sale, method, new_reference(now), ttl, now),
        _event_values(None, EventKind.CREATED, 0, "checkout", None, now, {"method": method}),
        changes,
    )


def insert_opening(session: Session, opening: Opening) -> tuple[int, Opening]:
    """Write an opened intent and its created event (not its roll-ups); return its id and it.

    A reference drawn twice finds the first: no row comes back, and another is drawn (the
    opening returned is the one written).
    """
    statements = _statements(dialect_of(session))
    for _ in range(5):  # a collision: 2^30 bodies a day make a second one vanishingly rare
        intent_id = session.execute(statements.insert_intent, opening.values).scalar()
        if intent_id is not None:
            break
        opening = opening.redrawn()
    else:
        raise RuntimeError("could not draw a unique payment reference")
    _append(session, {**opening.created, "intent_id": intent_id})
    return intent_id, opening


def adopt_opening(session: Session, intent_id: int, opening: Opening) -> PaymentIntent:
    """Return the intent that `opening` wrote as `intent_id`, in the session as if loaded."""
    return attach_inserted(session, PaymentIntent, {"id": intent_id, **opening.values})


def check_method_amount(method: PaymentMethod, amount_vnd: int) -> None:
    """Refuse a card payment outside the amounts cards take."""
    if method == PaymentMethod.CARD and not (
        MIN_CARD_AMOUNT_VND <= amount_vnd <= MAX_CARD_AMOUNT_VND
    ):
        raise DomainError(
            f"Cards take {MIN_CARD_AMOUNT_VND:,} to {MAX_CARD_AMOUNT_VND:,} dong; "
            f"this order is {amount_vnd:,}. Pay by QR or cash instead.",
            field="method",
            reason="amount_out_of_card_range",
        )


def qr_payload(sale: Sale, method: PaymentMethod, reference: str) -> str | None:
    """Return the dynamic VietQR a VietQR intent shows, with its reference as the purpose."""
    if method != PaymentMethod.VIETQR:
        return None
    return vietqr.encode(
        vietqr.VietQR(
            bin=sale.payee_bin,
            account=sale.payee_account,
            amount=sale.amount_vnd,
            purpose=reference,
            bill_number=reference,
            store_label=sale.stall_label,
        )
    )


def _intent_values(
    sale: Sale, method: PaymentMethod, reference: str, ttl: timedelta, now: datetime
) -> dict[str, Any]:
    return {
        "public_id": public_id("pay_", now),
        "order_id": sale.order_id,
        "method": method,
        "status": PaymentStatus.PENDING,
        "amount_vnd": sale.amount_vnd,
        "received_vnd": 0,
        "refunded_vnd": 0,
        "reference": reference,
        "payee_bin": sale.payee_bin,
        "payee_account": sale.payee_account,
        "qr_payload": qr_payload(sale, method, reference),
        "expires_at": None if method == PaymentMethod.CASH else now + ttl,
        "attention": None,
        "created_at": now,
        "updated_at": utcnow(),
        **_place(sale),
    }


def get_intent(session: Session, public_id: str, lock: bool = False) -> PaymentIntent:
    """Return an intent by its public id, locked for update when `lock` (a no-op on SQLite)."""
    intent = session.scalar(_lookup("public_id", lock), {"value": public_id})
    if intent is None:
        raise NotFound(f"There is no payment {public_id}.", field="payment_id", location="path")
    return intent


def intent_by_reference(
    session: Session, reference: str, lock: bool = False
) -> PaymentIntent | None:
    """Return the intent whose reference a memo carried, if any."""
    if lock and dialect_of(session) == "postgresql":
        rows = _LOCK_BY_REFERENCE.rows(session, {"value": reference})
        return attach_loaded(session, PaymentIntent, rows[0]._asdict()) if rows else None
    return session.scalar(_lookup("reference", lock), {"value": reference})


@cache
def _lookup(column: str, lock: bool) -> Select[PaymentIntent]:
    """Build once the query for one intent by a unique column; `lock` takes the row lock."""
    query = select(PaymentIntent).where(getattr(PaymentIntent, column) == bindparam("value"))
    if lock:  # with the values as they are once the lock is ours
        query = query.with_for_update().execution_options(populate_existing=True)
    return query


# The same query, run on the driver's cursor: the bank webhook's hottest read.
_LOCK_BY_REFERENCE = DriverStatement(_lookup("reference", True))


def check_refundable(intent: IntentState, amount_vnd: int) -> None:
    """Refuse a refund of more than was received and not yet refunded."""
    refundable = intent.received_vnd - intent.refunded_vnd
    if not 0 < amount_vnd <= refundable:
        raise DomainError(
            f"At most {refundable:,} dong can be refunded on this payment.",
            field="amount_vnd",
            reason="refund_too_large",
        )


# The intent's columns the state machine changes, and all an event changes (Recording.after's).
STATE_COLUMNS = ("status", "received_vnd", "refunded_vnd", "attention")
EVENT_CHANGES = (*STATE_COLUMNS, "updated_at")


@dataclass(frozen=True)
class Recording:
    """An event ready to be written, with what it makes of its intent, ledger and roll-ups.

    `record` plans one before writing anything, and so does a bank transfer on PostgreSQL,
    which then writes it all in one statement (payments.transfers).
    """

    event: dict[str, Any]  # the event's row, without its id
    after: dict[str, Any]  # the intent's columns the event changes, with their new values
    ledger: dict[str, Any] | None  # the ledger row, without its event_id, if money settled
    changes: list[Change]


@dataclass
class _State:
    """A copy of an intent's state, for planning an event without touching the intent."""

    method: PaymentMethod
    status: PaymentStatus
    amount_vnd: int
    received_vnd: int
    refunded_vnd: int
    attention: str | None


def plan_recording(
    intent: PaymentIntent,
    kind: EventKind,
    amount_vnd: int,
    source: str,
    dedupe_key: str | None,
    occurred_at: datetime,
    details: dict[str, Any],
) -> Recording:
    """Return the rows that record an event on `intent`, or raise if its status refuses it."""
    state = _State(
        intent.method,
        intent.status,
        intent.amount_vnd,
        intent.received_vnd,
        intent.refunded_vnd,
        intent.attention,
    )
    late = intent.status in CLOSED_WITHOUT_MONEY
    ledger_kind = apply_event(state, kind, amount_vnd)
    after = {**{name: getattr(state, name) for name in STATE_COLUMNS}, "updated_at": utcnow()}
    event = _event_values(intent.id, kind, amount_vnd, source, dedupe_key, occurred_at, details)
    if ledger_kind is not None:
        ledger = _ledger_values(intent, ledger_kind, amount_vnd, occurred_at, late)
        changes = [_money_change(intent, ledger_kind, amount_vnd, ledger["local_date"], late)]
        return Recording(event, after, ledger, changes)
    changes = []
    if kind == EventKind.EXPIRED and intent.method == PaymentMethod.VIETQR:
        changes.append(_change(intent, vietnam_date(intent.created_at), qr_expired=1))
    return Recording(event, after, None, changes)


def record(
    session: Session,
    intent: PaymentIntent,
    kind: EventKind,
    amount_vnd: int,
    source: str,
    dedupe_key: str | None,
    occurred_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    batch: list[Change] | None = None,
) -> Recorded:
    """Record an event once: apply it to the locked intent, with its ledger row and roll-ups.

    A repeat of an already recorded `dedupe_key` changes nothing and returns the first event's
    intent; a refused transition raises and leaves no trace. With a `batch`, the roll-up changes
    are added to it for the caller to apply at once, instead of now.
    """
    occurred_at = occurred_at or utcnow()
    try:
        plan = plan_recording(
            intent, kind, amount_vnd, source, dedupe_key, occurred_at, details or {}
        )
    except DomainError:
        # A repeat of an event recorded while it was still allowed is a repeat, not a refusal.
        if dedupe_key is not None and (earlier := recorded_before(session, dedupe_key)):
            return earlier
        raise
    event_id = _append(session, plan.event)
    if event_id is None:
        # Recorded before, or by a concurrent worker between our check and our insert.
        earlier = recorded_before(session, dedupe_key) if dedupe_key else None
        assert earlier is not None, "only a dedupe_key makes an event insert nothing"
        return earlier
    for name, value in plan.after.items():
        setattr(intent, name, value)
    if plan.ledger is not None:
        session.execute(
            _statements(dialect_of(session)).insert_ledger_row,
            {**plan.ledger, "event_id": event_id},
        )
    if batch is None:
        roll_up(session, plan.changes)
    else:
        batch.extend(plan.changes)
    return Recorded(intent, duplicate=False)


def adopt_recording(session: Session, intent: PaymentIntent, recording: Recording) -> None:
    """Make `intent` hold the state a statement wrote for `recording`, as if loaded so."""
    if recording.after["status"] != intent.status:
        note_status_change(session, intent.public_id)
    for name, value in recording.after.items():
        set_committed_value(intent, name, value)


def recorded_before(session: Session, dedupe_key: str) -> Recorded | None:
    """Return the outcome of the event recorded with `dedupe_key`, with its intent fresh."""
    statement = _statements(dialect_of(session)).recorded
    intent_id = session.execute(statement, {"key": dedupe_key}).scalar()
    if intent_id is None:
        return None
    intent = session.get_one(PaymentIntent, intent_id, populate_existing=True)
    return Recorded(intent, duplicate=True)


def _append(session: Session, values: dict[str, Any]) -> int | None:
    """Append an event; return its id, or None when its dedupe_key was recorded already."""
    return session.execute(_statements(dialect_of(session)).insert_event, values).scalar()


def _event_values(
    intent_id: int | None,
    kind: EventKind,
    amount_vnd: int,
    source: str,
    dedupe_key: str | None,
    occurred_at: datetime,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "intent_id": intent_id,
        "kind": kind,
        "amount_vnd": amount_vnd,
        "source": source,
        "dedupe_key": dedupe_key,
        "occurred_at": occurred_at,
        "details": details,
        "recorded_at": utcnow(),
    }


def check_transition(intent: IntentState, kind: EventKind, amount_vnd: int) -> None:
    """Refuse an event that the intent's status does not allow; change nothing."""
    if kind == EventKind.REFUNDED:
        check_refundable(intent, amount_vnd)
    elif kind in (EventKind.EXPIRED, EventKind.CANCELLED) and intent.status not in OPEN_STATUSES:
        raise Conflict(
            f"A {intent.status.value} payment cannot be {kind.value}.",
            reason="payment_not_open",
        )


def apply_event(intent: IntentState, kind: EventKind, amount_vnd: int) -> LedgerKind | None:
    """Move `intent` to the status an event implies; return the ledger kind if money settled.

    Refused transitions raise a DomainError and leave the intent as it was.
    """
    check_transition(intent, kind, amount_vnd)
    if kind == EventKind.MONEY_RECEIVED:
        late = intent.status in CLOSED_WITHOUT_MONEY
        intent.received_vnd += amount_vnd
        intent.status = _status_after_money(intent)
        intent.attention = _attention(intent, late)
        return LedgerKind.PAYMENT
    if kind == EventKind.REFUNDED:
        intent.refunded_vnd += amount_vnd
        intent.status = _status_after_money(intent)
        return LedgerKind.REFUND
    if kind == EventKind.EXPIRED:
        intent.status = PaymentStatus.EXPIRED
    elif kind == EventKind.CANCELLED:
        intent.status = PaymentStatus.CANCELLED
    return None


def _status_after_money(intent: IntentState) -> PaymentStatus:
    if intent.refunded_vnd:
        if intent.refunded_vnd == intent.received_vnd:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED
    if intent.received_vnd < intent.amount_vnd:
        return PaymentStatus.UNDERPAID
    if intent.received_vnd > intent.amount_vnd:
        return PaymentStatus.OVERPAID
    return PaymentStatus.PAID


def _attention(intent: IntentState, late: bool) -> str | None:
    """Say what the vendor must do about this payment, if anything."""
    notes = []
    if late:
        notes.append("paid after the payment window closed: check the goods are still available")
    if intent.status == PaymentStatus.UNDERPAID:
        notes.append(f"{intent.amount_vnd - intent.received_vnd:,} dong still to pay")
    if intent.status == PaymentStatus.OVERPAID:
        notes.append(f"{intent.received_vnd - intent.amount_vnd:,} dong too much: return it")
    return "; ".join(notes) or None


def _ledger_values(
    intent: PaymentIntent, kind: LedgerKind, amount_vnd: int, occurred_at: datetime, late: bool
) -> dict[str, Any]:
    """Return the ledger row of a settled event, without its event_id."""
    return {
        "intent_id": intent.id,
        "kind": kind,
        "method": intent.method,
        "amount_vnd": amount_vnd if kind == LedgerKind.PAYMENT else -amount_vnd,
        "is_late": late,
        "occurred_at": occurred_at,
        "local_date": vietnam_date(occurred_at),
        **_place(intent),
    }


def _change(intent: PaymentIntent, local_date: date, **counts: int) -> Change:
    return Change(_place_of(intent), local_date, intent.method, counts)


def _place_of(source: Sale | PaymentIntent) -> Place:
    return Place(
        stall_id=source.stall_id,
        vendor_id=source.vendor_id,
        market_id=source.market_id,
        commune_code=source.commune_code,
        province_code=source.province_code,
    )


def _money_change(
    intent: PaymentIntent, kind: LedgerKind, amount_vnd: int, local_date: date, late: bool
) -> Change:
    """Count a ledger row: the roll-ups hold exactly what a scan of the ledger would add up."""
    ocop = intent.is_ocop
    if kind == LedgerKind.PAYMENT:
        return _change(
            intent,
            local_date,
            payments=1,
            paid_vnd=amount_vnd,
            late_payments=int(late),
            ocop_payments=int(ocop),
            ocop_paid_vnd=amount_vnd if ocop else 0,
        )
    return _change(
        intent,
        local_date,
        refunds=1,
        refunded_vnd=amount_vnd,
        ocop_refunded_vnd=amount_vnd if ocop else 0,
    )


def expire_due(session: Session, now: datetime | None = None) -> list[PaymentIntent]:
    """Expire every pending intent whose window has closed; return them (their stock is freed)."""
    now = now or utcnow()
    due = session.scalars(
        select(PaymentIntent)
        .where(PaymentIntent.status == PaymentStatus.PENDING, PaymentIntent.expires_at <= now)
        .order_by(PaymentIntent.id)
        .with_for_update(skip_locked=True)
    ).all()
    changes: list[Change] = []
    for intent in due:
        record(session, intent, EventKind.EXPIRED, 0, "system", None, now, batch=changes)
    roll_up(session, changes)
    return list(due)
