"""Keep the sales roll-ups in step with the ledger, in the same transaction as each change.

Reports read these small tables instead of scanning the ledger. Each change is an upsert that adds
to counters, so concurrent writers never lose an increment. Rows are always taken in one order
(stall days, then stall months, then market months, each sorted by key), so two transactions that
touch the same rows wait for each other instead of deadlocking.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payments.models import (
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


def first_of_month(day: date) -> date:
    """Return the first day of `day`'s month, the key of the monthly roll-ups."""
    return day.replace(day=1)


def roll_up(session: Session, changes: Iterable[Change]) -> None:
    """Add `changes` to the roll-ups; many changes to one row become one statement."""
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
    insert = _insert_for(session)
    for key in sorted(stall_days):
        local_date, stall_id, method = key
        place = places[key]
        _add(
            session,
            insert,
            StallDaySales.__table__,
            {"local_date": local_date, "stall_id": stall_id, "method": method},
            {
                "vendor_id": place.vendor_id,
                "market_id": place.market_id,
                "commune_code": place.commune_code,
                "province_code": place.province_code,
            },
            stall_days[key],
        )
    newly_active = _mark_active(session, insert, stall_days, places)
    for key in sorted(market_months):
        place = places[key]
        counts = market_months[key] + Counter({"active_stalls": newly_active[key]})
        _add(
            session,
            insert,
            MarketMonthSales.__table__,
            dict(zip(("month", "market_id", "method"), key, strict=True)),
            {"commune_code": place.commune_code, "province_code": place.province_code},
            counts,
        )


def _mark_active(
    session: Session,
    insert: Any,
    stall_days: Mapping[tuple[Any, ...], Counter[str]],
    places: Mapping[tuple[Any, ...], Place],
) -> Counter[tuple[Any, ...]]:
    """Mark stalls that received money this month; count per market those marked first now."""
    table = ActiveStallMonth.__table__
    markets = {
        (first_of_month(local_date), stall_id, method): places[(local_date, stall_id, method)]
        for (local_date, stall_id, method), counts in stall_days.items()
        if counts["payments"] > 0
    }
    newly_active: Counter[tuple[Any, ...]] = Counter()
    for month, stall_id, method in sorted(markets):
        statement = (
            insert(table)
            .values(month=month, stall_id=stall_id, method=method)
            .on_conflict_do_nothing()
            .returning(table.c.stall_id)
        )
        if session.execute(statement).first() is not None:
            market_id = markets[(month, stall_id, method)].market_id
            newly_active[(month, market_id, method)] += 1
    return newly_active


def _add(
    session: Session,
    insert: Any,
    table: FromClause,
    key: dict[str, Any],
    attributes: dict[str, Any],
    counts: Mapping[str, int],
) -> None:
    counts = {name: amount for name, amount in counts.items() if amount}
    statement = insert(table).values(**key, **attributes, **counts)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )
    session.execute(statement)


def _insert_for(session: Session) -> Any:
    """Return the dialect's INSERT, the one that knows ON CONFLICT."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
