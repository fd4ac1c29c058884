"""A moment belongs to its day in Vietnam (UTC+7), whatever zone it was given in."""

from datetime import UTC, date, datetime, timedelta, timezone

from market.core.clock import VIETNAM, vietnam_date


def test_a_morning_market_belongs_to_its_own_local_day() -> None:
    # 05:00 in Vietnam is 22:00 the evening before in UTC.
    assert vietnam_date(datetime(2026, 12, 4, 22, 0, tzinfo=UTC)) == date(2026, 12, 5)
    assert vietnam_date(datetime(2026, 12, 4, 16, 59, 59, tzinfo=UTC)) == date(2026, 12, 4)
    assert vietnam_date(datetime(2026, 12, 4, 17, 0, tzinfo=UTC)) == date(2026, 12, 5)


def test_every_zone_gives_the_same_local_day() -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    for minutes in range(0, 24 * 60, 7):
        moment = start + timedelta(minutes=minutes)
        expected = moment.astimezone(VIETNAM).date()
        assert vietnam_date(moment) == expected
        assert vietnam_date(moment.astimezone(paris)) == expected
        assert vietnam_date(moment.astimezone(VIETNAM)) == expected
