"""Payment intents: open them, record what happens to them, and write the ledger.

`apply_event` is the only place a status changes. Money is counted exactly once because every
event from outside carries the provider's own id as `dedupe_key`, which the database keeps unique:
a second delivery of the same notification finds the first and changes nothing.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.core.clock import vietnam_date
from market.core.db import utcnow
from market.core.errors import Conflict, DomainError, NotFound
from payments import vietqr
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
# Crockford's base32 without I, L, O, U: nothing a shopper or a bank's memo can misread.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "OC"
REFERENCE_LENGTH = 10  # short enough for gateways that keep 9-12 memo characters


@dataclass(frozen=True)
class Sale:
    """What the checkout asks payments to collect, and where the sale happens."""

    order_id: int
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


def _place(source: Sale | PaymentIntent) -> dict[str, Any]:
    return {name: getattr(source, name) for name in PLACE_FIELDS}


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording an event: the intent after it, and whether it was a repeat."""

    intent: PaymentIntent
    event: PaymentEvent
    duplicate: bool


def new_reference() -> str:
    """Return a fresh order reference such as OC7K2Q9D4X."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH - 2))
    return REFERENCE_PREFIX + body


def open_intent(
    session: Session,
    sale: Sale,
    method: PaymentMethod,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> PaymentIntent:
    """Open the intent that collects `sale`; a VietQR one carries its dynamic code."""
    now = now or utcnow()
    if method == PaymentMethod.CARD and not (
        MIN_CARD_AMOUNT_VND <= sale.amount_vnd <= MAX_CARD_AMOUNT_VND
    ):
        raise DomainError(
            f"Cards take {MIN_CARD_AMOUNT_VND:,} to {MAX_CARD_AMOUNT_VND:,} dong; "
            f"this order is {sale.amount_vnd:,}. Pay by QR or cash instead.",
            field="method",
            reason="amount_out_of_card_range",
        )
    for _ in range(5):
        intent = _build_intent(sale, method, new_reference(), ttl, now)
        try:
            with session.begin_nested():
                session.add(intent)
                session.flush()
            break
        except IntegrityError:  # a reference collision: 32^8 makes a second one vanishingly rare
            continue
    else:
        raise RuntimeError("could not draw a unique payment reference")
    _append(session, intent, EventKind.CREATED, 0, "checkout", None, now, {"method": method})
    if method == PaymentMethod.VIETQR:
        roll_up(session, [_change(intent, vietnam_date(now), qr_issued=1)])
    return intent


def _build_intent(
    sale: Sale, method: PaymentMethod, reference: str, ttl: timedelta, now: datetime
) -> PaymentIntent:
    payload = None
    if method == PaymentMethod.VIETQR:
        payload = vietqr.encode(
            vietqr.VietQR(
                bin=sale.payee_bin,
                account=sale.payee_account,
                amount=sale.amount_vnd,
                purpose=reference,
                bill_number=reference,
                store_label=sale.stall_label,
            )
        )
    return PaymentIntent(
        public_id="pay_" + secrets.token_urlsafe(16),
        order_id=sale.order_id,
        method=method,
        status=PaymentStatus.PENDING,
        amount_vnd=sale.amount_vnd,
        received_vnd=0,
        refunded_vnd=0,
        reference=reference,
        payee_bin=sale.payee_bin,
        payee_account=sale.payee_account,
        qr_payload=payload,
        expires_at=None if method == PaymentMethod.CASH else now + ttl,
        created_at=now,
        **_place(sale),
    )


def get_intent(session: Session, public_id: str, lock: bool = False) -> PaymentIntent:
    """Return an intent by its public id, locked for update when `lock` (a no-op on SQLite)."""
    query = select(PaymentIntent).where(PaymentIntent.public_id == public_id)
    intent = _one(session, query, lock)
    if intent is None:
        raise NotFound(f"There is no payment {public_id}.", field="payment_id", location="path")
    return intent


def intent_by_reference(
    session: Session, reference: str, lock: bool = False
) -> PaymentIntent | None:
    """Return the intent whose reference a memo carried, if any."""
    return _one(session, select(PaymentIntent).where(PaymentIntent.reference == reference), lock)


def _one(session: Session, query: Select[Any], lock: bool) -> PaymentIntent | None:
    """Run a one-intent query, taking the row lock (and fresh values) when `lock`."""
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def check_refundable(intent: PaymentIntent, amount_vnd: int) -> None:
    """Refuse a refund of more than was received and not yet refunded."""
    refundable = intent.received_vnd - intent.refunded_vnd
    if not 0 < amount_vnd <= refundable:
        raise DomainError(
            f"At most {refundable:,} dong can be refunded on this payment.",
            field="amount_vnd",
            reason="refund_too_large",
        )


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

    A repeat of an already recorded `dedupe_key` changes nothing and returns the first event; a
    refused transition raises and leaves no trace. With a `batch`, the roll-up changes are added
    to it for the caller to apply at once, instead of now.
    """
    if dedupe_key is not None and (earlier := _recorded(session, dedupe_key)) is not None:
        return Recorded(earlier.intent, earlier, duplicate=True)
    try:
        with session.begin_nested():
            event = _append(
                session,
                intent,
                kind,
                amount_vnd,
                source,
                dedupe_key,
                occurred_at or utcnow(),
                details or {},
            )
            late = intent.status in CLOSED_WITHOUT_MONEY
            ledger_kind = apply_event(intent, event)
            changes = []
            if ledger_kind is not None:
                row = _ledger_row(intent, event, ledger_kind, late)
                session.add(row)
                changes.append(_money_change(intent, row))
            elif event.kind == EventKind.EXPIRED and intent.method == PaymentMethod.VIETQR:
                changes.append(_change(intent, vietnam_date(intent.created_at), qr_expired=1))
            session.flush()
            if batch is None:
                roll_up(session, changes)
            else:
                batch.extend(changes)
    except IntegrityError:
        # Another worker recorded the same delivery between our look-up and our insert.
        earlier = _recorded(session, dedupe_key) if dedupe_key else None
        if earlier is None:
            raise
        session.refresh(intent)
        return Recorded(earlier.intent, earlier, duplicate=True)
    return Recorded(intent, event, duplicate=False)


def _recorded(session: Session, dedupe_key: str) -> PaymentEvent | None:
    return session.scalar(select(PaymentEvent).where(PaymentEvent.dedupe_key == dedupe_key))


def _append(
    session: Session,
    intent: PaymentIntent,
    kind: EventKind,
    amount_vnd: int,
    source: str,
    dedupe_key: str | None,
    occurred_at: datetime,
    details: dict[str, Any],
) -> PaymentEvent:
    event = PaymentEvent(
        intent=intent,
        kind=kind,
        amount_vnd=amount_vnd,
        source=source,
        dedupe_key=dedupe_key,
        occurred_at=occurred_at,
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def apply_event(intent: PaymentIntent, event: PaymentEvent) -> LedgerKind | None:
    """Move `intent` to the status `event` implies; return the ledger kind if money settled.

    Refused transitions raise a DomainError and leave the intent as it was.
    """
    amount = event.amount_vnd
    if event.kind == EventKind.MONEY_RECEIVED:
        late = intent.status in CLOSED_WITHOUT_MONEY
        intent.received_vnd += amount
        intent.status = _status_after_money(intent)
        intent.attention = _attention(intent, late)
        return LedgerKind.PAYMENT
    if event.kind == EventKind.REFUNDED:
        check_refundable(intent, amount)
        intent.refunded_vnd += amount
        intent.status = _status_after_money(intent)
        return LedgerKind.REFUND
    if event.kind in (EventKind.EXPIRED, EventKind.CANCELLED):
        if intent.status not in OPEN_STATUSES:
            raise Conflict(
                f"A {intent.status.value} payment cannot be {event.kind.value}.",
                reason="payment_not_open",
            )
        intent.status = (
            PaymentStatus.EXPIRED if event.kind == EventKind.EXPIRED else PaymentStatus.CANCELLED
        )
    return None


def _status_after_money(intent: PaymentIntent) -> PaymentStatus:
    if intent.refunded_vnd:
        if intent.refunded_vnd == intent.received_vnd:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED
    if intent.received_vnd < intent.amount_vnd:
        return PaymentStatus.UNDERPAID
    if intent.received_vnd > intent.amount_vnd:
        return PaymentStatus.OVERPAID
    return PaymentStatus.PAID


def _attention(intent: PaymentIntent, late: bool) -> str | None:
    """Say what the vendor must do about this payment, if anything."""
    notes = []
    if late:
        notes.append("paid after the payment window closed: check the goods are still available")
    if intent.status == PaymentStatus.UNDERPAID:
        notes.append(f"{intent.amount_vnd - intent.received_vnd:,} dong still to pay")
    if intent.status == PaymentStatus.OVERPAID:
        notes.append(f"{intent.received_vnd - intent.amount_vnd:,} dong too much: return it")
    return "; ".join(notes) or None


def _ledger_row(
    intent: PaymentIntent, event: PaymentEvent, kind: LedgerKind, late: bool
) -> LedgerEntry:
    sign = 1 if kind == LedgerKind.PAYMENT else -1
    return LedgerEntry(
        event_id=event.id,
        intent_id=intent.id,
        kind=kind,
        method=intent.method,
        amount_vnd=sign * event.amount_vnd,
        is_late=late,
        occurred_at=event.occurred_at,
        local_date=vietnam_date(event.occurred_at),
        **_place(intent),
    )


def _change(intent: PaymentIntent, local_date: date, **counts: int) -> Change:
    place = Place(
        stall_id=intent.stall_id,
        vendor_id=intent.vendor_id,
        market_id=intent.market_id,
        commune_code=intent.commune_code,
        province_code=intent.province_code,
    )
    return Change(place, local_date, intent.method, counts)


def _money_change(intent: PaymentIntent, row: LedgerEntry) -> Change:
    """Count a ledger row: the roll-ups hold exactly what a scan of the ledger would add up."""
    amount = abs(row.amount_vnd)
    ocop = intent.is_ocop
    if row.kind == LedgerKind.PAYMENT:
        return _change(
            intent,
            row.local_date,
            payments=1,
            paid_vnd=amount,
            late_payments=int(row.is_late),
            ocop_payments=int(ocop),
            ocop_paid_vnd=amount if ocop else 0,
        )
    return _change(
        intent,
        row.local_date,
        refunds=1,
        refunded_vnd=amount,
        ocop_refunded_vnd=amount if ocop else 0,
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
