"""Keep the sales roll-ups in step with the ledger, in the same transaction as each change.

Reports read these small tables instead of scanning the ledger. Each change is an upsert that adds
to counters, so concurrent writers never lose an increment. Rows are always taken in one order
(stall days, then stall months, then market months, each sorted by key), so two transactions that
touch the same rows wait for each other instead of deadlocking. A stall-day row that counts a
payment implies its stall-month mark (both are written together, and migration 0006 filled them
so), which spares the mark's statement on a stall's second payment of a day. A market's month is
split over rows by its stalls' shards (`market_month_shard`), so that a busy market's checkouts
and payments do not all wait for one row's lock.
"""

import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, CTE, Date, Table, and_, bindparam, cast, func, select
from sqlalchemy.orm import Session

from market.core.db import as_json, dialect_of, insert_for, insert_json, rows_of_json, table_of
from payments.models import (
    TALLY_COLUMNS,
    ActiveStallMonth,
    MarketMonthSales,
    PaymentMethod,
    StallDaySales,
    market_month_shard,
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


# From this many rows on, PostgreSQL gets them as arrays: below it, VALUES cost less than
# building and sending the arrays (a bank webhook adds one row).
ARRAYS_FROM = 100
DAY_KEY = ("local_date", "stall_id", "method")
MONTH_KEY = ("month", "market_id", "method", "shard")
# Names of the parameters of unpaid_upserts() and paid_upserts(): another statement's own must
# not collide with them.
DAYS_PARAM, MONTHS_PARAM = "issued_days", "issued_months"
PAID_DAYS_PARAM, PAID_MONTHS_PARAM = "paid_days", "paid_months"


@dataclass(frozen=True)
class _Upsert:
    """One roll-up statement, its rows as VALUES or, on PostgreSQL, as one array per column."""

    values: Any
    arrays: Any | None
    columns: tuple[str, ...]

    def run(self, session: Session, rows: list[dict[str, Any]]) -> Iterable[Any]:
        if self.arrays is None or len(rows) < ARRAYS_FROM:
            return session.execute(self.values, rows)
        return session.execute(
            self.arrays, {name: [row[name] for row in rows] for name in self.columns}
        )


@dataclass(frozen=True)
class _Upserts:
    """The roll-ups' statements for one dialect, built once."""

    stall_days: _Upsert
    active_stalls: _Upsert
    market_months: _Upsert


TALLY_INDEX = {name: index for index, name in enumerate(TALLY_COLUMNS)}
PAYMENTS = TALLY_INDEX["payments"]


def first_of_month(day: date) -> date:
    """Return the first day of `day`'s month, the key of the monthly roll-ups."""
    return day.replace(day=1)


class Totals:
    """Counters to add, summed per local day, stall and method; months are summed from them.

    The bulk writer adds a chunk of sales here and writes it with one statement per table.
    """

    def __init__(self) -> None:
        # The counters in TALLY_COLUMNS order: lists add up faster than Counters.
        self.stall_days: dict[tuple[Any, ...], list[int]] = {}
        self.places: dict[tuple[Any, ...], Place] = {}

    def add(
        self, place: Place, local_date: date, method: PaymentMethod, counts: Mapping[str, int]
    ) -> None:
        """Add `counts` to a stall's day and method."""
        key = (local_date, place.stall_id, method.value)
        row = self.stall_days.get(key)
        if row is None:
            row = self.stall_days[key] = [0] * len(TALLY_COLUMNS)
            self.places[key] = place
        for name, value in counts.items():
            row[TALLY_INDEX[name]] += value

    def __bool__(self) -> bool:
        return bool(self.stall_days)


def roll_up(session: Session, changes: Iterable[Change]) -> None:
    """Add `changes` to the roll-ups: one statement per table, its rows in key order."""
    write_totals(session, _totals(changes))


def write_totals(session: Session, totals: Totals) -> None:
    """Add `totals` to the stall-day, stall-month and market-month roll-ups, in key order."""
    if not totals:
        return
    stall_days, places = totals.stall_days, totals.places
    upserts = _upserts(dialect_of(session))
    rows = upserts.stall_days.run(session, _stall_day_rows(totals))
    # A stall that had been paid earlier that day is marked active for the month already.
    first_today = {}
    for local_date, stall_id, method, paid in rows:
        key = (local_date, stall_id, PaymentMethod(method).value)
        added = stall_days[key][PAYMENTS]
        first_today[key] = added > 0 and paid == added
    newly_active = _mark_active(session, upserts.active_stalls, first_today, places)
    upserts.market_months.run(session, _market_month_rows(totals, newly_active))


def unpaid_tallies(changes: Iterable[Change]) -> dict[str, str]:
    """Return the parameters of `unpaid_upserts()` for changes that count no payment.

    Without a payment no stall becomes active for a month, so these rows need nothing read
    from the database first: checkout sends them in the statement that writes the sale.
    """
    totals = _totals(changes)
    if any(counts[PAYMENTS] for counts in totals.stall_days.values()):
        raise ValueError("payments mark stalls active: roll them up with roll_up()")
    return _tally_params(totals, DAYS_PARAM, MONTHS_PARAM)


def paid_tallies(changes: Iterable[Change]) -> dict[str, str]:
    """Return the parameters of `paid_upserts()`: the rows to add, no stall marked active yet."""
    return _tally_params(_totals(changes), PAID_DAYS_PARAM, PAID_MONTHS_PARAM)


def _tally_params(totals: Totals, days_param: str, months_param: str) -> dict[str, str]:
    return {
        days_param: as_json(_stall_day_rows(totals)),
        months_param: as_json(_market_month_rows(totals, Counter())),
    }


def unpaid_upserts(only_if: Any) -> tuple[Any, Any]:
    """Return PostgreSQL's stall-day and market-month upserts of `unpaid_tallies`' rows.

    A caller puts them in a statement of its own, which caches it, as common table expressions.
    Nothing is added unless `only_if` holds (the sale was written).
    """
    return (
        _adding(insert_json(table_of(StallDaySales), DAYS_PARAM, only_if=only_if), DAY_KEY),
        _adding(
            insert_json(table_of(MarketMonthSales), MONTHS_PARAM, only_if=only_if),
            MONTH_KEY,
            extra=("active_stalls",),
        ),
    )


def paid_upserts(only_if: Any) -> tuple[CTE, CTE, CTE]:
    """Return `write_totals` in PostgreSQL's SQL, for `paid_tallies`' rows: three expressions.

    For a statement of the caller's own, which caches it, in the roll-ups' lock order: the
    stall days; the marks of the stalls whose day row holds just this statement's payments
    (their first that day); the market months, counting as active the stalls whose mark was
    new. Nothing is added unless `only_if` holds (the payment was written).
    """
    days, active, months = (
        table_of(StallDaySales),
        table_of(ActiveStallMonth),
        table_of(MarketMonthSales),
    )
    paid_days = (
        _adding(insert_json(days, PAID_DAYS_PARAM, only_if=only_if), DAY_KEY)
        .returning(*[days.c[name] for name in (*DAY_KEY, "market_id", "payments")])
        .cte("paid_days")
    )
    added = rows_of_json(days, [*DAY_KEY, "payments"], PAID_DAYS_PARAM).subquery("added")
    day_month = cast(func.date_trunc("month", paid_days.c.local_date), Date)
    newly_active = (
        insert_for("postgresql")(active)
        .from_select(
            ["month", "stall_id", "method"],
            select(day_month, paid_days.c.stall_id, paid_days.c.method)
            .join_from(
                paid_days,
                added,
                and_(*[paid_days.c[name] == added.c[name] for name in DAY_KEY]),
            )
            .where(added.c.payments > 0, paid_days.c.payments == added.c.payments),
        )
        .on_conflict_do_nothing()
        .returning(active.c.month, active.c.stall_id, active.c.method)
        .cte("newly_active")
    )
    rows = (
        rows_of_json(months, months.c.keys(), PAID_MONTHS_PARAM)
        .where(only_if)
        .subquery("month_rows")
    )
    marked = (
        select(func.count())
        .select_from(newly_active)
        .join(
            paid_days,
            and_(
                paid_days.c.stall_id == newly_active.c.stall_id,
                paid_days.c.method == newly_active.c.method,
                day_month == newly_active.c.month,
            ),
        )
        .where(
            newly_active.c.month == rows.c.month,
            newly_active.c.method == rows.c.method,
            paid_days.c.market_id == rows.c.market_id,
            market_month_shard(newly_active.c.stall_id) == rows.c.shard,
        )
        .scalar_subquery()
    )
    paid_months = _adding(
        insert_for("postgresql")(months).from_select(
            months.c.keys(),
            select(
                *[
                    rows.c[name] + marked if name == "active_stalls" else rows.c[name]
                    for name in months.c.keys()
                ]
            ),
        ),
        MONTH_KEY,
        extra=("active_stalls",),
    ).cte("paid_months")
    return paid_days, newly_active, paid_months


def _totals(changes: Iterable[Change]) -> Totals:
    totals = Totals()
    for change in changes:
        totals.add(change.place, change.local_date, change.method, change.counts)
    return totals


def _stall_day_rows(totals: Totals) -> list[dict[str, Any]]:
    """Return the stall-day rows to add, in key order."""
    return [
        _stall_day(key, totals.stall_days[key], totals.places[key])
        for key in sorted(totals.stall_days)
    ]


def _market_month_rows(
    totals: Totals, newly_active: Mapping[tuple[Any, ...], int]
) -> list[dict[str, Any]]:
    """Return the market-month rows to add, in key order: the stall days summed by month."""
    market_months: dict[tuple[Any, ...], list[int]] = {}
    places = {}
    for key, counts in totals.stall_days.items():
        local_date, _, method = key
        place = totals.places[key]
        month_key = _month_key(local_date, place, method)
        month = market_months.setdefault(month_key, [0] * len(TALLY_COLUMNS))
        month[:] = map(operator.add, month, counts)
        places[month_key] = place
    return [
        _market_month(key, market_months[key], places[key], newly_active.get(key, 0))
        for key in sorted(market_months)
    ]


def _month_key(local_date: date, place: Place, method: str) -> tuple[Any, ...]:
    """Return the key of the market-month row (its stall's shard) a stall's day adds to."""
    return (first_of_month(local_date), place.market_id, method, market_month_shard(place.stall_id))


def _stall_day(key: tuple[Any, ...], counts: list[int], place: Place) -> dict[str, Any]:
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
    key: tuple[Any, ...], counts: list[int], place: Place, newly_active: int
) -> dict[str, Any]:
    month, market_id, method, shard = key
    return {
        "month": month,
        "market_id": market_id,
        "method": method,
        "shard": shard,
        "commune_code": place.commune_code,
        "province_code": place.province_code,
        "active_stalls": newly_active,
        **_tally(counts),
    }


def _tally(counts: list[int]) -> dict[str, int]:
    # Every counter is written, zeros included, so each table needs one statement, built once.
    return dict(zip(TALLY_COLUMNS, counts, strict=True))


def _mark_active(
    session: Session,
    upsert: _Upsert,
    first_today: Mapping[tuple[Any, ...], bool],
    places: Mapping[tuple[Any, ...], Place],
) -> Counter[tuple[Any, ...]]:
    """Mark stalls first paid today as active this month; count those marked now per month row."""
    # Each new mark's key, and the market-month row that counts its stall active.
    month_rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for day_key, first in first_today.items():
        if first:
            local_date, stall_id, method = day_key
            month_rows[(first_of_month(local_date), stall_id, method)] = _month_key(
                local_date, places[day_key], method
            )
    newly_active: Counter[tuple[Any, ...]] = Counter()
    if not month_rows:
        return newly_active
    # One statement for all of them: RETURNING gives the keys of the rows it inserted.
    params = [
        {"month": month, "stall_id": stall_id, "method": method}
        for month, stall_id, method in sorted(month_rows)
    ]
    for month, stall_id, method in upsert.run(session, params):
        newly_active[month_rows[(month, stall_id, PaymentMethod(method).value)]] += 1
    return newly_active


@cache
def _upserts(dialect: str) -> _Upserts:
    """Build the three statements once per dialect: building one costs more than running it.

    RETURNING names each row's key, so that no statement has to give its rows back in parameter
    order: asked to, SQLAlchemy sends an upsert one row at a time (10,000 stall days took 1.8 s
    on PostgreSQL). There many rows go as arrays, one per column, in a single statement; as
    thousands of VALUES instead, psycopg spent 1.1 s parsing the 21 statements' text.
    """
    insert = insert_for(dialect)
    days, active = table_of(StallDaySales), table_of(ActiveStallMonth)
    months = table_of(MarketMonthSales)

    def upsert(table: Table, finish: Callable[[Any], Any]) -> _Upsert:
        """Return the roll-up that `finish` makes of an INSERT into `table`, in both forms."""
        arrays = finish(_from_arrays(insert, table)) if dialect == "postgresql" else None
        return _Upsert(finish(insert(table)), arrays, tuple(table.c.keys()))

    return _Upserts(
        stall_days=upsert(
            days,
            lambda statement: _adding(statement, DAY_KEY).returning(
                days.c.local_date, days.c.stall_id, days.c.method, days.c.payments
            ),
        ),
        active_stalls=upsert(
            active,
            lambda statement: statement.on_conflict_do_nothing().returning(
                active.c.month, active.c.stall_id, active.c.method
            ),
        ),
        market_months=upsert(
            months,
            lambda statement: _adding(statement, MONTH_KEY, extra=("active_stalls",)),
        ),
    )


def _from_arrays(insert: Any, table: Table) -> Any:
    """Return an INSERT of the rows zipped from one array parameter per column."""
    names = list(table.c.keys())
    rows = select(
        *[func.unnest(cast(bindparam(name), ARRAY(table.c[name].type))) for name in names]
    )
    return insert(table).from_select(names, rows)


def _adding(statement: Any, key: tuple[str, ...], extra: tuple[str, ...] = ()) -> Any:
    """Make an INSERT an upsert that adds its counters to those of the row already there."""
    table = statement.table
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in TALLY_COLUMNS + extra},
    )
