"""Record and query producers, products, certifications and e-commerce listings.

Plain functions taking a Session: they flush, never commit, and raise DomainError naming the field
at fault before anything reaches the database.
"""

import calendar
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, column, delete, func, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, defer, joinedload, selectinload

from catalog.groups import product_groups
from catalog.models import (
    EXPIRING_WITHIN,
    Certification,
    CertificationStatus,
    EcommerceListing,
    IssuingLevel,
    Producer,
    ProducerType,
    Product,
)
from catalog.search import apply_search, search_terms
from market.core.audit import record_audit
from market.core.clock import vietnam_today
from market.core.db import flush_unique, utcnow
from market.core.errors import Conflict, DomainError, NotFound
from market.core.text import fold

VALIDITY_MONTHS = 36
"""A certification is valid for 36 months from its decision date (QĐ 148/2023)."""

SCORE_RANGES = {3: range(50, 70), 4: range(70, 90), 5: range(90, 101)}
DISTRICTS_ABOLISHED = date(2025, 7, 1)
TAX_CODE = re.compile(r"(\d{10})(?:-?(\d{3}))?")

# Communes belong to market.places; the catalog reaches them by table name, as its foreign keys do.
COMMUNES = table("communes", column("code"), column("province_code"))


def add_months(day: date, months: int) -> date:
    """Return `day` moved by `months`, clamped to the month's end: 29 Feb 2024 + 36 -> 28 Feb."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# Producers


def normalize_tax_code(tax_code: str) -> str:
    """Return a tax code (MST) as 10 digits or 10-3 digits, or raise naming `tax_code`."""
    match = TAX_CODE.fullmatch(tax_code.strip())
    if match is None:
        raise DomainError(
            "A tax code (MST) is 10 digits, or 13 written as 10-3 for a branch: 0101234567-001.",
            field="tax_code",
        )
    head, branch = match.groups()
    return f"{head}-{branch}" if branch else head


def _check_commune(session: Session, code: str, field: str) -> None:
    if session.scalar(select(COMMUNES.c.code).where(COMMUNES.c.code == code)) is None:
        raise DomainError(
            f"There is no commune with code {code!r}; GET /api/v1/communes lists them.",
            field=field,
        )


def _check_tax_code_free(session: Session, tax_code: str, producer_id: int | None) -> None:
    other = session.scalar(select(Producer.id).where(Producer.tax_code == tax_code))
    if other is not None and other != producer_id:
        raise Conflict(f"Producer {other} already has tax code {tax_code}.", field="tax_code")


def create_producer(
    session: Session,
    *,
    name: str,
    producer_type: ProducerType,
    commune_code: str,
    tax_code: str | None = None,
) -> Producer:
    """Register a producer."""
    producer = _save_producer(
        session,
        Producer(),
        {
            "name": name,
            "producer_type": producer_type,
            "commune_code": commune_code,
            "tax_code": tax_code,
        },
    )
    record_audit(session, None, "producer.create", "producer", producer.id, name=name)
    return producer


def update_producer(session: Session, producer_id: int, changes: Mapping[str, Any]) -> Producer:
    """Change a producer; its products' search text follows a new name."""
    producer = _save_producer(session, get_producer(session, producer_id), changes)
    record_audit(session, None, "producer.update", "producer", producer.id, fields=sorted(changes))
    return producer


def _save_producer(session: Session, producer: Producer, changes: Mapping[str, Any]) -> Producer:
    values = dict(changes)
    if values.get("tax_code") is not None:
        values["tax_code"] = normalize_tax_code(values["tax_code"])
        _check_tax_code_free(session, values["tax_code"], producer.id)
    if "commune_code" in values:
        _check_commune(session, values["commune_code"], "commune_code")
    for key, value in values.items():
        setattr(producer, key, value)
    session.add(producer)
    if "name" in values:
        for product in producer.products:
            _refresh_search(product)
    flush_unique(session, "Another producer has this tax code.", "tax_code")
    return producer


def get_producer(session: Session, producer_id: int) -> Producer:
    """Return a producer or raise NotFound."""
    producer = session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(f"There is no producer {producer_id}.", field="producer_id", location="path")
    return producer


def producer_query(
    producer_type: ProducerType | None = None, commune: str | None = None
) -> Select[Any]:
    """Select producers by type and commune, in id order."""
    query = select(Producer).order_by(Producer.id)
    if producer_type:
        query = query.where(Producer.producer_type == producer_type)
    if commune:
        query = query.where(Producer.commune_code == commune)
    return query


def delete_producer(session: Session, producer_id: int) -> None:
    """Delete a producer that nothing references, or raise Conflict."""
    producer = get_producer(session, producer_id)
    if not _delete_unreferenced(session, Producer, producer.id):
        raise Conflict(
            "This producer still has products (or other records); delete or move them first."
        )
    session.expunge(producer)
    record_audit(session, None, "producer.delete", "producer", producer_id, name=producer.name)


def _delete_unreferenced(session: Session, model: type[Any], row_id: int) -> bool:
    """Delete a row in a savepoint; return False, with nothing changed, when a foreign key refuses.

    The database knows every table that references the row (including tables of other packages
    that the catalog may not import, such as market's stall listings), so asking it is the only
    complete check.
    """
    try:
        with session.begin_nested():
            session.execute(delete(model).where(model.id == row_id))
    except IntegrityError:
        return False
    return True


# Products


def _check_groups(group_code: str, subgroup_code: str) -> None:
    groups = product_groups()
    group = groups.get(group_code)
    if group is None or group.parent_code is not None:
        raise DomainError(
            f"There is no product group {group_code!r}; GET /api/v1/product-groups lists them.",
            field="group_code",
        )
    subgroup = groups.get(subgroup_code)
    if subgroup is None or subgroup.parent_code != group_code:
        raise DomainError(
            f"{subgroup_code!r} is not a sub-group of {group_code}; "
            "GET /api/v1/product-groups lists them.",
            field="subgroup_code",
        )


def _refresh_search(product: Product) -> None:
    product.search_name = fold(product.name)
    product.search_text = fold(f"{product.name} {product.producer.name} {product.description}")


def create_product(
    session: Session,
    *,
    producer_id: int,
    name: str,
    group_code: str,
    subgroup_code: str,
    unit: str,
    origin_commune_code: str,
    description: str = "",
) -> Product:
    """Add a product of a producer."""
    product = _save_product(
        session,
        Product(),
        {
            "producer_id": producer_id,
            "name": name,
            "group_code": group_code,
            "subgroup_code": subgroup_code,
            "unit": unit,
            "origin_commune_code": origin_commune_code,
            "description": description,
        },
    )
    record_audit(
        session, None, "product.create", "product", product.id, producer_id=producer_id, name=name
    )
    return product


def update_product(session: Session, product_id: int, changes: Mapping[str, Any]) -> Product:
    """Change a product."""
    product = _save_product(session, get_product(session, product_id), changes)
    record_audit(session, None, "product.update", "product", product.id, fields=sorted(changes))
    return product


def _save_product(session: Session, product: Product, changes: Mapping[str, Any]) -> Product:
    if "group_code" in changes or "subgroup_code" in changes:
        _check_groups(
            changes.get("group_code", product.group_code),
            changes.get("subgroup_code", product.subgroup_code),
        )
    if "origin_commune_code" in changes:
        _check_commune(session, changes["origin_commune_code"], "origin_commune_code")
    if "producer_id" in changes:
        if session.get(Producer, changes["producer_id"]) is None:
            raise DomainError(
                f"There is no producer {changes['producer_id']}.", field="producer_id"
            )
    for key, value in changes.items():
        setattr(product, key, value)
    product.producer = session.get_one(Producer, product.producer_id)
    _refresh_search(product)
    session.add(product)
    session.flush()
    return product


def get_product(session: Session, product_id: int) -> Product:
    """Return a product, archived or not, or raise NotFound."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"There is no product {product_id}.", field="product_id", location="path")
    return product


@dataclass(frozen=True)
class Removal:
    """What deleting a product did: it is gone, or, still referenced, it was archived."""

    id: int
    outcome: str
    archived_at: datetime | None = None


def delete_product(session: Session, product_id: int) -> Removal:
    """Delete a product, or archive it when anything references it (certifications, sales…).

    Archiving keeps every reference valid and hides the product from the default list.
    """
    product = get_product(session, product_id)
    if _delete_unreferenced(session, Product, product.id):
        session.expunge(product)
        record_audit(session, None, "product.delete", "product", product_id, name=product.name)
        return Removal(product_id, "deleted")
    product.archived_at = product.archived_at or utcnow()
    session.flush()
    record_audit(session, None, "product.archive", "product", product_id, name=product.name)
    return Removal(product_id, "archived", product.archived_at)


@dataclass(frozen=True)
class ProductFilters:
    """What a shopper or an official narrows the product list by."""

    q: str | None = None
    province: str | None = None
    commune: str | None = None
    group: str | None = None
    subgroup: str | None = None
    stars: int | None = None
    status: CertificationStatus | None = None
    producer_type: ProducerType | None = None
    include_archived: bool = False
    sort: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "ProductFilters":
        """Take the filters out of a request's query arguments, leaving paging aside."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in args.items() if name in names})


SORTS = ("relevance", "name", "stars", "newest")


def status_condition(status: CertificationStatus, today: date) -> Any:
    """Return the SQL condition "the certification has `status` on `today`" (see status_on)."""
    if status is CertificationStatus.REVOKED:
        return Certification.revoked_at.is_not(None)
    live = Certification.revoked_at.is_(None)
    if status is CertificationStatus.EXPIRED:
        return live & (Certification.valid_until < today)
    if status is CertificationStatus.EXPIRING:
        return live & Certification.valid_until.between(today, today + EXPIRING_WITHIN)
    return live & (Certification.valid_until > today + EXPIRING_WITHIN)


def product_query(filters: ProductFilters, dialect: str, today: date | None = None) -> Select[Any]:
    """Select products by the filters, ranked by relevance to `q` or sorted; id breaks ties.

    Only the columns a product card shows are read. A sorted list joins the producer and the
    certification into the page statement (the page count leaves them out); a ranked search reads
    every match before the page is cut, so it fetches them afterwards by id instead of joining
    them to every match.
    """
    today = today or vietnam_today()
    terms = search_terms(filters.q or "")
    query = select(Product).options(defer(Product.description), defer(Product.search_text))
    query = query.options(
        selectinload(Product.producer) if terms else joinedload(Product.producer, innerjoin=True)
    )
    if not filters.include_archived:
        query = query.where(Product.archived_at.is_(None))
    if filters.province:
        communes = select(COMMUNES.c.code).where(COMMUNES.c.province_code == filters.province)
        query = query.where(Product.origin_commune_code.in_(communes))
    if filters.commune:
        query = query.where(Product.origin_commune_code == filters.commune)
    if filters.group:
        query = query.where(Product.group_code == filters.group)
    if filters.subgroup:
        query = query.where(Product.subgroup_code == filters.subgroup)
    if filters.producer_type:
        query = query.join(Product.producer).where(Producer.producer_type == filters.producer_type)
    sort = filters.sort or ("relevance" if terms else "name")
    if filters.stars or filters.status or sort == "stars":
        query = query.outerjoin(
            Certification, Product.current_certification_id == Certification.id
        ).options(contains_eager(Product.current_certification))
    else:
        query = query.options(
            selectinload(Product.current_certification)
            if terms
            else joinedload(Product.current_certification)
        )
    if filters.stars:
        query = query.where(Certification.stars == filters.stars)
    if filters.status:
        query = query.where(status_condition(filters.status, today))
    if terms:
        query, relevance = apply_search(query, dialect, terms)
        if sort == "relevance":
            return query.order_by(relevance, Product.id)
    if sort == "stars":
        return query.order_by(func.coalesce(Certification.stars, 0).desc(), Product.id)
    if sort == "newest":
        return query.order_by(Product.created_at.desc(), Product.id.desc())
    return query.order_by(Product.search_name, Product.id)


# Certifications


def _check_certification(values: Mapping[str, Any], today: date) -> None:
    stars, score = values["stars"], values["score"]
    if stars not in SCORE_RANGES:
        raise DomainError("Only 3, 4 and 5 stars are certified.", field="stars")
    allowed = SCORE_RANGES[stars]
    if score not in allowed:
        raise DomainError(
            f"A {stars}★ certification needs a score of {allowed.start}-{allowed.stop - 1}, "
            f"not {score}.",
            field="score",
        )
    if values["decision_date"] > today:
        raise DomainError(
            f"The decision date {values['decision_date']} is in the future (today is {today}).",
            field="decision_date",
        )
    level = values["issuing_level"]
    if level is IssuingLevel.CENTRAL and stars != 5 or stars == 5 and level != IssuingLevel.CENTRAL:
        raise DomainError("5★ is recognised centrally, and only 5★.", field="issuing_level")
    if level is IssuingLevel.DISTRICT_LEGACY and (
        stars != 3 or values["decision_date"] >= DISTRICTS_ABOLISHED
    ):
        raise DomainError(
            "Districts recognised only 3★, and only before 1 July 2025.", field="issuing_level"
        )


def _check_decision_free(
    session: Session, product_id: int, decision_number: str, certification_id: int | None
) -> None:
    other = session.scalar(
        select(Certification.id).where(
            Certification.product_id == product_id,
            Certification.decision_number == decision_number,
        )
    )
    if other is not None and other != certification_id:
        raise Conflict(
            f"Decision {decision_number} is already recorded for this product (certification "
            f"{other}).",
            field="decision_number",
        )


def refresh_current_certification(session: Session, product: Product) -> None:
    """Point the product at its latest non-revoked certification, else its latest revoked one."""
    session.flush()
    product.current_certification = session.scalars(
        select(Certification)
        .where(Certification.product_id == product.id)
        .order_by(
            Certification.revoked_at.is_not(None),
            Certification.decision_date.desc(),
            Certification.id.desc(),
        )
        .limit(1)
    ).first()
    session.flush()


def record_certification(
    session: Session,
    product_id: int,
    *,
    stars: int,
    score: int,
    decision_number: str,
    decision_date: date,
    issuing_level: IssuingLevel,
    today: date | None = None,
) -> Certification:
    """Record an OCOP decision for a product; it is valid for 36 months."""
    product = get_product(session, product_id)
    values = {
        "stars": stars,
        "score": score,
        "decision_number": decision_number,
        "decision_date": decision_date,
        "issuing_level": issuing_level,
    }
    certification = _save_certification(session, Certification(), product, values, today)
    record_audit(
        session,
        None,
        "certification.record",
        "certification",
        certification.id,
        product_id=product.id,
        stars=stars,
        decision_number=decision_number,
    )
    return certification


def update_certification(
    session: Session, certification_id: int, changes: Mapping[str, Any], today: date | None = None
) -> Certification:
    """Correct a recorded certification."""
    certification = get_certification(session, certification_id)
    _save_certification(session, certification, certification.product, changes, today)
    record_audit(
        session,
        None,
        "certification.update",
        "certification",
        certification.id,
        fields=sorted(changes),
    )
    return certification


def _save_certification(
    session: Session,
    certification: Certification,
    product: Product,
    changes: Mapping[str, Any],
    today: date | None,
) -> Certification:
    fields = ("stars", "score", "decision_number", "decision_date", "issuing_level")
    values = {field: getattr(certification, field) for field in fields} | dict(changes)
    _check_certification(values, today or vietnam_today())
    _check_decision_free(session, product.id, values["decision_number"], certification.id)
    for key, value in values.items():
        setattr(certification, key, value)
    certification.product = product
    certification.valid_until = add_months(certification.decision_date, VALIDITY_MONTHS)
    session.add(certification)
    flush_unique(session, "This decision is already recorded for the product.", "decision_number")
    refresh_current_certification(session, product)
    return certification


def get_certification(session: Session, certification_id: int) -> Certification:
    """Return a certification or raise NotFound."""
    certification = session.get(Certification, certification_id)
    if certification is None:
        raise NotFound(
            f"There is no certification {certification_id}.",
            field="certification_id",
            location="path",
        )
    return certification


def revoke_certification(
    session: Session, certification_id: int, reason: str, now: datetime | None = None
) -> Certification:
    """Withdraw a certification; the product falls back to its previous one, if any."""
    certification = get_certification(session, certification_id)
    if certification.revoked_at is not None:
        raise Conflict(f"Certification {certification_id} was already revoked.")
    certification.revoked_at = now or utcnow()
    certification.revocation_reason = reason
    refresh_current_certification(session, certification.product)
    record_audit(
        session,
        None,
        "certification.revoke",
        "certification",
        certification.id,
        product_id=certification.product_id,
        reason=reason,
    )
    return certification


def delete_certification(session: Session, certification_id: int) -> None:
    """Delete a certification recorded by mistake (revoke one that was withdrawn instead)."""
    certification = get_certification(session, certification_id)
    product = certification.product
    if product.current_certification_id == certification.id:
        product.current_certification = None
        session.flush()
    session.delete(certification)
    refresh_current_certification(session, product)
    record_audit(
        session,
        None,
        "certification.delete",
        "certification",
        certification_id,
        product_id=product.id,
        decision_number=certification.decision_number,
    )


# E-commerce listings


def _check_listing_dates(listed_at: datetime, delisted_at: datetime | None) -> None:
    if delisted_at is not None and delisted_at < listed_at:
        raise DomainError("A product is delisted after it was listed.", field="delisted_at")


def add_ecommerce_listing(session: Session, product_id: int, **values: Any) -> EcommerceListing:
    """Record where a product is sold online."""
    product = get_product(session, product_id)
    values.setdefault("listed_at", utcnow())
    listing = _save_listing(session, EcommerceListing(), product, values)
    record_audit(
        session, None, "ecommerce_listing.create", "ecommerce_listing", listing.id,
        product_id=product.id,
    )  # fmt: skip
    return listing


def update_ecommerce_listing(
    session: Session, listing_id: int, changes: Mapping[str, Any]
) -> EcommerceListing:
    """Change a listing, e.g. mark it delisted."""
    listing = get_ecommerce_listing(session, listing_id)
    _save_listing(session, listing, listing.product, changes)
    record_audit(
        session, None, "ecommerce_listing.update", "ecommerce_listing", listing.id,
        fields=sorted(changes),
    )  # fmt: skip
    return listing


def _save_listing(
    session: Session, listing: EcommerceListing, product: Product, changes: Mapping[str, Any]
) -> EcommerceListing:
    values = {"listed_at": listing.listed_at, "delisted_at": listing.delisted_at} | dict(changes)
    _check_listing_dates(values["listed_at"], values["delisted_at"])
    url = values.get("url", listing.url)
    other = session.scalar(
        select(EcommerceListing.id).where(
            EcommerceListing.product_id == product.id, EcommerceListing.url == url
        )
    )
    if other is not None and other != listing.id:
        raise Conflict(f"This product already has listing {other} at that URL.", field="url")
    for key, value in values.items():
        setattr(listing, key, value)
    listing.product = product
    session.add(listing)
    flush_unique(session, "This product already has a listing at that URL.", "url")
    return listing


def get_ecommerce_listing(session: Session, listing_id: int) -> EcommerceListing:
    """Return an e-commerce listing or raise NotFound."""
    listing = session.get(EcommerceListing, listing_id)
    if listing is None:
        raise NotFound(f"There is no listing {listing_id}.", field="listing_id", location="path")
    return listing


def delete_ecommerce_listing(session: Session, listing_id: int) -> None:
    """Delete an e-commerce listing."""
    listing = get_ecommerce_listing(session, listing_id)
    session.delete(listing)
    session.flush()
    record_audit(
        session, None, "ecommerce_listing.delete", "ecommerce_listing", listing_id,
        product_id=listing.product_id,
    )  # fmt: skip
