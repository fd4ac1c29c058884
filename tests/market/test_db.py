"""Times reach the database as the moments they are: a naive one is refused, not guessed."""

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql

from market.core.db import UTCDateTime, as_json


def test_a_naive_datetime_is_refused_on_both_ways_to_the_database() -> None:
    naive = datetime(2026, 12, 5, 5, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(naive, postgresql.dialect())
    with pytest.raises(ValueError, match="naive datetime"):
        as_json([{"created_at": naive}])


def test_json_rows_keep_each_moment_and_day() -> None:
    hanoi = timezone(timedelta(hours=7))
    morning = datetime(2026, 12, 5, 5, 0, tzinfo=hanoi)
    [row] = json.loads(as_json([{"at": morning, "day": date(2026, 12, 5), "paid": 10_000}]))
    assert datetime.fromisoformat(row["at"]) == datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    assert (row["day"], row["paid"]) == ("2026-12-05", 10_000)
