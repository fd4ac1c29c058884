"""Cut a date range into reporting periods of Vietnam's local calendar."""

from datetime import date, timedelta

from market.core.errors import DomainError
from market.reports.model import Grain, Period

MAX_YEARS = 10


def check_range(start: date, end: date) -> None:
    """Refuse a backwards range or one longer than ten years."""
    if end < start:
        raise DomainError(
            f"The range ends ({end}) before it starts ({start}); swap the dates.",
            field="to",
            location="query",
            reason="backwards_range",
        )
    if end > _add_years(start, MAX_YEARS):
        raise DomainError(
            f"A report covers at most {MAX_YEARS} years; shorten the range.",
            field="to",
            location="query",
            reason="range_too_long",
        )


def periods(start: date, end: date, grain: Grain) -> tuple[Period, ...]:
    """Return the periods of `grain` that cover start..end, the first and last cut to the range."""
    found = []
    day = start
    while day <= end:
        period = period_of(day, grain)
        found.append(Period(grain, max(period.start, start), min(period.end, end), period.label))
        day = period.end + timedelta(days=1)
    return tuple(found)


def period_of(day: date, grain: Grain) -> Period:
    """Return the whole period of `grain` that contains `day`."""
    if grain == Grain.DAY:
        return Period(grain, day, day, day.isoformat())
    if grain == Grain.WEEK:
        monday = day - timedelta(days=day.weekday())
        year, week, _ = monday.isocalendar()
        return Period(grain, monday, monday + timedelta(days=6), f"{year}-W{week:02d}")
    if grain == Grain.MONTH:
        first = day.replace(day=1)
        return Period(grain, first, _add_months(first, 1) - timedelta(days=1), f"{day:%Y-%m}")
    if grain == Grain.QUARTER:
        quarter = (day.month - 1) // 3
        first = date(day.year, 3 * quarter + 1, 1)
        label = f"{day.year}-Q{quarter + 1}"
        return Period(grain, first, _add_months(first, 3) - timedelta(days=1), label)
    return Period(grain, date(day.year, 1, 1), date(day.year, 12, 31), str(day.year))


def previous(period: Period) -> Period:
    """Return the whole period just before `period`."""
    return period_of(period_of(period.start, period.grain).start - timedelta(days=1), period.grain)


def year_before(period: Period) -> Period:
    """Return the same stretch of days one year earlier, for year-on-year growth."""
    return Period(
        period.grain,
        _add_years(period.start, -1),
        _add_years(period.end, -1),
        f"{period.label} -1y",
    )


def covers_whole_months(start: date, end: date) -> bool:
    """Say whether start..end is made of whole calendar months, so monthly roll-ups fit it."""
    return start.day == 1 and (end + timedelta(days=1)).day == 1


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
