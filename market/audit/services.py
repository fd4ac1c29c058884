"""Query the audit log; the events themselves are written by the services that act."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select

from market.core.audit import AuditEvent
from market.core.clock import VIETNAM
from market.core.errors import DomainError


@dataclass(frozen=True)
class AuditFilter:
    """What an administrator narrows the log by; days are Vietnam's local days, inclusive."""

    subject_type: str | None = None
    subject_id: str | None = None
    actor_user_id: int | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None


def local_day_start(day: date) -> datetime:
    """Return the UTC moment a Vietnamese local day begins."""
    return datetime.combine(day, time(), VIETNAM)


def audit_query(criteria: AuditFilter) -> Select[Any]:
    """Select audit events matching `criteria`, newest first (id breaks ties, so pages hold)."""
    if criteria.start and criteria.end and criteria.end < criteria.start:
        raise DomainError("'to' must not be before 'from'.", field="to", location="query")
    query = select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if criteria.subject_type:
        query = query.where(AuditEvent.subject_type == criteria.subject_type)
    if criteria.subject_id:
        query = query.where(AuditEvent.subject_id == criteria.subject_id)
    if criteria.actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == criteria.actor_user_id)
    if criteria.action:
        query = query.where(AuditEvent.action == criteria.action)
    if criteria.start:
        query = query.where(AuditEvent.occurred_at >= local_day_start(criteria.start))
    if criteria.end:
        query = query.where(AuditEvent.occurred_at < local_day_start(criteria.end + timedelta(1)))
    return query
