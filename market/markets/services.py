"""Markets (run by administrators) and stalls (opened by vendors in them)."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, joinedload

from market.core.audit import record_audit
from market.core.db import flush_unique, get_or_404, utcnow
from market.core.errors import Conflict, DomainError
from market.core.principals import Principal
from market.core.text import fold
from market.markets.models import Market, MarketKind, Stall, StallCategory
from market.places.models import Commune
from market.vendors.services import ensure_may_manage, own_vendor
from payments import qr, vietqr
from payments.banks import bank_by_bin


def _check_commune(session: Session, code: str) -> None:
    if session.get(Commune, code) is None:
        raise DomainError(
            f"There is no commune with code {code!r}; GET /api/v1/communes lists them.",
            field="commune_code",
        )


def create_market(
    session: Session,
    *,
    name: str,
    commune_code: str,
    kind: MarketKind,
    schedule: list[dict[str, Any]],
    market_class: int | None = None,
    address: str = "",
) -> Market:
    """Register a market in a commune."""
    _check_commune(session, commune_code)
    market = Market(
        name=name,
        search_name=fold(name),
        commune_code=commune_code,
        kind=kind,
        schedule=schedule,
        market_class=market_class,
        address=address,
    )
    session.add(market)
    session.flush()
    record_audit(session, None, "market.create", "market", market.id, name=name)
    return market


def get_market(session: Session, market_id: int) -> Market:
    """Return a market or raise NotFound."""
    return get_or_404(
        session, Market, market_id, "market", "market_id", options=[joinedload(Market.commune)]
    )


def update_market(session: Session, market_id: int, changes: Mapping[str, Any]) -> Market:
    """Change a market's details."""
    market = get_market(session, market_id)
    if "commune_code" in changes:
        _check_commune(session, changes["commune_code"])
    for key, value in changes.items():
        setattr(market, key, value)
    if "name" in changes:
        market.search_name = fold(market.name)
    session.flush()
    record_audit(session, None, "market.update", "market", market.id, fields=sorted(changes))
    return market


def delete_market(session: Session, market_id: int) -> None:
    """Delete a market that never had a stall; one with stalls is history and stays."""
    market = get_market(session, market_id)
    if session.scalar(select(exists().where(Stall.market_id == market_id))):
        raise Conflict(
            "This market has stalls, so its sales history refers to it; it cannot be deleted.",
            field="market_id",
            location="path",
        )
    session.delete(market)
    session.flush()
    record_audit(session, None, "market.delete", "market", market_id, name=market.name)


def market_query(
    province: str | None = None,
    commune: str | None = None,
    kind: MarketKind | None = None,
    text: str | None = None,
) -> Select[Any]:
    """Select markets by place, kind and name typed with or without accents, in id order."""
    query = select(Market).options(joinedload(Market.commune)).order_by(Market.id)
    if province:
        query = query.join(Market.commune).where(Commune.province_code == province)
    if commune:
        query = query.where(Market.commune_code == commune)
    if kind:
        query = query.where(Market.kind == kind)
    if text and fold(text):
        query = query.where(Market.search_name.contains(fold(text), autoescape=True))
    return query


def open_stall(
    session: Session,
    actor: Principal,
    *,
    market_id: int,
    code: str,
    name: str,
    category: StallCategory,
    accepts_qr: bool = True,
) -> Stall:
    """Open a stall for the calling vendor in a market."""
    vendor = own_vendor(session, actor)
    get_market(session, market_id)
    stall = Stall(
        market_id=market_id,
        vendor_id=vendor.id,
        code=code.strip().upper(),
        name=name,
        category=category,
        qr_since=utcnow() if accepts_qr else None,
    )
    session.add(stall)
    flush_unique(session, f"Stall {stall.code} is already taken in this market.", "code")
    record_audit(
        session, actor, "stall.open", "stall", stall.id, market_id=market_id, code=stall.code
    )
    return stall


def get_stall(session: Session, stall_id: int) -> Stall:
    """Return a stall or raise NotFound."""
    return get_or_404(session, Stall, stall_id, "stall", "stall_id")


def managed_stall(session: Session, actor: Principal, stall_id: int) -> Stall:
    """Return a stall the caller may change: its own, or any for an administrator."""
    stall = get_stall(session, stall_id)
    ensure_may_manage(actor, stall.vendor, "stall")
    return stall


def update_stall(
    session: Session, actor: Principal, stall_id: int, changes: Mapping[str, Any]
) -> Stall:
    """Rename a stall, change its code or category, or turn its VietQR on or off."""
    stall = managed_stall(session, actor, stall_id)
    for key, value in changes.items():
        setattr(stall, key, value.strip().upper() if key == "code" else value)
    flush_unique(session, f"Stall {stall.code} is already taken in this market.", "code")
    return stall


def close_stall(session: Session, actor: Principal, stall_id: int) -> Stall:
    """Close a stall; it keeps its history and stops appearing among open stalls."""
    stall = managed_stall(session, actor, stall_id)
    if stall.closed_at is None:
        stall.closed_at = utcnow()
        session.flush()
        record_audit(session, actor, "stall.close", "stall", stall.id, market_id=stall.market_id)
    return stall


def stall_query(market_id: int | None = None, include_closed: bool = False) -> Select[Any]:
    """Select stalls, open ones only unless asked, in market then code order."""
    query = select(Stall).order_by(Stall.market_id, Stall.code, Stall.id)
    if market_id is not None:
        query = query.where(Stall.market_id == market_id)
    if not include_closed:
        query = query.where(Stall.closed_at.is_(None))
    return query


IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def stall_payment_code(stall: Stall) -> str:
    """Return the stall's static VietQR: the vendor's account, the amount left to the shopper."""
    vendor = stall.vendor
    # No merchant name: VietQR caps it at 25 characters and banks show the holder's name anyway.
    return vietqr.encode(
        vietqr.VietQR(bin=vendor.bank_bin, account=vendor.account_number, store_label=stall.code)
    )


def stall_qr_image(session: Session, stall_id: int, poster: bool, image_format: str) -> bytes:
    """Render a stall's static VietQR, bare or as a printable A6 poster, as PNG or SVG bytes."""
    stall = get_stall(session, stall_id)
    payload = stall_payment_code(stall)
    if not poster:
        image = qr.order_png(payload) if image_format == "png" else qr.order_svg(payload)
    else:
        bank = bank_by_bin(stall.vendor.bank_bin)
        details = (
            payload,
            bank.short_name if bank else stall.vendor.bank_bin,
            stall.vendor.account_holder,
            stall.market.name,
            f"Quầy {stall.code} · {stall.name}",
        )
        image = qr.poster_png(*details) if image_format == "png" else qr.poster_svg(*details)
    return image if isinstance(image, bytes) else image.encode()
