"""Settle bank transfers reported by notification services against payment intents."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
    earlier = _stored(session, transfer)
    if earlier is not None:
        return Settlement(earlier, None, duplicate=True)
    notification = BankNotification(
        provider=transfer.provider,
        transaction_id=transfer.transaction_id,
        account_number=transfer.account_number,
        amount_vnd=transfer.amount_vnd,
        memo=transfer.memo[:500],
        occurred_at=transfer.occurred_at,
        match=MatchStatus.OUTGOING if not transfer.incoming else MatchStatus.UNMATCHED,
    )
    try:
        with session.begin_nested():
            session.add(notification)
            session.flush()
    except IntegrityError:
        # A second worker stored the same delivery first; it does the counting.
        stored = _stored(session, transfer)
        assert stored is not None
        return Settlement(stored, None, duplicate=True)
    if not transfer.incoming:
        return Settlement(notification, None, duplicate=False)
    reference = find_reference(transfer)
    intent = intent_by_reference(session, reference, lock=True) if reference else None
    if intent is None:
        return Settlement(notification, None, duplicate=False)
    notification.intent_id = intent.id
    if transfer.account_number != intent.payee_account:
        notification.match = MatchStatus.WRONG_ACCOUNT
        session.flush()
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
    notification.match = MatchStatus.MATCHED
    session.flush()
    return Settlement(notification, recorded.intent, duplicate=recorded.duplicate)


def _stored(session: Session, transfer: BankTransfer) -> BankNotification | None:
    return session.scalar(
        select(BankNotification).where(
            BankNotification.provider == transfer.provider,
            BankNotification.transaction_id == transfer.transaction_id,
        )
    )
