"""Build cashless-adoption reports for a place and a run of periods, and record reported figures.

Sales indicators add up the roll-ups (or, as a yardstick, the ledger); stall, catalog and market
indicators count what stood at the end of each period. Every value names how it was measured.
"""

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any

import numpy as np
from sqlalchemy import String, case, func, select, type_coerce
from sqlalchemy.orm import Session

from catalog.models import Certification, EcommerceListing, Producer, Product
from market.core.audit import record_audit
from market.core.errors import DomainError
from market.core.principals import Principal
from market.markets.models import Market, MarketKind, Stall
from market.places.models import Commune, Province
from market.reports import charts
from market.reports.indicators import INDICATORS, MEASURED
from market.reports.model import Grain, Period, Place, Report, Source, Unit, Value
from market.reports.models import ReportedFigure
from market.reports.periods import check_range, period_of, periods, year_before
from market.reports.periods import previous as previous_period
from market.reports.sales import (
    SalesBuckets,
    Scope,
    day_number_of,
    local_day_number_of,
    local_midnight,
    read_sales,
)
from market.vendors.models import Listing, Vendor
from payments.models import PaymentMethod

CASHLESS_METHODS = (PaymentMethod.VIETQR, PaymentMethod.CARD)
HUNDRED = Decimal(100)
COUNTRY = Place("country", "VN", "Việt Nam")
EXPIRING_WINDOW = timedelta(days=90)
ONE_DAY = timedelta(days=1)
MONTHLY_GRAINS = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)
SALES_CODES = {
    "TRANSACTIONS",
    "NONCASH_SHARE_COUNT",
    "NONCASH_SHARE_VALUE",
    "NONCASH_GROWTH_COUNT",
    "NONCASH_GROWTH_VALUE",
    "QR_TX_GROWTH_COUNT",
    "QR_TX_GROWTH_VALUE",
    "VENDOR_QR_ACTIVE_RATE",
    "TX_PER_QR_POINT",
    "AVG_TICKET_BY_METHOD",
    "QR_FAILURE_RATE",
    "OCOP_SALES",
    "OCOP_SALES_VALUE",
}
STALL_CODES = {"VENDOR_QR_COVERAGE", "QR_ACCEPTANCE_POINTS", "VENDOR_QR_ACTIVE_RATE"}
STALL_CODES |= {"TX_PER_QR_POINT"}
OCOP_CODES = {"OCOP_PRODUCTS", "OCOP_NEW", "OCOP_EXPIRING_90D", "OCOP_EXPIRED", "OCOP_ON_ECOM"}
MARKET_CODES = {
    "MARKETS_4_0": MarketKind.MARKET_4_0,
    "CASHLESS_STREETS": MarketKind.CASHLESS_STREET,
}


@dataclass(frozen=True)
class ReportQuery:
    """What an official asks for: places, a date range and grain, indicators, a second range."""

    places: Sequence[Place]
    start: date
    end: date
    grain: Grain = Grain.MONTH
    indicators: Sequence[str] = ()
    compare_start: date | None = None
    compare_end: date | None = None

    @property
    def file_name(self) -> str:
        """Name downloads after what they hold, e.g. ocop-04-2026-01-01-2026-06-30-month."""
        places = "-".join(place.code for place in self.places)
        return f"ocop-{places}-{self.start}-{self.end}-{self.grain.value}"


def report_query(session: Session, args: dict[str, Any]) -> ReportQuery:
    """Turn validated query arguments into a report query, resolving and checking places."""
    return ReportQuery(
        places=[resolve_place(session, text) for text in args["place"]],
        start=args["start"],
        end=args["end"],
        grain=args["grain"],
        indicators=check_indicators(args["indicator"]),
        compare_start=args.get("compare_start"),
        compare_end=args.get("compare_end"),
    )


def resolve_place(session: Session, text: str) -> Place:
    """Read a place as officials write it: VN, 04 or province:04, 01273 or commune:01273,
    market:12, vendor:5."""
    level, _, code = text.strip().rpartition(":")
    code = code.strip()
    if code.upper() == "VN" and level in ("", "country"):
        return COUNTRY
    if not level:
        level = {2: "province", 5: "commune"}.get(len(code), "")
    name = None
    if level == "province":
        name = session.scalar(select(Province.name).where(Province.code == code))
    elif level == "commune":
        name = session.scalar(select(Commune.name).where(Commune.code == code))
    elif level in ("market", "vendor") and code.isdigit():
        model: Any = Market if level == "market" else Vendor
        row = session.get(model, int(code))
        name = None if row is None else getattr(row, "name", None) or row.display_name
    if name is None:
        raise DomainError(
            f"There is no place {text!r}. Write VN, a province code (04), a commune code "
            "(01273), market:<id> or vendor:<id>.",
            field="place",
            location="query",
            reason="unknown_place",
        )
    return Place(level, code, name)


def check_indicators(codes: Iterable[str]) -> tuple[str, ...]:
    """Return the asked indicator codes, all measured ones if none, refusing unknown codes."""
    codes = tuple(code.strip().upper() for code in codes)
    unknown = [code for code in codes if code not in INDICATORS]
    if unknown:
        raise DomainError(
            f"Unknown indicator {', '.join(unknown)}; GET /api/v1/reports/catalogue lists them.",
            field="indicator",
            location="query",
            reason="unknown_indicator",
        )
    return codes or MEASURED


def build_report(session: Session, query: ReportQuery, from_ledger: bool = False) -> Report:
    """Compute the asked indicators for each place over each period of the range(s)."""
    codes = check_indicators(query.indicators)
    ranges = [(query.start, query.end)]
    if query.compare_start and query.compare_end:
        ranges.append((query.compare_start, query.compare_end))
    all_periods: list[Period] = []
    values: list[Value] = []
    for start, end in ranges:
        check_range(start, end)
        run = periods(start, end, query.grain)
        all_periods.extend(run)
        for place in query.places:
            values.extend(_place_values(session, place, run, set(codes), from_ledger))
    return Report(
        places=tuple(query.places),
        periods=tuple(all_periods),
        indicators=tuple(INDICATORS[code] for code in codes),
        values=tuple(values),
    )


def _place_values(
    session: Session, place: Place, run: Sequence[Period], codes: set[str], from_ledger: bool
) -> list[Value]:
    scope = Scope(place.level, place.code)
    source = _place_source(session, scope)
    values: list[Value] = []
    if codes & (SALES_CODES | STALL_CODES):
        stalls = _StallCensus.read(session, scope)
        sales = None
        if codes & SALES_CODES:
            first = run[0]
            earliest = min(previous_period(first).start, year_before(first).start)
            by_month = first.grain in MONTHLY_GRAINS
            sales = read_sales(session, scope, earliest, run[-1].end, by_month, from_ledger)
        for simulated in _sources(sales, stalls, source):
            measured = Source.SIMULATED if simulated else Source.RECORDED
            emit = _Emitter(place, measured, values)
            for period in run:
                if sales is not None:
                    _sales_values(emit, codes, sales, stalls, period, simulated)
                if codes & STALL_CODES:
                    _coverage_values(emit, codes, stalls, period, simulated)
    if codes & OCOP_CODES:
        _ocop_values(_Emitter(place, source, values), codes, session, scope, run)
    if codes & MARKET_CODES.keys() and place.level in ("country", "province", "commune"):
        _market_values(_Emitter(place, source, values), codes, session, scope, run)
    _reported_values(values, session, place, run, codes)
    return values


class _Emitter:
    """Append values for one place and source, so each indicator reads as one line."""

    def __init__(self, place: Place, source: Source, values: list[Value]) -> None:
        self.place, self.source, self.values = place, source, values

    def __call__(
        self,
        code: str,
        period: Period,
        numerator: int | None,
        denominator: int | None = None,
        note: str = "",
        **dimensions: str,
    ) -> None:
        unit = INDICATORS[code].unit
        value: Decimal | int | None
        if denominator is None or unit == Unit.COUNT:
            value = numerator
        elif not denominator:
            value, note = None, note or "mẫu số bằng 0 trong kỳ này (nothing to divide by)"
        elif unit == Unit.VND:
            value = int(_divide(numerator or 0, denominator, Decimal(1)))
        elif unit == Unit.RATIO:
            value = _divide(numerator or 0, denominator, Decimal("0.01"))
        else:
            value = _divide(100 * (numerator or 0), denominator, Decimal("0.01"))
        self.values.append(
            Value(
                code, self.place, period, value, unit, self.source,
                numerator, denominator, dimensions, note=note,
            )
        )  # fmt: skip


def _divide(numerator: int, denominator: int, step: Decimal) -> Decimal:
    return (Decimal(numerator) / Decimal(denominator)).quantize(step, ROUND_HALF_UP)


def _sales_values(
    emit: _Emitter,
    codes: set[str],
    sales: SalesBuckets,
    stalls: "_StallCensus",
    period: Period,
    simulated: bool,
) -> None:
    totals = _Totals(sales, period, simulated)
    if "TRANSACTIONS" in codes:
        for method in PaymentMethod:
            emit("TRANSACTIONS", period, totals.count(method), method=method.value)
    if "NONCASH_SHARE_COUNT" in codes:
        emit("NONCASH_SHARE_COUNT", period, totals.cashless_count, totals.count())
    if "NONCASH_SHARE_VALUE" in codes:
        emit("NONCASH_SHARE_VALUE", period, totals.cashless_value, totals.value())
    for against, earlier in (
        ("previous", previous_period(period)),
        ("year_ago", year_before(period)),
    ):
        before = _Totals(sales, earlier, simulated)
        qr = PaymentMethod.VIETQR
        growth = {
            "NONCASH_GROWTH_COUNT": (totals.cashless_count, before.cashless_count),
            "NONCASH_GROWTH_VALUE": (totals.cashless_value, before.cashless_value),
            "QR_TX_GROWTH_COUNT": (totals.count(qr), before.count(qr)),
            "QR_TX_GROWTH_VALUE": (totals.value(qr), before.value(qr)),
        }
        for code, (now, then) in growth.items():
            if code in codes:
                note = f"so với {earlier.label} ({earlier.start:%d/%m/%Y}–{earlier.end:%d/%m/%Y})"
                emit(code, period, now - then, then, note, vs=against)
    if "AVG_TICKET_BY_METHOD" in codes:
        for method in PaymentMethod:
            paid = totals.counter(method)["paid_vnd"]
            emit("AVG_TICKET_BY_METHOD", period, paid, totals.count(method), method=method.value)
    if "QR_FAILURE_RATE" in codes:
        codes_shown = totals.counter(PaymentMethod.VIETQR)
        emit("QR_FAILURE_RATE", period, codes_shown["qr_expired"], codes_shown["qr_issued"])
    if "OCOP_SALES" in codes:
        emit("OCOP_SALES", period, totals.sum("ocop_payments"))
    if "OCOP_SALES_VALUE" in codes:
        emit(
            "OCOP_SALES_VALUE",
            period,
            totals.sum("ocop_paid_vnd") - totals.sum("ocop_refunded_vnd"),
        )
    if codes & {"VENDOR_QR_ACTIVE_RATE", "TX_PER_QR_POINT"}:
        _monthly_qr_values(emit, codes, sales, stalls, period, simulated, totals)


def _monthly_qr_values(
    emit: _Emitter,
    codes: set[str],
    sales: SalesBuckets,
    stalls: "_StallCensus",
    period: Period,
    simulated: bool,
    totals: "_Totals",
) -> None:
    """Active-QR rate and payments per QR point, counted in stall-months."""
    if period.grain not in MONTHLY_GRAINS:
        note = "chỉ tiêu theo tháng: chọn kỳ tháng, quý hoặc năm (a monthly indicator)"
        for code in codes & {"VENDOR_QR_ACTIVE_RATE", "TX_PER_QR_POINT"}:
            emit(code, period, None, 0, note)
        return
    qr_months = 0
    month = period_of(period.start, Grain.MONTH)
    while month.start <= period.end:
        qr_months += stalls.showing_qr(month.end, simulated)
        month = period_of(month.end + timedelta(days=1), Grain.MONTH)
    if "VENDOR_QR_ACTIVE_RATE" in codes:
        active = sales.stall_months(period.start, period.end, PaymentMethod.VIETQR, simulated)
        emit("VENDOR_QR_ACTIVE_RATE", period, active, qr_months)
    if "TX_PER_QR_POINT" in codes:
        emit("TX_PER_QR_POINT", period, totals.cashless_count, qr_months)


class _Totals:
    """A period's counters for one source, by method."""

    def __init__(self, sales: SalesBuckets, period: Period, simulated: bool) -> None:
        totals = sales.total(period.start, period.end)
        self.by_method = {
            method: totals.get((method, simulated), Counter()) for method in PaymentMethod
        }
        self.cashless_count = sum(self.count(method) for method in CASHLESS_METHODS)
        self.cashless_value = sum(self.value(method) for method in CASHLESS_METHODS)

    def counter(self, method: PaymentMethod) -> Counter[str]:
        return self.by_method[method]

    def count(self, method: PaymentMethod | None = None) -> int:
        return self.sum("payments", method)

    def value(self, method: PaymentMethod | None = None) -> int:
        """Value received net of refunds."""
        return self.sum("paid_vnd", method) - self.sum("refunded_vnd", method)

    def sum(self, name: str, method: PaymentMethod | None = None) -> int:
        methods = PaymentMethod if method is None else (method,)
        return sum(self.by_method[each][name] for each in methods)


def _coverage_values(
    emit: _Emitter, codes: set[str], stalls: "_StallCensus", period: Period, simulated: bool
) -> None:
    showing = stalls.showing_qr(period.end, simulated)
    if "VENDOR_QR_COVERAGE" in codes:
        emit("VENDOR_QR_COVERAGE", period, showing, stalls.open(period.end, simulated))
    if "QR_ACCEPTANCE_POINTS" in codes:
        emit("QR_ACCEPTANCE_POINTS", period, showing)


class _StallCensus:
    """How many stalls of a place opened, closed and put up a QR on each local day, cumulated."""

    def __init__(self) -> None:
        # (simulated, event) -> sorted day numbers and the running count up to each
        self.days: dict[tuple[bool, str], tuple[list[int], list[int]]] = {}

    @classmethod
    def read(cls, session: Session, scope: Scope) -> "_StallCensus":
        """Count per day in SQL, in one pass: a country's 20,000 stalls one by one cost 0.2 s."""
        opened, closed, qr = (
            local_day_number_of(session, moment)
            for moment in (Stall.created_at, Stall.closed_at, Stall.qr_since)
        )
        query = (
            select(Market.simulated, opened, closed, qr, func.count())
            .join(Market, Market.id == Stall.market_id)
            .group_by(Market.simulated, opened, closed, qr)
        )
        per_day: dict[tuple[bool, str], Counter[int]] = {}
        for simulated, *days, count in session.connection().execute(_scoped(query, scope)):
            opened_on, closed_on, qr_on = days
            events = {"opened": opened_on, "closed": closed_on, "qr": qr_on}
            if qr_on is not None:
                events["qr_closed"] = closed_on
            for name, day in events.items():
                if day is not None:
                    per_day.setdefault((simulated, name), Counter())[day] += count
        census = cls()
        for key, counts in per_day.items():
            days = sorted(counts)
            census.days[key] = (days, list(accumulate(counts[day] for day in days)))
        return census

    def simulated_flags(self) -> set[bool]:
        return {simulated for simulated, _ in self.days}

    def _by(self, name: str, day: date, simulated: bool) -> int:
        """Count stalls whose `name` event fell on or before local `day`."""
        days, running = self.days.get((simulated, name), ([], []))
        position = bisect_right(days, _day_number(day))
        return running[position - 1] if position else 0

    def open(self, day: date, simulated: bool) -> int:
        """Count stalls open at the end of local `day`."""
        return self._by("opened", day, simulated) - self._by("closed", day, simulated)

    def showing_qr(self, day: date, simulated: bool) -> int:
        """Count open stalls showing a VietQR at the end of local `day`."""
        return self._by("qr", day, simulated) - self._by("qr_closed", day, simulated)


def _scoped(query: Any, scope: Scope) -> Any:
    """Narrow a query that joins Market (and Stall for vendors) down to `scope`."""
    if scope.level == "province":
        return query.join(Commune, Commune.code == Market.commune_code).where(
            Commune.province_code == scope.code
        )
    if scope.level == "commune":
        return query.where(Market.commune_code == scope.code)
    if scope.level == "market":
        return query.where(Market.id == int(scope.code))
    if scope.level == "vendor":
        return query.where(Stall.vendor_id == int(scope.code))
    return query


def _place_source(session: Session, scope: Scope) -> Source:
    """Label counts of places and products: simulated when every market in the place is."""
    query = select(Market.simulated).distinct()
    if scope.level == "vendor":
        query = query.join(Stall, Stall.market_id == Market.id)
    flags = set(session.scalars(_scoped(query, scope)))
    return Source.SIMULATED if flags == {True} else Source.RECORDED


def _sources(sales: SalesBuckets | None, stalls: _StallCensus, source: Source) -> list[bool]:
    """Return the simulated flags that have stalls or sales here; one label if none have."""
    flags = stalls.simulated_flags()
    if sales is not None:
        flags |= {simulated for day in sales.tallies.values() for _, simulated in day}
    return sorted(flags) or [source == Source.SIMULATED]


def _ocop_values(
    emit: _Emitter,
    codes: set[str],
    session: Session,
    scope: Scope,
    run: Sequence[Period],
) -> None:
    """Count certified products, and certifications that began, will end or ended."""
    book = _CertificationBook.read(session, scope, online="OCOP_ON_ECOM" in codes)
    for period in run:
        current = book.in_force(period.end)
        if "OCOP_PRODUCTS" in codes:
            emit("OCOP_PRODUCTS", period, len(current))
            for (stars, group, producer_type), count in book.mix(current):
                emit(
                    "OCOP_PRODUCTS", period, count,
                    stars=str(stars), group=group, producer_type=producer_type,
                )  # fmt: skip
        if "OCOP_NEW" in codes:
            emit("OCOP_NEW", period, book.decided_between(period.start, period.end))
        if "OCOP_EXPIRING_90D" in codes:
            horizon = _day_number(period.end + EXPIRING_WINDOW)
            emit("OCOP_EXPIRING_90D", period, int((book.valid_until[current] <= horizon).sum()))
        if "OCOP_EXPIRED" in codes:
            emit("OCOP_EXPIRED", period, book.ended_between(period.start, period.end))
        if "OCOP_ON_ECOM" in codes:
            online = book.listed_online(period.end, current)
            emit("OCOP_ON_ECOM", period, online, len(current))


class _CertificationBook:
    """A place's certifications as day-number arrays, so each period is a few array masks."""

    def __init__(self, rows: Sequence[Any], online: Sequence[Any]) -> None:
        never = date.max.toordinal()
        product, stars, decided, valid_until, revoked, group, producer_type = (
            zip(*rows, strict=True) if rows else [()] * 7
        )
        self.product = np.array(product, dtype=np.int64)
        self.decided = np.array(decided, dtype=np.int64)
        self.valid_until = np.array(valid_until, dtype=np.int64)
        self.revoked = np.array([day or never for day in revoked], dtype=np.int64)
        kinds = list(zip(stars, group, producer_type, strict=True))
        self.kinds = sorted(set(kinds))
        index = {kind: number for number, kind in enumerate(self.kinds)}
        self.kind = np.array([index[kind] for kind in kinds], dtype=np.int64)
        self.online_product = np.array([row[0] for row in online], dtype=np.int64)
        self.online_from = np.array([row[1] for row in online], dtype=np.int64)
        self.online_until = np.array([row[2] or never for row in online], dtype=np.int64)

    @classmethod
    def read(cls, session: Session, scope: Scope, online: bool) -> "_CertificationBook":
        """Fetch day numbers and plain strings: 20,000 rows of dates and enums cost 0.3 s."""
        products = _products_in(scope)

        def day(column: Any) -> Any:
            return day_number_of(session, column)

        def local_day(column: Any) -> Any:
            return local_day_number_of(session, column)

        rows = (
            session.connection()
            .execute(
                select(
                    Certification.product_id,
                    Certification.stars,
                    day(Certification.decision_date).label("decided"),
                    day(Certification.valid_until).label("valid_until"),
                    local_day(Certification.revoked_at).label("revoked"),
                    Product.group_code,
                    type_coerce(Producer.producer_type, String).label("producer_type"),
                )
                .join(Product, Product.id == Certification.product_id)
                .join(Producer, Producer.id == Product.producer_id)
                .where(Certification.product_id.in_(products))
                .order_by(Certification.product_id, Certification.decision_date)
            )
            .all()
        )
        listings: Sequence[Any] = []
        if online:
            listings = (
                session.connection()
                .execute(
                    select(
                        EcommerceListing.product_id,
                        local_day(EcommerceListing.listed_at),
                        local_day(EcommerceListing.delisted_at),
                    ).where(EcommerceListing.product_id.in_(products))
                )
                .all()
            )
        return cls(rows, listings)

    def in_force(self, day: date) -> Any:
        """Return the indexes of each product's latest certification in force at the end of day."""
        number = _day_number(day)
        mask = (self.decided <= number) & (number <= self.valid_until) & (number < self.revoked)
        chosen = np.flatnonzero(mask)
        products = self.product[chosen]
        latest = np.append(products[1:] != products[:-1], True) if len(chosen) else chosen > 0
        return chosen[latest]

    def mix(self, current: Any) -> list[tuple[tuple[int, str, str], int]]:
        """Count products in force by stars, group and producer type."""
        counts = np.bincount(self.kind[current], minlength=len(self.kinds))
        return [(kind, int(count)) for kind, count in zip(self.kinds, counts, strict=True) if count]

    def decided_between(self, start: date, end: date) -> int:
        return int(
            ((self.decided >= _day_number(start)) & (self.decided <= _day_number(end))).sum()
        )

    def ended_between(self, start: date, end: date) -> int:
        """Count certifications whose last valid day falls the day before or within the period."""
        last = self.valid_until + 1
        return int(((last >= _day_number(start)) & (last <= _day_number(end))).sum())

    def listed_online(self, day: date, current: Any) -> int:
        """Count products in force with an e-commerce listing live at the end of day."""
        number = _day_number(day)
        live = (self.online_from <= number) & (number < self.online_until)
        return int(np.isin(self.product[current], self.online_product[live]).sum())


def _products_in(scope: Scope) -> Any:
    """Select the products of a place: by origin commune, or those listed at a market or vendor."""
    products = select(Product.id)
    if scope.level == "province":
        return products.join(Commune, Commune.code == Product.origin_commune_code).where(
            Commune.province_code == scope.code
        )
    if scope.level == "commune":
        return products.where(Product.origin_commune_code == scope.code)
    if scope.level in ("market", "vendor"):
        listed = (
            select(Listing.product_id)
            .join(Stall, Stall.id == Listing.stall_id)
            .where(Listing.archived_at.is_(None), Listing.product_id.is_not(None))
        )
        column = Stall.market_id if scope.level == "market" else Listing.vendor_id
        return products.where(Product.id.in_(listed.where(column == int(scope.code))))
    return products


def _day_number(day: date) -> int:
    return day.toordinal()


def _market_values(
    emit: _Emitter, codes: set[str], session: Session, scope: Scope, run: Sequence[Period]
) -> None:
    """Count 4.0 markets and cashless streets standing at the end of each period."""
    opened = local_day_number_of(session, Market.created_at)
    query = select(Market.kind, opened, func.count()).group_by(Market.kind, opened)
    per_day: dict[str, list[tuple[int, int]]] = {}
    for kind, day, count in session.connection().execute(_scoped(query, scope)):
        per_day.setdefault("all", []).append((day, count))
        per_day.setdefault(kind, []).append((day, count))
    for period in run:
        last = _day_number(period.end)
        standing = {key: sum(n for day, n in days if day <= last) for key, days in per_day.items()}
        for code, kind in MARKET_CODES.items():
            if code in codes:
                emit(code, period, standing.get(kind.value, 0), standing.get("all", 0))


def _reported_values(
    values: list[Value], session: Session, place: Place, run: Sequence[Period], codes: set[str]
) -> None:
    """Add the latest figure entered in each period, for every indicator asked (or all)."""
    figures = session.scalars(
        select(ReportedFigure)
        .where(
            ReportedFigure.place_level == place.level,
            ReportedFigure.place_code == place.code,
            ReportedFigure.as_of.between(run[0].start, run[-1].end),
        )
        .order_by(ReportedFigure.as_of, ReportedFigure.id)
    ).all()
    latest: dict[tuple[str, str], tuple[Period, ReportedFigure]] = {}
    for figure in figures:
        if figure.indicator not in codes and codes != set(MEASURED):
            continue
        period = next(p for p in run if p.start <= figure.as_of <= p.end)
        latest[(figure.indicator, period.label)] = (period, figure)
    for period, figure in latest.values():
        values.append(
            Value(
                figure.indicator,
                place,
                period,
                figure.value,
                figure.unit,
                Source.REPORTED,
                as_of=figure.as_of,
                note=figure.source + (f"; {figure.note}" if figure.note else ""),
            )
        )


def coverage_by_child(session: Session, place: Place, period: Period) -> list[Value]:
    """Return VENDOR_QR_COVERAGE at the end of `period` for each province of the country, each
    commune of a province (with stalls), or each market of a commune."""
    child: dict[str, tuple[str, Any, Any]] = {
        "country": ("province", Province.code, Province.name),
        "province": ("commune", Commune.code, Commune.name),
        "commune": ("market", Market.id, Market.name),
    }
    if place.level not in child:
        return []
    level, code, name = child[place.level]
    end = local_midnight(period.end + ONE_DAY)
    open_ = (Stall.created_at < end) & (Stall.closed_at.is_(None) | (Stall.closed_at >= end))
    query = (
        select(
            code,
            name,
            Market.simulated,
            func.count(),
            func.count(case((Stall.qr_since < end, 1))),
        )
        .select_from(Stall)
        .join(Market, Market.id == Stall.market_id)
        .join(Commune, Commune.code == Market.commune_code)
        .join(Province, Province.code == Commune.province_code)
        .where(open_)
        .group_by(code, name, Market.simulated)
        .order_by(code)
    )
    values: list[Value] = []
    if place.level == "province":
        query = query.where(Commune.province_code == place.code)
    elif place.level == "commune":
        query = query.where(Market.commune_code == place.code)
    for child_code, child_name, simulated, stalls, showing in session.connection().execute(query):
        source = Source.SIMULATED if simulated else Source.RECORDED
        emit = _Emitter(Place(level, str(child_code), child_name), source, values)
        emit("VENDOR_QR_COVERAGE", period, showing, stalls)
    return values


def document_title(query: ReportQuery) -> str:
    """Title a printable report after its place(s) and period, as officials would."""
    places = " và ".join(place.name for place in query.places)
    period = f"{query.start:%d/%m/%Y}–{query.end:%d/%m/%Y}"
    return f"Báo cáo thanh toán không dùng tiền mặt: {places}, {period}"


def draw_chart(session: Session, query: ReportQuery, chart: str, image_format: str) -> bytes:
    """Draw one of the report charts for the query's first place (both, for the share)."""
    fmt: charts.ChartFormat = "svg" if image_format == "svg" else "png"
    if chart == "coverage":
        check_range(query.start, query.end)
        last = periods(query.start, query.end, query.grain)[-1]
        values = coverage_by_child(session, query.places[0], last)
        title = f"Tỷ lệ điểm bán có mã QR: {query.places[0].name}, {last.label}"
        return charts.coverage_by_place(values, title, fmt)
    codes = ["NONCASH_SHARE_COUNT", "NONCASH_SHARE_VALUE"] if chart == "share" else ["TRANSACTIONS"]
    report = build_report(session, replace(query, indicators=codes, compare_start=None))
    if chart == "share":
        return charts.share_over_time(report, fmt)
    return charts.method_mix(report, query.places[0], fmt)


def list_figures(session: Session) -> list[ReportedFigure]:
    """Return the entered figures, newest first."""
    query = select(ReportedFigure).order_by(ReportedFigure.as_of.desc(), ReportedFigure.id.desc())
    return list(session.scalars(query))


def enter_figure(
    session: Session,
    actor: Principal,
    *,
    indicator: str,
    place: Place,
    as_of: date,
    value: Decimal,
    source: str,
    note: str = "",
) -> ReportedFigure:
    """Record a figure measured elsewhere, so reports show it beside the measured ones."""
    (code,) = check_indicators([indicator])
    unit = INDICATORS[code].unit
    if unit in (Unit.COUNT, Unit.VND) and value != value.to_integral_value():
        raise DomainError(
            f"{code} counts whole {'dong' if unit == Unit.VND else 'units'}; {value} is not.",
            field="value",
            reason="not_whole",
        )
    if unit == Unit.PERCENT and not 0 <= value <= 100:
        raise DomainError(
            "A percentage lies between 0 and 100.", field="value", reason="out_of_range"
        )
    figure = ReportedFigure(
        indicator=code,
        place_level=place.level,
        place_code=place.code,
        as_of=as_of,
        value=value,
        unit=unit,
        source=source,
        note=note,
        entered_by=actor.user_id,
    )
    session.add(figure)
    session.flush()
    record_audit(
        session,
        actor,
        "figure.enter",
        "reported_figure",
        figure.id,
        indicator=code,
        place=f"{place.level}:{place.code}",
        as_of=as_of.isoformat(),
        value=str(value),
    )
    return figure
