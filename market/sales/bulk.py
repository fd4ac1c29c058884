"""Check out many sales at once: the simulator's fast mode, under checkout's rules.

`BulkCheckout` reads a set of stalls, their payees, places and listings once, then checks out
sales in memory exactly as `services.place_order` does (an open stall, listings it sells and has
not archived, each listing once, prices frozen from the listing, OCOP from the product's live
certificate, the order ceiling, the vendor recording cash, enough stock), opens their payments
through a `payments.bulk.BulkLedger`, and `flush` writes a chunk's orders, lines, stock and
payments in the caller's transaction. The listings' stock is held in memory between chunks: the
bulk writer must be the only one selling from these stalls while it runs.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session, joinedload

from catalog.models import Product
from market.core.clock import vietnam_date
from market.core.db import dialect_of, table_of
from market.core.errors import Conflict, DomainError
from market.core.principals import Principal
from market.markets.models import Market, Stall
from market.places.models import Commune
from market.sales.models import Order, OrderLine
from market.sales.services import (
    MAX_ORDER_VND,
    LineRequest,
    _certified,
    ensure_may_record_cash,
)
from market.vendors.models import Listing, Vendor
from market.vendors.services import ensure_open_stall
from payments import intents
from payments.bulk import BulkIntent, BulkLedger, IdPool, LedgerChunk, write_rows
from payments.models import EventKind, PaymentMethod, PaymentStatus

ORDER_COLUMNS = (
    "id",
    "public_id",
    "vendor_id",
    "stall_id",
    "market_id",
    "total_vnd",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "stock_released_at",
)
LINE_COLUMNS = (
    "order_id",
    "listing_id",
    "product_id",
    "title",
    "unit",
    "unit_price_vnd",
    "quantity",
    "line_total_vnd",
    "is_ocop",
)
_orders, _lines, _listings = table_of(Order), table_of(OrderLine), table_of(Listing)
assert set(_orders.c.keys()) == set(ORDER_COLUMNS)
assert set(_lines.c.keys()) == {"id", *LINE_COLUMNS}
SET_STOCK = (
    update(_listings)
    .where(_listings.c.id == bindparam("listing_id"))
    .values(stock=bindparam("stock"))
)
# PostgreSQL sets every changed listing's stock in one statement, from two arrays.
SET_STOCKS = text(
    "UPDATE listings SET stock = changed.stock"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:stocks AS bigint[])) AS changed(id, stock)"
    " WHERE listings.id = changed.id"
)
RELEASE_STOCK = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(stock_released_at=bindparam("released_at"))
)


_METHOD_JSON = {method: json.dumps(method.value) for method in PaymentMethod}  # dumps costs 2 µs


def fingerprint(stall_id: int, lines: Sequence[LineRequest], method: PaymentMethod) -> str:
    """Return the request fingerprint checkout stores, the same text services._fingerprint hashes.

    Written out, because json.dumps with sorted keys costs more than the rest of a checkout.
    """
    items = ", ".join(
        f'{{"listing_id": {int(line.listing_id)}, "quantity": {int(line.quantity)}}}'
        for line in lines
    )
    body = f'{{"lines": [{items}], "method": {_METHOD_JSON[method]}, "stall_id": {int(stall_id)}}}'
    return hashlib.sha256(body.encode()).hexdigest()


class _Stall(NamedTuple):
    id: int
    code: str
    closed_at: datetime | None
    vendor_id: int
    market_id: int
    bank_bin: str
    account_number: str
    commune_code: str
    province_code: str


class _Listing(NamedTuple):
    id: int
    stall_id: int
    product_id: int | None
    title: str
    unit: str
    price_vnd: int
    archived_at: datetime | None


class BulkOrder:
    """An order checked out in memory: what its row, its lines and its stock need."""

    __slots__ = ("id", "row", "lines", "payment", "stock_released_at", "written")

    def __init__(self, id: int, row: tuple[Any, ...], lines: list[tuple[Any, ...]]) -> None:
        self.id, self.row, self.lines = id, row, lines
        self.payment: BulkIntent
        self.stock_released_at: datetime | None = None
        self.written = False


class BulkCheckout:
    """Place orders at a known set of stalls in memory; write them a chunk at a time."""

    def __init__(self, session: Session, stall_ids: Iterable[int], run: str) -> None:
        self.session = session
        self.ledger = BulkLedger(session, run)
        self._order_ids = IdPool(session, _orders)
        self._sales = 0
        ids = list(stall_ids)
        self._stalls = {
            row.id: _Stall(*row)
            for row in session.execute(
                select(
                    Stall.id,
                    Stall.code,
                    Stall.closed_at,
                    Stall.vendor_id,
                    Stall.market_id,
                    Vendor.bank_bin,
                    Vendor.account_number,
                    Market.commune_code,
                    Commune.province_code,
                )
                .join(Vendor, Stall.vendor_id == Vendor.id)
                .join(Market, Stall.market_id == Market.id)
                .join(Commune, Market.commune_code == Commune.code)
                .where(Stall.id.in_(ids))
            )
        }
        self._vendors = {
            vendor.id: vendor
            for vendor in session.scalars(
                select(Vendor).where(
                    Vendor.id.in_({row.vendor_id for row in self._stalls.values()})
                )
            )
        }
        self._listings = {
            row.id: _Listing(*row)
            for row in session.execute(
                select(
                    Listing.id,
                    Listing.stall_id,
                    Listing.product_id,
                    Listing.title,
                    Listing.unit,
                    Listing.price_vnd,
                    Listing.archived_at,
                ).where(Listing.stall_id.in_(ids))
            )
        }
        self.stock: dict[int, int] = dict(
            session.execute(
                select(Listing.id, Listing.stock).where(Listing.stall_id.in_(ids))
            ).all()
        )
        product_ids = {row.product_id for row in self._listings.values()} - {None}
        self._products = {
            product.id: product
            for product in session.scalars(
                select(Product)
                .where(Product.id.in_(product_ids))
                .options(joinedload(Product.current_certification))
            )
        }
        self._certified: dict[tuple[int | None, date], bool] = {}
        self._stocked: set[int] = set()  # listings whose stock changed in this chunk
        self._new: list[BulkOrder] = []
        self._released: list[BulkOrder] = []  # written earlier, released in this chunk
        self._unpaid: dict[int, BulkOrder] = {}  # by intent id: orders whose payment may expire

    def place_order(
        self,
        *,
        stall_id: int,
        lines: Sequence[LineRequest],
        method: PaymentMethod,
        actor: Principal | None,
        now: datetime,
    ) -> BulkOrder:
        """Check out `lines` at a stall as services.place_order does, without an idempotency key.

        Refusals raise the same errors and leave nothing behind.
        """
        stall = ensure_open_stall(stall_id, self._stalls.get(stall_id))
        if method == PaymentMethod.CASH:
            ensure_may_record_cash(actor, self._vendors[stall.vendor_id])
        ids = [line.listing_id for line in lines]
        if len(set(ids)) != len(ids):
            raise DomainError("Each listing may appear in one line only.", field="lines")
        today = vietnam_date(now)
        number = self._sales
        order_id = self._order_ids.take()
        rows, total, ocop = [], 0, False
        for index, request in enumerate(lines):
            listing = self._listings.get(request.listing_id)
            if listing is None or listing.stall_id != stall_id or listing.archived_at is not None:
                raise DomainError(
                    f"Listing {request.listing_id} is not on sale at this stall.",
                    field=f"lines.{index}.listing_id",
                )
            certified = self._is_certified(listing.product_id, today)
            line_total = listing.price_vnd * request.quantity
            rows.append(
                (
                    order_id,
                    listing.id,
                    listing.product_id,
                    listing.title,
                    listing.unit,
                    listing.price_vnd,
                    request.quantity,
                    line_total,
                    certified,
                )
            )
            total += line_total
            ocop = ocop or certified
        if total > MAX_ORDER_VND:
            raise DomainError(f"An order may total at most {MAX_ORDER_VND:,} dong.", field="lines")
        sale = intents.Sale(
            order_id=order_id,
            amount_vnd=total,
            vendor_id=stall.vendor_id,
            stall_id=stall.id,
            market_id=stall.market_id,
            commune_code=stall.commune_code,
            province_code=stall.province_code,
            is_ocop=ocop,
            payee_bin=stall.bank_bin,
            payee_account=stall.account_number,
            stall_label=stall.code,
        )
        self._check_stock(lines)  # before the payment opens: a refusal must leave nothing
        order_public_id, payment_public_id = self.ledger.references.public_ids(number, now)
        intent = self.ledger.open_intent(sale, method, number, payment_public_id, now)
        for line in lines:
            self.stock[line.listing_id] -= line.quantity
            self._stocked.add(line.listing_id)
        row = (
            order_id,
            order_public_id,
            stall.vendor_id,
            stall_id,
            stall.market_id,
            total,
            None,
            fingerprint(stall_id, lines, method),
            now,
        )
        order = BulkOrder(order_id, row, rows)
        order.payment = intent
        self._sales += 1
        self._new.append(order)
        if method != PaymentMethod.CASH:
            self._unpaid[intent.id] = order
        else:
            self.ledger.record(
                intent,
                EventKind.MONEY_RECEIVED,
                total,
                "vendor:cash",
                f"cash:{intent.public_id}",
                now,
            )
        return order

    def _is_certified(self, product_id: int | None, today: date) -> bool:
        key = (product_id, today)
        if key not in self._certified:
            product = self._products.get(product_id) if product_id is not None else None
            self._certified[key] = _certified(product, today)
        return self._certified[key]

    def _check_stock(self, lines: Sequence[LineRequest]) -> None:
        """Refuse the order unless every line's stock is there."""
        for index, line in enumerate(lines):
            if self.stock[line.listing_id] < line.quantity:
                title = self._listings[line.listing_id].title
                raise Conflict(
                    f"Fewer than {line.quantity} of {title!r} are left.",
                    field=f"lines.{index}.quantity",
                    reason="out_of_stock",
                )

    def expire_unpaid(self, now: datetime) -> int:
        """Expire payments whose window closed and release their stock; return how many."""
        expired = self.ledger.expire_due(now)
        for intent in expired:
            self.release_stock(self._unpaid.pop(intent.id), now)
        return len(expired)

    def release_stock(self, order: BulkOrder, now: datetime) -> None:
        """Put an unpaid order's items back on the shelf, once."""
        if order.stock_released_at is not None:
            return
        for line in order.lines:
            self.stock[line[1]] += line[6]
            self._stocked.add(line[1])
        order.stock_released_at = now
        if order.written:
            self._released.append(order)

    def set_stock(self, listing_id: int, stock: int) -> None:
        """Set a listing's stock, as a vendor restocking does."""
        self.stock[listing_id] = stock
        self._stocked.add(listing_id)

    def take(self) -> "Chunk":
        """Return the chunk's rows to write, and start the next chunk."""
        changed = sorted(self._stocked)  # in id order, as concurrent writers lock them
        chunk = Chunk(
            [(listing, self.stock[listing]) for listing in changed],
            [(*order.row, order.stock_released_at) for order in self._new],
            [line for order in self._new for line in order.lines],
            [
                {"order_id": order.id, "released_at": order.stock_released_at}
                for order in self._released
            ],
            self.ledger.take(),
        )
        for order in self._new:
            order.written = True
        self._new, self._released, self._stocked = [], [], set()
        # Only a pending payment can still expire.
        self._unpaid = {
            intent_id: order
            for intent_id, order in self._unpaid.items()
            if order.payment.status == PaymentStatus.PENDING
        }
        return chunk

    def flush(self) -> None:
        """Write the chunk's orders, lines, stock and payments, then forget them."""
        self.take().write(self.session)


@dataclass
class Chunk:
    """A chunk of checkouts as it stood when taken: any session may write it, in chunk order."""

    stock: list[tuple[int, int]]  # (listing id, stock now)
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    released: list[dict[str, Any]]  # orders written by an earlier chunk, released since
    payments: LedgerChunk

    def __len__(self) -> int:
        return len(self.orders)

    def write(self, session: Session) -> None:
        """Write the chunk in the session's transaction."""
        if self.stock and dialect_of(session) == "postgresql":
            ids, stocks = zip(*self.stock, strict=True)
            session.execute(SET_STOCKS, {"ids": list(ids), "stocks": list(stocks)})
        elif self.stock:
            session.execute(
                SET_STOCK, [{"listing_id": id_, "stock": stock} for id_, stock in self.stock]
            )
        write_rows(session, _orders, ORDER_COLUMNS, self.orders)
        write_rows(session, _lines, LINE_COLUMNS, self.lines)
        if self.released:
            session.execute(RELEASE_STOCK, self.released)
        self.payments.write(session)
