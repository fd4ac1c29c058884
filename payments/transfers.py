"""Settle bank transfers reported by notification services against payment intents."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.core.db import attach_inserted, dialect_of, insert_for, table_of, utcnow
from payments.bank_formats import BankTransfer, find_reference
from payments.intents import intent_by_reference, record
from payments.models import BankNotification, EventKind, MatchStatus, PaymentIntent


@dataclass(frozen=True)
class Settlement:
    """What a notification led to: its stored row, the intent it paid, and whether it repeated."""

    notification: BankNotification
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
    notification = _store(session, transfer, _match(transfer, intent), intent)
    if notification is None:
        # Stored before, or by a concurrent worker whose commit this insert waited for.
        stored = _stored(session, transfer)
        assert stored is not None
        return Settlement(stored, None, duplicate=True)
    if intent is None or notification.match != MatchStatus.MATCHED:
        return Settlement(notification, intent, duplicate=False)
    recorded = record(
        session,
        intent,
        EventKind.MONEY_RECEIVED,
        transfer.amount_vnd,
        f"bank:{transfer.provider}",
        f"{transfer.provider}:{transfer.transaction_id}",
        transfer.occurred_at,
        {"memo": transfer.memo[:200]},
    )
    return Settlement(notification, recorded.intent, duplicate=recorded.duplicate)


def _match(transfer: BankTransfer, intent: PaymentIntent | None) -> MatchStatus:
    if not transfer.incoming:
        return MatchStatus.OUTGOING
    if intent is None:
        return MatchStatus.UNMATCHED
    if transfer.account_number != intent.payee_account:
        return MatchStatus.WRONG_ACCOUNT
    return MatchStatus.MATCHED


def _store(
    session: Session, transfer: BankTransfer, match: MatchStatus, intent: PaymentIntent | None
) -> BankNotification | None:
    """Store the notification, unless this provider's transaction is stored already."""
    values = {
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
    notification_id = session.execute(_insert_once(dialect_of(session)), values).scalar()
    if notification_id is None:
        return None
    return attach_inserted(session, BankNotification(id=notification_id, **values))


@cache
def _insert_once(dialect: str) -> Any:
    """Build the INSERT once per dialect: building it costs more than running it."""
    table = table_of(BankNotification)
    return (
        insert_for(dialect)(table)
        .on_conflict_do_nothing(index_elements=["provider", "transaction_id"])
        .returning(table.c.id)
    )


def _stored(session: Session, transfer: BankTransfer) -> BankNotification | None:
    return session.scalar(
        select(BankNotification).where(
            BankNotification.provider == transfer.provider,
            BankNotification.transaction_id == transfer.transaction_id,
        )
    )
