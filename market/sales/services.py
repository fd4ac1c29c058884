"""Checkout: place orders at a stall, reserve and release stock, hand the money to payments."""

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from catalog.models import CertificationStatus, Product
from market.core.clock import vietnam_date
from market.core.db import utcnow
from market.core.errors import Conflict, DomainError, NotFound, Unauthorized
from market.core.principals import Principal
from market.markets.models import Market, Stall
from market.sales.models import Order, OrderLine
from market.vendors.models import Listing, Vendor
from market.vendors.services import ensure_may_manage, get_open_stall
from payments import cards, intents
from payments.gateways.card import CardGateway
from payments.models import EventKind, PaymentIntent, PaymentMethod

MAX_ORDER_VND = 10_000_000_000
CERTIFIED = frozenset({CertificationStatus.ACTIVE, CertificationStatus.EXPIRING})


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
    now = now or utcnow()
    fingerprint = _fingerprint(stall_id, lines, method)
    if idempotency_key and (earlier := _by_key(session, idempotency_key)) is not None:
        return _same_request(earlier, fingerprint)
    # Loaded now, so nothing is fetched lazily while the stock lock is held.
    stall = get_open_stall(
        session,
        stall_id,
        options=[joinedload(Stall.vendor), joinedload(Stall.market).joinedload(Market.commune)],
    )
    if method == PaymentMethod.CASH:
        if actor is None:
            raise Unauthorized(
                "Cash sales are recorded by the stall's vendor: sign in.",
                field="Authorization",
                location="headers",
            )
        ensure_may_manage(actor, stall.vendor, "stall")
    try:
        with session.begin_nested():
            order = _write_order(session, stall, lines, fingerprint, idempotency_key, now)
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won; answer as it did.
        earlier = _by_key(session, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _same_request(earlier, fingerprint)
    intent = intents.open_intent(session, _sale(stall, order), method, now=now)
    if method == PaymentMethod.CASH:
        intents.record(
            session,
            intent,
            EventKind.MONEY_RECEIVED,
            order.total_vnd,
            "vendor:cash",
            f"cash:{intent.public_id}",
            occurred_at=now,
        )
    _take_stock(session, order)
    set_committed_value(order, "payment", intent)
    return order


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


def _write_order(
    session: Session,
    stall: Stall,
    requests: Sequence[LineRequest],
    fingerprint: str,
    idempotency_key: str | None,
    now: datetime,
) -> Order:
    """Write the order with prices frozen; its stock is taken last, by _take_stock."""
    ids = [line.listing_id for line in requests]
    if len(set(ids)) != len(ids):
        raise DomainError("Each listing may appear in one line only.", field="lines")
    listings = {
        listing.id: listing
        for listing in session.scalars(
            select(Listing).where(Listing.id.in_(ids)).options(selectinload(Listing.product))
        )
    }
    order = Order(
        public_id="ord_" + secrets.token_urlsafe(16),
        vendor_id=stall.vendor_id,
        stall_id=stall.id,
        market_id=stall.market_id,
        total_vnd=0,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        created_at=now,
    )
    today = vietnam_date(now)
    for index, request in enumerate(requests):
        listing = listings.get(request.listing_id)
        if listing is None or listing.stall_id != stall.id or listing.archived_at is not None:
            raise DomainError(
                f"Listing {request.listing_id} is not on sale at this stall.",
                field=f"lines.{index}.listing_id",
            )
        total = listing.price_vnd * request.quantity
        order.lines.append(
            OrderLine(
                listing_id=listing.id,
                product_id=listing.product_id,
                title=listing.title,
                unit=listing.unit,
                unit_price_vnd=listing.price_vnd,
                quantity=request.quantity,
                line_total_vnd=total,
                is_ocop=_certified(listing.product, today),
            )
        )
        order.total_vnd += total
    if order.total_vnd > MAX_ORDER_VND:
        raise DomainError(f"An order may total at most {MAX_ORDER_VND:,} dong.", field="lines")
    # Writing the order claims its Idempotency-Key: a concurrent twin waits on the unique index
    # and then finds this order, instead of racing it for the stock.
    session.add(order)
    session.flush()
    return order


def _take_stock(session: Session, order: Order) -> None:
    """Take every line's stock or refuse the order; this locks the listings until commit.

    It runs last, so a popular listing's row lock is held for as short a time as possible.
    """
    for index, line in enumerate(order.lines):
        taken = session.execute(
            update(Listing)
            .where(Listing.id == line.listing_id, Listing.stock >= line.quantity)
            .values(stock=Listing.stock - line.quantity)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"Fewer than {line.quantity} of {line.title!r} are left.",
                field=f"lines.{index}.quantity",
                reason="out_of_stock",
            )


def _certified(product: Product | None, today: date) -> bool:
    """Tell whether a product carries a live OCOP certificate today."""
    certificate = product.current_certification if product else None
    return certificate is not None and certificate.status_on(today) in CERTIFIED


def _sale(stall: Stall, order: Order) -> intents.Sale:
    vendor = stall.vendor
    return intents.Sale(
        order_id=order.id,
        amount_vnd=order.total_vnd,
        vendor_id=vendor.id,
        stall_id=stall.id,
        market_id=stall.market_id,
        commune_code=stall.market.commune_code,
        province_code=stall.market.province_code,
        is_ocop=any(line.is_ocop for line in order.lines),
        payee_bin=vendor.bank_bin,
        payee_account=vendor.account_number,
        stall_label=stall.code,
    )


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
        return cards.refund_card(session, gateway, intent, amount_vnd, source, idempotency_key)
    dedupe_key = f"refund:{intent.public_id}:{idempotency_key}" if idempotency_key else None
    return intents.record(
        session, intent, EventKind.REFUNDED, amount_vnd, source, dedupe_key
    ).intent
