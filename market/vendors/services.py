"""Vendor profiles, their listings, and the ownership rule: a vendor changes only its own."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from catalog.models import Product
from market.core.audit import mask_account, record_audit
from market.core.db import flush_unique, get_or_404, utcnow
from market.core.errors import Conflict, DomainError, Forbidden
from market.core.principals import Principal, Role
from market.core.text import fold
from market.markets.models import Market, Stall
from market.vendors.models import Listing, Vendor
from payments.banks import bank_by_bin


class _MayBeClosed(Protocol):
    @property
    def closed_at(self) -> datetime | None: ...


Found = TypeVar("Found", bound=_MayBeClosed)


def check_bank_account(bank_bin: str, account_number: str) -> None:
    """Refuse a BIN outside the bank directory or an account number that is not 6-19 digits."""
    if bank_by_bin(bank_bin) is None:
        raise DomainError(
            f"No bank has BIN {bank_bin!r}; GET /api/v1/banks lists them.", field="bank_bin"
        )
    # Every bank in the directory numbers its accounts with digits (VietQR allows up to 19).
    if not (
        account_number.isascii() and account_number.isdigit() and 6 <= len(account_number) <= 19
    ):
        raise DomainError(
            "A bank account number is 6 to 19 digits, with no letters, spaces or dashes.",
            field="account_number",
        )


def register_vendor(
    session: Session,
    actor: Principal,
    *,
    display_name: str,
    bank_bin: str,
    account_number: str,
    account_holder: str,
    phone: str | None = None,
) -> Vendor:
    """Create the calling vendor account's business profile; each account has one."""
    check_bank_account(bank_bin, account_number)
    vendor = Vendor(
        user_id=actor.user_id,
        display_name=display_name,
        bank_bin=bank_bin,
        account_number=account_number,
        account_holder=account_holder,
        phone=phone,
    )
    session.add(vendor)
    flush_unique(
        session, "This account already has a vendor profile; update it instead.", "user_id"
    )
    record_audit(
        session,
        actor,
        "vendor.register",
        "vendor",
        vendor.id,
        bank_bin=bank_bin,
        account_number=mask_account(account_number),
    )
    return vendor


def get_vendor(session: Session, vendor_id: int) -> Vendor:
    """Return a vendor or raise NotFound."""
    return get_or_404(session, Vendor, vendor_id, "vendor", "vendor_id")


def own_vendor(session: Session, actor: Principal) -> Vendor:
    """Return the calling account's vendor profile, or say how to create one."""
    vendor = session.scalar(select(Vendor).where(Vendor.user_id == actor.user_id))
    if vendor is None:
        raise Conflict(
            "Register your vendor profile first: POST /api/v1/vendors.", reason="no_vendor_profile"
        )
    return vendor


def ensure_may_manage(actor: Principal, vendor: Vendor, thing: str) -> None:
    """Refuse unless the caller owns `vendor` or is an administrator."""
    if actor.role != Role.ADMIN and vendor.user_id != actor.user_id:
        raise Forbidden(f"This {thing} belongs to another vendor.")


def update_vendor(
    session: Session, actor: Principal, vendor_id: int, changes: Mapping[str, Any]
) -> Vendor:
    """Change a vendor's name, phone or payout bank account."""
    vendor = get_vendor(session, vendor_id)
    ensure_may_manage(actor, vendor, "vendor profile")
    check_bank_account(
        changes.get("bank_bin", vendor.bank_bin),
        changes.get("account_number", vendor.account_number),
    )
    before = {key: getattr(vendor, key) for key in changes}
    for key, value in changes.items():
        setattr(vendor, key, value)
    session.flush()
    _audit_vendor_change(session, actor, vendor, before)
    return vendor


def _audit_vendor_change(
    session: Session, actor: Principal, vendor: Vendor, before: Mapping[str, Any]
) -> None:
    """Log a changed payout account, old and new masked; other fields are named, not copied."""
    changed = sorted(key for key, old in before.items() if getattr(vendor, key) != old)
    if not changed:
        return
    details: dict[str, Any] = {"fields": changed}
    if {"bank_bin", "account_number"} & set(changed):
        action = "vendor.bank_account_change"
        old_bin = before.get("bank_bin", vendor.bank_bin)
        old_number = before.get("account_number", vendor.account_number)
        details["old"] = {"bank_bin": old_bin, "account_number": mask_account(old_number)}
        details["new"] = {
            "bank_bin": vendor.bank_bin,
            "account_number": mask_account(vendor.account_number),
        }
    else:
        action = "vendor.update"
    record_audit(session, actor, action, "vendor", vendor.id, **details)


def _listable_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.archived_at is not None:
        raise DomainError(f"There is no product {product_id} to list.", field="product_id")
    return product


def get_open_stall(session: Session, stall_id: int, **options: Any) -> Stall:
    """Return a stall that is open for business, or refuse the request naming stall_id."""
    return ensure_open_stall(stall_id, session.get(Stall, stall_id, **options))


def ensure_open_stall(stall_id: int, stall: Found | None) -> Found:
    """Return the stall (or a row read with its closed_at), refusing one missing or closed."""
    if stall is None or stall.closed_at is not None:
        raise DomainError(f"There is no open stall {stall_id}.", field="stall_id")
    return stall


def create_listing(
    session: Session,
    actor: Principal,
    *,
    stall_id: int,
    price_vnd: int,
    stock: int,
    unit: str | None = None,
    title: str | None = None,
    product_id: int | None = None,
) -> Listing:
    """Offer goods at one of the caller's own stalls: a catalog product, or anything titled."""
    stall = get_open_stall(session, stall_id)
    ensure_may_manage(actor, stall.vendor, "stall")
    product = _listable_product(session, product_id) if product_id is not None else None
    title = title or (product.name if product else None)
    if not title:
        raise DomainError(
            "Give the listing a title, or a product_id to take it from.", field="title"
        )
    listing = Listing(
        vendor_id=stall.vendor_id,
        stall_id=stall.id,
        product_id=product_id,
        title=title,
        search_title=fold(title),
        unit=unit or (product.unit if product else "cái"),
        price_vnd=price_vnd,
        stock=stock,
    )
    session.add(listing)
    session.flush()
    return listing


def get_listing(session: Session, listing_id: int) -> Listing:
    """Return a listing or raise NotFound."""
    return get_or_404(session, Listing, listing_id, "listing", "listing_id")


def update_listing(
    session: Session, actor: Principal, listing_id: int, changes: Mapping[str, Any]
) -> Listing:
    """Change a listing's price, stock, title or unit."""
    listing = get_listing(session, listing_id)
    ensure_may_manage(actor, listing.vendor, "listing")
    old_price = listing.price_vnd
    for key, value in changes.items():
        setattr(listing, key, value)
    listing.search_title = fold(listing.title)
    session.flush()
    if listing.price_vnd != old_price:
        record_audit(
            session,
            actor,
            "listing.price_change",
            "listing",
            listing.id,
            old_price_vnd=old_price,
            new_price_vnd=listing.price_vnd,
        )
    return listing


def archive_listing(session: Session, actor: Principal, listing_id: int) -> Listing:
    """Take a listing off sale; orders that refer to it keep their history."""
    listing = get_listing(session, listing_id)
    ensure_may_manage(actor, listing.vendor, "listing")
    if listing.archived_at is None:
        listing.archived_at = utcnow()
        session.flush()
    return listing


class ListingSort(StrEnum):
    """Orders a listing page can come in; each ends with the id, so pages never overlap."""

    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    TITLE = "title"


SORT_ORDER = {
    ListingSort.NEWEST: (Listing.id.desc(),),
    ListingSort.PRICE_ASC: (Listing.price_vnd, Listing.id),
    ListingSort.PRICE_DESC: (Listing.price_vnd.desc(), Listing.id),
    ListingSort.TITLE: (Listing.search_title, Listing.id),
}


@dataclass(frozen=True)
class ListingFilter:
    """What a shopper narrows the listings by; None means any."""

    market_id: int | None = None
    stall_id: int | None = None
    vendor_id: int | None = None
    province: str | None = None
    commune: str | None = None
    group: str | None = None
    stars: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    text: str | None = None
    sort: ListingSort = ListingSort.NEWEST


def listing_query(criteria: ListingFilter) -> Select[Any]:
    """Select live listings at open stalls matching `criteria`, in a stable order."""
    query = (
        select(Listing)
        .join(Listing.stall)
        .where(Listing.archived_at.is_(None), Stall.closed_at.is_(None))
        .order_by(*SORT_ORDER[criteria.sort])
    )
    equal = {
        Stall.market_id: criteria.market_id,
        Listing.stall_id: criteria.stall_id,
        Listing.vendor_id: criteria.vendor_id,
    }
    query = query.where(*(column == value for column, value in equal.items() if value is not None))
    # Province, group and stars are the listing's own copies (see Listing): one index range.
    if criteria.province:
        query = query.where(Listing.province_code == criteria.province)
    if criteria.commune:
        query = query.join(Market, Market.id == Stall.market_id).where(
            Market.commune_code == criteria.commune
        )
    if criteria.group:
        query = query.where(Listing.product_group == criteria.group)
    if criteria.stars:
        query = query.where(Listing.product_stars == criteria.stars)
    if criteria.min_price is not None:
        query = query.where(Listing.price_vnd >= criteria.min_price)
    if criteria.max_price is not None:
        query = query.where(Listing.price_vnd <= criteria.max_price)
    if criteria.in_stock:
        query = query.where(Listing.stock > 0)
    if criteria.text and fold(criteria.text):
        query = query.where(Listing.search_title.contains(fold(criteria.text), autoescape=True))
    return query
