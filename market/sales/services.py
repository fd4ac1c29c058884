"""Checkout: place orders at a stall, reserve and release stock, hand the money to payments."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NoReturn
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Engine,
    Integer,
    Join,
    Row,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    null,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from catalog.models import Certification, CertificationStatus, Product, certification_status
from market.core.audit import record_audit
from market.core.clock import vietnam_date
from market.core.db import (
    DriverStatement,
    as_json,
    attach_inserted,
    dialect_of,
    insert_json,
    rows_of_json,
    table_of,
    utcnow,
)
from market.core.errors import Conflict, DomainError, NotFound, Unauthorized
from market.core.ids import public_id
from market.core.principals import Principal
from market.markets.models import Market, Stall
from market.places.models import Commune
from market.sales.models import Order, OrderLine
from market.vendors.models import Listing, Vendor
from market.vendors.services import ensure_may_manage, ensure_open_stall
from payments import cards, intents
from payments.gateways.card import CardGateway
from payments.models import EventKind, PaymentEvent, PaymentIntent, PaymentMethod
from payments.rollups import roll_up, unpaid_tallies, unpaid_upserts

MAX_ORDER_VND = 10_000_000_000
CERTIFIED = frozenset({CertificationStatus.ACTIVE, CertificationStatus.EXPIRING})

# Checkout's statements, built once: building and hashing one costs more than running it.
_stalls, _vendors, _markets, _communes = (
    table_of(Stall),
    table_of(Vendor),
    table_of(Market),
    table_of(Commune),
)
_listings, _orders, _lines = table_of(Listing), table_of(Order), table_of(OrderLine)
_products, _certifications = table_of(Product), table_of(Certification)
# The stall with its payee and place, and those of the asked-for listings it sells with their
# product's current OCOP certificate: one row per listing found, or one row without a listing.
_SALE_COLUMNS = {
    "id": _stalls.c.id,
    "code": _stalls.c.code,
    "closed_at": _stalls.c.closed_at,
    "vendor_id": _stalls.c.vendor_id,
    "market_id": _stalls.c.market_id,
    "bank_bin": _vendors.c.bank_bin,
    "account_number": _vendors.c.account_number,
    "commune_code": _markets.c.commune_code,
    "province_code": _communes.c.province_code,
    "listing_id": _listings.c.id,
    "product_id": _listings.c.product_id,
    "title": _listings.c.title,
    "unit": _listings.c.unit,
    "price_vnd": _listings.c.price_vnd,
    "archived_at": _listings.c.archived_at,
    "certificate_revoked_at": _certifications.c.revoked_at,
    "certificate_valid_until": _certifications.c.valid_until,
}


def _stall_and_listings(dialect: str) -> Join:
    """Join the stall to its payee and place, and to the asked-for listings it sells.

    PostgreSQL takes the listings' ids as one array: its hottest statement runs on the driver
    (DriverStatement), which expands no IN.
    """
    asked = (
        _listings.c.id == any_(bindparam("listing_ids", type_=ARRAY(Integer)))
        if dialect == "postgresql"
        else _listings.c.id.in_(bindparam("listing_ids", expanding=True))
    )
    return (
        _stalls.join(_vendors, _stalls.c.vendor_id == _vendors.c.id)
        .join(_markets, _stalls.c.market_id == _markets.c.id)
        .join(_communes, _markets.c.commune_code == _communes.c.code)
        .outerjoin(_listings, and_(_listings.c.stall_id == _stalls.c.id, asked))
        .outerjoin(_products, _listings.c.product_id == _products.c.id)
        .outerjoin(_certifications, _products.c.current_certification_id == _certifications.c.id)
    )


# Not "stall_id": an UPDATE in the same statement would take a parameter of a column's name as
# a value to SET.
_AT_STALL = _stalls.c.id == bindparam("sale_stall_id")
# A row's digest: PostgreSQL's md5 of all a sale is planned from; the same values, the same digest.
_ROW_DIGEST = func.md5(cast(tuple_(*_SALE_COLUMNS.values()), Text))
# The digests of the same rows as they are now, in listing order, as `_digest` joins them.
CURRENT_DIGEST = (
    select(func.string_agg(_ROW_DIGEST, aggregate_order_by(literal_column("','"), _listings.c.id)))
    .select_from(_stall_and_listings("postgresql"))
    .where(_AT_STALL)
    .scalar_subquery()
)
INSERT_ORDER = insert(_orders).returning(_orders.c.id)
INSERT_LINES = insert(_lines).returning(_lines.c.id, sort_by_parameter_order=True)
TAKE_STOCK = (
    update(_listings)
    .where(_listings.c.id == bindparam("listing_id"), _listings.c.stock >= bindparam("quantity"))
    .values(stock=_listings.c.stock - bindparam("quantity"))
)


@cache
def _select_stall_and_listings(dialect: str) -> Select[Any]:
    """Build the query of the stall and listings, with each row's digest where PostgreSQL has it.

    Each row also carries the id of the order the request's Idempotency-Key made before, if any.
    """
    return (
        select(
            *[column.label(name) for name, column in _SALE_COLUMNS.items()],
            (_ROW_DIGEST if dialect == "postgresql" else null()).label("digest"),
            select(_orders.c.id)
            .where(_orders.c.idempotency_key == bindparam("idempotency_key"))
            .scalar_subquery()
            .label("earlier_order_id"),
        )
        .select_from(_stall_and_listings(dialect))
        .where(_AT_STALL)
    )


@cache
def _sell_at_once() -> DriverStatement:
    """Build PostgreSQL's statement that writes a whole sale: one round trip instead of seven.

    Each INSERT is a common table expression reading its rows from a JSON parameter; rows that
    need an id written before them take it from the expression that wrote it. The order gives
    way to one holding the same Idempotency-Key, and then nothing is written and no row comes
    back; so it does when a row the sale was planned from has changed (CURRENT_DIGEST). The
    intent gives way to one holding the same reference (no id comes back, and Python draws
    another). The listings' stock is taken only where enough is left. One row comes back
    per order line, with the order's and the intent's ids and the listings whose stock was taken.
    """
    intents_table, events = table_of(PaymentIntent), table_of(PaymentEvent)
    order = (
        insert_json(_orders, only_if=CURRENT_DIGEST == bindparam("digest"))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_orders.c.id)
        .cte("sold_order")
    )
    sold = exists(select(order.c.id))
    lines = (
        insert_json(_lines, given={"order_id": order.c.id})
        .returning(_lines.c.id, _lines.c.listing_id)
        .cte("sold_lines")
    )
    intent = (
        insert_json(intents_table, given={"order_id": order.c.id})
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(intents_table.c.id)
        .cte("opened_intent")
    )
    created = insert_json(events, given={"intent_id": intent.c.id}).cte("created_event")
    days, months = unpaid_upserts(only_if=sold)
    issued_days, issued_months = days.cte("issued_days"), months.cte("issued_months")
    wanted = rows_of_json(_lines, ["listing_id", "quantity"], _lines.name).subquery("wanted")
    taken = (
        update(_listings)
        .where(_listings.c.id == wanted.c.listing_id, _listings.c.stock >= wanted.c.quantity, sold)
        .values(stock=_listings.c.stock - wanted.c.quantity)
        .returning(_listings.c.id)
        .cte("taken_stock")
    )
    return DriverStatement(
        select(
            lines.c.id,
            lines.c.listing_id,
            select(order.c.id).scalar_subquery().label("order_id"),
            select(intent.c.id).scalar_subquery().label("intent_id"),
            select(func.array_agg(taken.c.id)).scalar_subquery().label("taken"),
        ).add_cte(created, issued_days, issued_months)
    )


@dataclass(frozen=True)
class LineRequest:
    listing_id: int
    quantity: int


def _fingerprint(stall_id: int, lines: Sequence[LineRequest], method: PaymentMethod) -> str:
    body = {"stall_id": stall_id, "lines": [asdict(line) for line in lines], "method": method}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def place_order(
    session: Session,
    *,
    stall_id: int,
    lines: Sequence[LineRequest],
    method: PaymentMethod,
    actor: Principal | None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Order:
    """Check out `lines` at a stall: freeze prices, reserve stock, open the payment.

    The same Idempotency-Key with the same body returns the first order; with another body it is
    refused. Cash is recorded by the stall's vendor and settles at once. `now` lets the
    simulator play a market day at its own clock.
    """
    sold = _check_out(session, stall_id, lines, method, actor, idempotency_key, now or utcnow())
    return sold if isinstance(sold, Order) else sold.adopt(session)


def check_out(
    session: Session,
    *,
    stall_id: int,
    lines: Sequence[LineRequest],
    method: PaymentMethod,
    actor: Principal | None,
    idempotency_key: str | None = None,
) -> Order | dict[str, Any]:
    """Place an order as `place_order` does, for the API: a new one answers as OrderSchema shows it.

    A new QR or card order is answered from the values just written, without making ORM
    objects of them: they cost the HTTP checkout a tenth of its CPU, and nothing else reads them.
    """
    sold = _check_out(session, stall_id, lines, method, actor, idempotency_key, utcnow())
    return sold if isinstance(sold, Order) else sold.shown()


def _check_out(
    session: Session,
    stall_id: int,
    lines: Sequence[LineRequest],
    method: PaymentMethod,
    actor: Principal | None,
    idempotency_key: str | None,
    now: datetime,
) -> "Order | _Sold":
    """Place the order; return the earlier one its key made, the cash one recorded, or the sale."""
    fingerprint = _fingerprint(stall_id, lines, method)
    listing_ids = [line.listing_id for line in lines]

    def plan(rows: Sequence[Row]) -> tuple[_PlannedSale, intents.Opening]:
        stall, listings = _stall_for_sale(stall_id, rows)
        if method == PaymentMethod.CASH:
            ensure_may_record_cash(actor, _vendor_of(session, stall))
        sale = _plan_sale(stall, listings, lines, fingerprint, idempotency_key, now)
        return sale, intents.plan_opening(sale.payment(stall), method, now=now)

    written = None
    remembered = _remembered_rows(session)
    if remembered and (earlier_rows := remembered.rows(stall_id, listing_ids)):
        try:
            planned = plan(earlier_rows)
        except DomainError:  # refused on rows read earlier: let the rows as they are now decide
            planned = None
        written = _write_sale(session, *planned) if planned else None
    if written is None:
        rows = _stall_rows(session, stall_id, listing_ids, idempotency_key)
        if remembered:
            remembered.keep(rows)
        if idempotency_key and (earlier := _earlier_order(session, rows, idempotency_key)):
            return _same_request(earlier, fingerprint)
        written = _write_sale(session, *plan(rows))
    if written is None:
        raise Conflict(
            "The stall or its listings changed during checkout; check out again.",
            field="stall_id",
            reason="stall_changed",
        )
    if isinstance(written, Order):
        # A concurrent request with the same Idempotency-Key won; answer as it did.
        return _same_request(written, fingerprint)
    if method != PaymentMethod.CASH:
        return written
    order = written.adopt(session)
    intents.record(
        session,
        order.payment,
        EventKind.MONEY_RECEIVED,
        order.total_vnd,
        "vendor:cash",
        f"cash:{order.payment.public_id}",
        occurred_at=now,
    )
    return order


class RememberedRows:
    """The stall and listing rows checkout read lately from one database, in one process.

    Checkout plans a sale from them without reading, and PostgreSQL writes it only while every
    row's digest still holds (CURRENT_DIGEST): a changed stall or listing costs a read more,
    never a wrong sale, and an unchanged one spares checkout a round trip. Forgets all at `limit`.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._rows: dict[tuple[int, int], Row] = {}
        self._limit = limit

    def rows(self, stall_id: int, listing_ids: Sequence[int]) -> list[Row] | None:
        """Return the rows of these listings at this stall, or None unless all are remembered."""
        found = [self._rows.get((stall_id, listing_id)) for listing_id in listing_ids]
        return None if None in found else found  # type: ignore[return-value]

    def keep(self, rows: Sequence[Row]) -> None:
        """Remember the listings' rows that carry a digest (PostgreSQL's)."""
        if len(self._rows) >= self._limit:
            self._rows.clear()
        for row in rows:
            if row.listing_id is not None and row.digest is not None:
                self._rows[(row.id, row.listing_id)] = row


_REMEMBERED: WeakKeyDictionary[Engine, RememberedRows] = WeakKeyDictionary()


def _remembered_rows(session: Session) -> RememberedRows | None:
    """Return what checkout remembers of the session's database: PostgreSQL's only."""
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":  # the one with the statement that checks digests
        return None
    remembered = _REMEMBERED.get(engine)
    if remembered is None:
        remembered = _REMEMBERED[engine] = RememberedRows()
    return remembered


def ensure_may_record_cash(actor: Principal | None, vendor: Vendor) -> None:
    """Refuse a cash sale not recorded by the stall's vendor: cash leaves no bank trace."""
    if actor is None:
        raise Unauthorized(
            "Cash sales are recorded by the stall's vendor: sign in.",
            field="Authorization",
            location="headers",
        )
    ensure_may_manage(actor, vendor, "stall")


def _stall_rows(
    session: Session, stall_id: int, listing_ids: list[int], idempotency_key: str | None
) -> Sequence[Row]:
    """Read the stall, those of `listing_ids` it sells, and the key's earlier order: one query."""
    return session.execute(
        _select_stall_and_listings(dialect_of(session)),
        {
            "sale_stall_id": stall_id,
            "listing_ids": listing_ids,
            "idempotency_key": idempotency_key,
        },
    ).all()


def _vendor_of(session: Session, stall: Row) -> Vendor:
    """Return the stall's vendor; a remembered row may name one that a rollback took back."""
    vendor = session.get(Vendor, stall.vendor_id)
    if vendor is None:
        raise DomainError(f"There is no open stall {stall.id}.", field="stall_id")
    return vendor


def _stall_for_sale(stall_id: int, rows: Sequence[Row]) -> tuple[Row, dict[int, Row]]:
    """Return an open stall with its place and payee, and the listings it sells by id."""
    stall = ensure_open_stall(stall_id, rows[0] if rows else None)
    return stall, {row.listing_id: row for row in rows if row.listing_id is not None}


def _earlier_order(session: Session, rows: Sequence[Row], key: str) -> Order | None:
    """Return the order `key` made before: the stall's rows carry its id; with no stall, look."""
    if rows and rows[0].earlier_order_id is None:
        return None
    return _by_key(session, key)


def _by_key(session: Session, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.idempotency_key == key))


def _same_request(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for another order; use a new key for a new order.",
            field="Idempotency-Key",
            location="headers",
            reason="idempotency_key_reused",
        )
    return order


@dataclass(frozen=True)
class _PlannedSale:
    """An order's row and its lines' rows, prices frozen, ready to be written."""

    order: dict[str, Any]
    lines: list[dict[str, Any]]
    digest: str | None  # of the rows it was planned from, as CURRENT_DIGEST makes it

    def payment(self, stall: Row) -> intents.Sale:
        """Return what payments is to collect for this order, and where it is sold."""
        return intents.Sale(
            order_id=None,
            amount_vnd=self.order["total_vnd"],
            vendor_id=stall.vendor_id,
            stall_id=stall.id,
            market_id=stall.market_id,
            commune_code=stall.commune_code,
            province_code=stall.province_code,
            is_ocop=any(line["is_ocop"] for line in self.lines),
            payee_bin=stall.bank_bin,
            payee_account=stall.account_number,
            stall_label=stall.code,
        )


@dataclass(frozen=True)
class _Sold:
    """A sale just written: the values of its rows and the ids the database gave them."""

    sale: _PlannedSale
    order_id: int
    line_ids: Sequence[int]
    intent_id: int
    opening: intents.Opening  # its reference as written (perhaps drawn again); adopt sets order_id

    def adopt(self, session: Session) -> Order:
        """Return the order with its lines and payment, in the session as if loaded from it.

        Core INSERTs and objects attached as if loaded cost half of what flushing objects does.
        """
        order = attach_inserted(session, Order, {"id": self.order_id, **self.sale.order})
        lines = [
            attach_inserted(session, OrderLine, {"id": line_id, "order_id": self.order_id, **line})
            for line_id, line in zip(self.line_ids, self.sale.lines, strict=True)
        ]
        set_committed_value(order, "lines", lines)
        opening = self.opening.for_order(self.order_id)
        intent = intents.adopt_opening(session, self.intent_id, opening)
        set_committed_value(order, "payment", intent)
        return order

    def shown(self) -> dict[str, Any]:
        """Return the order, its lines and its payment as values OrderSchema reads."""
        return {**self.sale.order, "lines": self.sale.lines, "payment": self.opening.values}


def _plan_sale(
    stall: Row,
    listings: dict[int, Row],
    requests: Sequence[LineRequest],
    fingerprint: str,
    idempotency_key: str | None,
    now: datetime,
) -> _PlannedSale:
    """Freeze the lines' prices and OCOP marks, or refuse lines this stall does not sell."""
    ids = [line.listing_id for line in requests]
    if len(set(ids)) != len(ids):
        raise DomainError("Each listing may appear in one line only.", field="lines")
    today = vietnam_date(now)
    lines = []
    for index, request in enumerate(requests):
        listing = listings.get(request.listing_id)
        if listing is None or listing.archived_at is not None:
            raise DomainError(
                f"Listing {request.listing_id} is not on sale at this stall.",
                field=f"lines.{index}.listing_id",
            )
        lines.append(
            {
                "listing_id": listing.listing_id,
                "product_id": listing.product_id,
                "title": listing.title,
                "unit": listing.unit,
                "unit_price_vnd": listing.price_vnd,
                "quantity": request.quantity,
                "line_total_vnd": listing.price_vnd * request.quantity,
                "is_ocop": _listing_certified(listing, today),
            }
        )
    total = sum(line["line_total_vnd"] for line in lines)
    if total > MAX_ORDER_VND:
        raise DomainError(f"An order may total at most {MAX_ORDER_VND:,} dong.", field="lines")
    order = {
        "public_id": public_id("ord_", now),
        "vendor_id": stall.vendor_id,
        "stall_id": stall.id,
        "market_id": stall.market_id,
        "total_vnd": total,
        "idempotency_key": idempotency_key,
        "request_fingerprint": fingerprint,
        "created_at": now,
        "stock_released_at": None,
    }
    return _PlannedSale(order, lines, _digest(listings))


def _digest(listings: dict[int, Row]) -> str | None:
    digests = [listings[listing_id].digest for listing_id in sorted(listings)]
    return None if None in digests else ",".join(digests)


def _write_sale(
    session: Session, sale: _PlannedSale, opening: intents.Opening
) -> _Sold | Order | None:
    """Write the order, its intent and roll-ups, and take its stock; or refuse it all.

    Writing the order claims its Idempotency-Key: a concurrent twin waits on the unique index
    and then finds that order, instead of racing it for the stock; it returns that order alone.
    The stock is taken last, so a popular listing's row stays locked as briefly as possible.
    None: PostgreSQL wrote nothing, for a row the sale was planned from has changed since.
    """
    if dialect_of(session) == "postgresql":
        return _write_sale_at_once(session, sale, opening)
    if sale.order["idempotency_key"] is None:  # nothing can collide: spare a savepoint
        return _write_sale_one_by_one(session, sale, opening)
    try:
        with session.begin_nested():
            return _write_sale_one_by_one(session, sale, opening)
    except IntegrityError:
        if (twin := _by_key(session, sale.order["idempotency_key"])) is None:
            raise
        return twin


def _write_sale_one_by_one(session: Session, sale: _PlannedSale, opening: intents.Opening) -> _Sold:
    order_id = session.execute(INSERT_ORDER, sale.order).scalar_one()
    lines = [{**line, "order_id": order_id} for line in sale.lines]
    line_ids = session.execute(INSERT_LINES, lines).scalars().all()
    intent_id, opening = intents.insert_opening(session, opening.for_order(order_id))
    roll_up(session, opening.changes)
    for index, line in enumerate(sale.lines):
        taken = session.execute(
            TAKE_STOCK, {"listing_id": line["listing_id"], "quantity": line["quantity"]}
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            _refuse_short_line(index, line)
    _expire_stock(session, sale)
    return _Sold(sale, order_id, line_ids, intent_id, opening)


def _write_sale_at_once(
    session: Session, sale: _PlannedSale, opening: intents.Opening
) -> _Sold | Order | None:
    """Write the sale as _write_sale does, in one statement: PostgreSQL's one round trip.

    Seven statements cost checkout more than all else it does; this one (`_sell_at_once()`)
    gives back the ids it wrote and the listings whose stock it took.
    """
    order_row = sale.order
    parameters = {
        "sale_stall_id": order_row["stall_id"],
        "listing_ids": [line["listing_id"] for line in sale.lines],
        "digest": sale.digest,
        _orders.name: as_json([order_row]),
        _lines.name: as_json(sale.lines),
        table_of(PaymentIntent).name: as_json([opening.values]),
        table_of(PaymentEvent).name: as_json([opening.created]),
        **unpaid_tallies(opening.changes),
    }
    rows = _sell_at_once().rows(session, parameters)
    if not rows:  # an order with this Idempotency-Key was written first, or a row has changed
        key = order_row["idempotency_key"]
        return _by_key(session, key) if key is not None else None
    order_id, intent_id, taken = rows[0].order_id, rows[0].intent_id, rows[0].taken or ()
    for index, line in enumerate(sale.lines):
        if line["listing_id"] not in taken:
            _refuse_short_line(index, line)
    _expire_stock(session, sale)
    line_ids = {row.listing_id: row.id for row in rows}
    if intent_id is None:  # its reference was drawn before: draw another
        intent_id, opening = intents.insert_opening(session, opening.for_order(order_id).redrawn())
    in_order = [line_ids[line["listing_id"]] for line in sale.lines]
    return _Sold(sale, order_id, in_order, intent_id, opening)


def _refuse_short_line(index: int, line: dict[str, Any]) -> NoReturn:
    raise Conflict(
        f"Fewer than {line['quantity']} of {line['title']!r} are left.",
        field=f"lines.{index}.quantity",
        reason="out_of_stock",
    )


def _expire_stock(session: Session, sale: _PlannedSale) -> None:
    """Make listings the caller has loaded (the simulator, a test) read their new stock."""
    if not session.identity_map:  # the API's checkout has loaded nothing
        return
    mapper = inspect(Listing)
    for line in sale.lines:
        held = session.identity_map.get(mapper.identity_key_from_primary_key((line["listing_id"],)))
        if held is not None:
            session.expire(held, ["stock"])


def _certified(product: Product | None, today: date) -> bool:
    """Tell whether a product carries a live OCOP certificate today."""
    certificate = product.current_certification if product else None
    return certificate is not None and certificate.status_on(today) in CERTIFIED


def _listing_certified(listing: Row, today: date) -> bool:
    """Tell the same of a listing's product from the certificate columns its row carries."""
    valid_until = listing.certificate_valid_until
    if valid_until is None:
        return False
    return certification_status(listing.certificate_revoked_at, valid_until, today) in CERTIFIED


def get_order(session: Session, public_id: str) -> Order:
    """Return an order by its public id (the shopper's receipt link) or raise NotFound."""
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    if order is None:
        raise NotFound(f"There is no order {public_id}.", field="order_id", location="path")
    return order


def release_stock(session: Session, order: Order, now: datetime | None = None) -> None:
    """Put an unpaid order's items back on the shelf, once."""
    if order.stock_released_at is not None:
        return
    for line in order.lines:
        session.execute(
            update(Listing)
            .where(Listing.id == line.listing_id)
            .values(stock=Listing.stock + line.quantity)
        )
    order.stock_released_at = now or utcnow()
    session.flush()


def expire_unpaid(session: Session, now: datetime | None = None) -> int:
    """Expire payments whose window closed and release their stock; return how many."""
    expired = intents.expire_due(session, now)
    for intent in expired:
        release_stock(session, session.get_one(Order, intent.order_id), now)
    return len(expired)


def cancel_order(session: Session, actor: Principal, public_id: str) -> Order:
    """Cancel an unpaid order at the vendor's stall and release its stock."""
    order = get_order(session, public_id)
    ensure_may_manage(actor, session.get_one(Stall, order.stall_id).vendor, "order")
    intent = intents.get_intent(session, order.payment.public_id, lock=True)
    intents.record(session, intent, EventKind.CANCELLED, 0, f"user:{actor.user_id}", None)
    release_stock(session, order)
    record_audit(session, actor, "order.cancel", "order", order.public_id, payment=intent.public_id)
    return order


def refund_payment(
    session: Session,
    actor: Principal,
    payment_id: str,
    amount_vnd: int,
    idempotency_key: str | None = None,
    gateway: CardGateway | None = None,
) -> PaymentIntent:
    """Return money to the shopper, never more than was paid; a retried key counts once.

    Card money goes back through the card gateway; transfers and cash are returned by hand and
    recorded here.
    """
    intent = intents.get_intent(session, payment_id, lock=True)
    ensure_may_manage(actor, session.get_one(Vendor, intent.vendor_id), "payment")
    source = f"user:{actor.user_id}"
    if intent.method == PaymentMethod.CARD:
        recorded = cards.refund_card(session, gateway, intent, amount_vnd, source, idempotency_key)
    else:
        dedupe_key = f"refund:{intent.public_id}:{idempotency_key}" if idempotency_key else None
        recorded = intents.record(
            session, intent, EventKind.REFUNDED, amount_vnd, source, dedupe_key
        )
    if not recorded.duplicate:  # a retried request refunded nothing more: nothing to log
        record_audit(
            session,
            actor,
            "payment.refund",
            "payment",
            intent.public_id,
            amount_vnd=amount_vnd,
            method=intent.method,
            status=recorded.intent.status,
            refunded_vnd=recorded.intent.refunded_vnd,
        )
    return recorded.intent
