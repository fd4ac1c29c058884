"""Vietnam's local time: stored times are UTC, reported ones belong to the local day."""

from datetime import date, datetime, timedelta, timezone

from market.core.db import utcnow

# Asia/Ho_Chi_Minh is UTC+7 without daylight saving since 1975; a fixed offset needs no tzdata.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


def vietnam_date(moment: datetime) -> date:
    """Return the local day of an aware moment: a 05:00 market belongs to that day, not UTC's."""
    return moment.astimezone(VIETNAM).date()


def vietnam_today() -> date:
    """Return today's date in Vietnam."""
    return vietnam_date(utcnow())
