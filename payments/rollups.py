"""Keep the sales roll-ups in step with the ledger, in the same transaction as each change.

Reports read these small tables instead of scanning the ledger. Each change is an upsert that adds
to counters, so concurrent writers never lose an increment. Rows are always taken in one order
(stall days, then stall months, then market months, each sorted by key), so two transactions that
touch the same rows wait for each other instead of deadlocking. A stall-day row that counts a
payment implies its stall-month mark (both are written together, and migration 0006 filled them
so), which spares the mark's statement on a stall's second payment of a day.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from market.core.db import dialect_of, insert_for, table_of
from payments.models import (
    TALLY_COLUMNS,
    ActiveStallMonth,
    MarketMonthSales,
    PaymentMethod,
    StallDaySales,
)


@dataclass(frozen=True)
class Place:
    """Where a sale happened, as the intent froze it at checkout."""

    stall_id: int
    vendor_id: int
    market_id: int
    commune_code: str
    province_code: str


@dataclass(frozen=True)
class Change:
    """Counters to add for one place, local day and method."""

    place: Place
    local_date: date
    method: PaymentMethod
    counts: Mapping[str, int]


@dataclass(frozen=True)
class _Upserts:
    """The roll-ups' statements for one dialect, built once."""

    stall_days: Any
    active_stalls: Any
    market_months: Any


def first_of_month(day: date) -> date:
    """Return the first day of `day`'s month, the key of the monthly roll-ups."""
    return day.replace(day=1)


def roll_up(session: Session, changes: Iterable[Change]) -> None:
    """Add `changes` to the roll-ups: one statement per table, its rows in key order."""
    stall_days: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    market_months: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    places: dict[tuple[Any, ...], Place] = {}
    for change in changes:
        month = first_of_month(change.local_date)
        day_key = (change.local_date, change.place.stall_id, change.method.value)
        month_key = (month, change.place.market_id, change.method.value)
        stall_days[day_key].update(change.counts)
        market_months[month_key].update(change.counts)
        places[day_key] = places[month_key] = change.place
    if not stall_days:
        return
    upserts = _upserts(dialect_of(session))
    day_keys = sorted(stall_days)
    payments_today = session.execute(
        upserts.stall_days, [_stall_day(key, stall_days[key], places[key]) for key in day_keys]
    ).scalars()
    # A stall that had been paid earlier that day is marked active for the month already.
    first_today = {}
    for key, paid in zip(day_keys, payments_today, strict=True):
        added = stall_days[key]["payments"]
        first_today[key] = added > 0 and paid == added
    newly_active = _mark_active(session, upserts.active_stalls, first_today, places)
    session.execute(
        upserts.market_months,
        [
            _market_month(key, market_months[key], places[key], newly_active[key])
            for key in sorted(market_months)
        ],
    )


def _stall_day(key: tuple[Any, ...], counts: Counter[str], place: Place) -> dict[str, Any]:
    local_date, stall_id, method = key
    return {
        "local_date": local_date,
        "stall_id": stall_id,
        "method": method,
        "vendor_id": place.vendor_id,
        "market_id": place.market_id,
        "commune_code": place.commune_code,
        "province_code": place.province_code,
        **_tally(counts),
    }


def _market_month(
    key: tuple[Any, ...], counts: Counter[str], place: Place, newly_active: int
) -> dict[str, Any]:
    month, market_id, method = key
    return {
        "month": month,
        "market_id": market_id,
        "method": method,
        "commune_code": place.commune_code,
        "province_code": place.province_code,
        "active_stalls": newly_active,
        **_tally(counts),
    }


def _tally(counts: Counter[str]) -> dict[str, int]:
    # Every counter is written, zeros included, so each table needs one statement, built once.
    return {name: counts[name] for name in TALLY_COLUMNS}


def _mark_active(
    session: Session,
    statement: Any,
    first_today: Mapping[tuple[Any, ...], bool],
    places: Mapping[tuple[Any, ...], Place],
) -> Counter[tuple[Any, ...]]:
    """Mark stalls first paid today as active this month; count per market those marked now."""
    markets = {
        (first_of_month(local_date), stall_id, method): places[(local_date, stall_id, method)]
        for (local_date, stall_id, method), first in first_today.items()
        if first
    }
    newly_active: Counter[tuple[Any, ...]] = Counter()
    # One statement per row: RETURNING must tell which rows were new, and it is seldom more.
    for month, stall_id, method in sorted(markets):
        params = {"month": month, "stall_id": stall_id, "method": method}
        if session.execute(statement, params).first() is not None:
            market_id = markets[(month, stall_id, method)].market_id
            newly_active[(month, market_id, method)] += 1
    return newly_active


@cache
def _upserts(dialect: str) -> _Upserts:
    """Build the three statements once per dialect: building one costs more than running it."""
    insert = insert_for(dialect)
    active = table_of(ActiveStallMonth)
    return _Upserts(
        stall_days=_adding(
            insert, table_of(StallDaySales), ("local_date", "stall_id", "method")
        ).returning(table_of(StallDaySales).c.payments, sort_by_parameter_order=True),
        active_stalls=insert(active).on_conflict_do_nothing().returning(active.c.stall_id),
        market_months=_adding(
            insert,
            table_of(MarketMonthSales),
            ("month", "market_id", "method"),
            extra=("active_stalls",),
        ),
    )


def _adding(insert: Any, table: Table, key: tuple[str, ...], extra: tuple[str, ...] = ()) -> Any:
    """Return an upsert that inserts a row or adds its counters to the existing one."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in TALLY_COLUMNS + extra},
    )
