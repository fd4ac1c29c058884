"""Settle bank transfers reported by notification services against payment intents."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from market.core.db import (
    DriverStatement,
    as_json,
    dialect_of,
    insert_for,
    insert_json,
    table_of,
    utcnow,
)
from payments.bank_formats import BankTransfer, find_reference
from payments.intents import (
    EVENT_CHANGES,
    adopt_recording,
    intent_by_reference,
    plan_recording,
    record,
    recorded_before,
)
from payments.models import (
    BankNotification,
    EventKind,
    LedgerEntry,
    MatchStatus,
    PaymentEvent,
    PaymentIntent,
)
from payments.rollups import paid_tallies, paid_upserts


@dataclass(frozen=True)
class Settlement:
    """What a notification led to: how it matched, the intent it paid, and whether it repeated."""

    match: MatchStatus
    intent: PaymentIntent | None
    duplicate: bool


def settle_transfer(session: Session, transfer: BankTransfer) -> Settlement:
    """Record a reported transfer once, and count it towards the intent its memo names.

    Transfers that name no intent, or pay the wrong account, are kept and flagged, never lost.
    """
    intent = None
    if transfer.incoming and (reference := find_reference(transfer)):
        # Locked before the notification is stored: every worker takes the two in this order.
        intent = intent_by_reference(session, reference, lock=True)
    match = _match(transfer, intent)
    values = _notification_values(transfer, match, intent)
    if intent is not None and match == MatchStatus.MATCHED and dialect_of(session) == "postgresql":
        return _settle_at_once(session, transfer, intent, values)
    if not _store(session, values):
        return _repeated(session, transfer)
    if intent is None or match != MatchStatus.MATCHED:
        return Settlement(match, intent, duplicate=False)
    recorded = record(session, intent, **_money_received(transfer))
    return Settlement(match, recorded.intent, duplicate=recorded.duplicate)


def _settle_at_once(
    session: Session, transfer: BankTransfer, intent: PaymentIntent, values: dict[str, Any]
) -> Settlement:
    """Store a matched transfer and record its money as `_store` and `record` do, at once.

    PostgreSQL writes the notification, the event, the intent's new state, the ledger row and
    the roll-ups in one statement (`_settle_statement()`) instead of seven; each write after the
    notification's happens only if the one before it did, so a repeat changes nothing.
    """
    money = _money_received(transfer)
    plan = plan_recording(intent, **money)
    assert plan.ledger is not None, "money received always settles"
    parameters = {
        table_of(BankNotification).name: as_json([values]),
        table_of(PaymentEvent).name: as_json([plan.event]),
        table_of(LedgerEntry).name: as_json([plan.ledger]),
        "intent_id": intent.id,
        **{f"after_{name}": value for name, value in plan.after.items()},
        **paid_tallies(plan.changes),
    }
    [written] = _settle_statement().rows(session, parameters)
    if written.notification_id is None:
        return _repeated(session, transfer)
    if written.event_id is None:  # recorded before under the same key, by another way in
        earlier = recorded_before(session, money["dedupe_key"])
        assert earlier is not None
        return Settlement(MatchStatus.MATCHED, earlier.intent, duplicate=True)
    adopt_recording(session, intent, plan)
    return Settlement(MatchStatus.MATCHED, intent, duplicate=False)


@cache
def _settle_statement() -> DriverStatement:
    """Build PostgreSQL's statement behind `_settle_at_once`, once.

    It returns the ids of the notification and the event it wrote, or None for a repeat.
    """
    notifications, events = table_of(BankNotification), table_of(PaymentEvent)
    intents, ledger = table_of(PaymentIntent), table_of(LedgerEntry)
    stored = (
        insert_json(notifications)
        .on_conflict_do_nothing(index_elements=["provider", "transaction_id"])
        .returning(notifications.c.id)
        .cte("stored_notification")
    )
    event = (
        insert_json(events, only_if=exists(select(stored.c.id)))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(events.c.id)
        .cte("money_event")
    )
    event_written = exists(select(event.c.id))
    ledger_row = insert_json(ledger, given={"event_id": event.c.id}).cte("ledger_row")
    paid_intent = (
        update(intents)
        .where(intents.c.id == bindparam("intent_id"), event_written)
        .values(
            {name: bindparam(f"after_{name}", type_=intents.c[name].type) for name in EVENT_CHANGES}
        )
        .cte("paid_intent")
    )
    return DriverStatement(
        select(
            select(stored.c.id).scalar_subquery().label("notification_id"),
            select(event.c.id).scalar_subquery().label("event_id"),
        ).add_cte(ledger_row, paid_intent, *paid_upserts(event_written))
    )


def _repeated(session: Session, transfer: BankTransfer) -> Settlement:
    """Answer a notification stored before, or by a concurrent worker whose commit we waited for."""
    match = session.scalar(
        select(BankNotification.match).where(
            BankNotification.provider == transfer.provider,
            BankNotification.transaction_id == transfer.transaction_id,
        )
    )
    assert match is not None
    return Settlement(match, None, duplicate=True)


def _money_received(transfer: BankTransfer) -> dict[str, Any]:
    """Return the event of the money a transfer brought, as `record` takes it."""
    return {
        "kind": EventKind.MONEY_RECEIVED,
        "amount_vnd": transfer.amount_vnd,
        "source": f"bank:{transfer.provider}",
        "dedupe_key": f"{transfer.provider}:{transfer.transaction_id}",
        "occurred_at": transfer.occurred_at,
        "details": {"memo": transfer.memo[:200]},
    }


def _match(transfer: BankTransfer, intent: PaymentIntent | None) -> MatchStatus:
    if not transfer.incoming:
        return MatchStatus.OUTGOING
    if intent is None:
        return MatchStatus.UNMATCHED
    if transfer.account_number != intent.payee_account:
        return MatchStatus.WRONG_ACCOUNT
    return MatchStatus.MATCHED


def _notification_values(
    transfer: BankTransfer, match: MatchStatus, intent: PaymentIntent | None
) -> dict[str, Any]:
    return {
        "provider": transfer.provider,
        "transaction_id": transfer.transaction_id,
        "account_number": transfer.account_number,
        "amount_vnd": transfer.amount_vnd,
        "memo": transfer.memo[:500],
        "occurred_at": transfer.occurred_at,
        "match": match,
        "intent_id": intent.id if intent is not None else None,
        "received_at": utcnow(),
    }


def _store(session: Session, values: dict[str, Any]) -> bool:
    """Store the notification, unless this provider's transaction is stored already."""
    return session.execute(_insert_once(dialect_of(session)), values).scalar() is not None


@cache
def _insert_once(dialect: str) -> Any:
    """Build the INSERT once per dialect: building it costs more than running it."""
    table = table_of(BankNotification)
    return (
        insert_for(dialect)(table)
        .on_conflict_do_nothing(index_elements=["provider", "transaction_id"])
        .returning(table.c.id)
    )
