"""The audit log: who changed what, for money-related and administrative actions.

Services append events with `record_audit` in the transaction that makes the change, so the log
and the change commit or vanish together. Details name amounts, ids and masked accounts, never a
secret (tokens, passwords) and as little personal data as will identify the change.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.core.db import Base, UTCDateTime, utcnow
from market.core.principals import Principal


class AuditEvent(Base):
    """One action, appended in the same transaction as the change it describes; never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Null for a signed webhook or a system job; the role is kept if the account is deleted.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_role: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


ACTOR_KEY = "audit_actor"


def act_as(session: Session, actor: Principal | None) -> None:
    """Name who works through `session`; the request edge calls it once the caller is known.

    Services that take no principal (an administrator's writes on the catalog, markets and
    accounts) are audited under this actor, so their signatures stay free of a parameter that
    only the log would read.
    """
    session.info[ACTOR_KEY] = actor


def mask_account(account_number: str | None) -> str | None:
    """Keep the last four digits: enough for a person to recognise an account, not to pay into."""
    if account_number is None:
        return None
    return "*" * max(len(account_number) - 4, 0) + account_number[-4:]


def record_audit(
    session: Session,
    actor: Principal | None,
    action: str,
    subject_type: str,
    subject_id: object,
    **details: Any,
) -> AuditEvent:
    """Append an audit event for `action` on a subject; the caller's transaction commits it.

    Without an `actor`, the session's (see `act_as`) is used; with neither, the actor is the system
    (the command line, the simulator, a signed webhook).
    """
    actor = actor or session.info.get(ACTOR_KEY)
    event = AuditEvent(
        actor_user_id=actor.user_id if actor else None,
        actor_role=actor.role.value if actor else "system",
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=details,
    )
    session.add(event)
    return event
