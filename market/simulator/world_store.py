"""Store a generated world in bulk: the rows `store.store_world` writes, a table at a time.

`store_world` creates each producer, product, certification, market, vendor, stall and listing
through its service: about ten statements per stall, 415 s for a PaySim-sized world of 9,450
stalls. `store_world_bulk` applies the same checks, with the services' own check functions
(communes, product groups, certification stars, scores, dates and issuing levels, bank BINs and
account numbers, stall codes free in their market, whole-dong prices), then writes each table
with one COPY on PostgreSQL (executemany on SQLite), ids drawn ahead from the tables' sequences.

The rows are those the services write, audit events included: an account, vendor profile,
market, stall, producer, product and certification created by the simulator is logged as the
services log it (by the system or the vendor's account, with the same details), so that the
log says where every row of a simulated world came from, whichever mode stored it. Listings get
their province, product group and stars from the database's triggers (migration 0008), as a
listing created by the service does: products point at their current certification before the
listings are written.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from catalog import services as catalog
from catalog.models import Certification, Producer, Product
from catalog.services import VALIDITY_MONTHS, add_months
from market.accounts.models import User
from market.core.audit import ACTOR_KEY, AuditEvent, mask_account
from market.core.clock import VIETNAM, vietnam_today
from market.core.db import table_of, utcnow
from market.core.errors import Conflict, DomainError
from market.core.principals import Principal, Role
from market.core.text import fold
from market.markets import services as markets
from market.markets.models import Market, Stall
from market.simulator import world as generated
from market.simulator.store import Stored
from market.vendors.models import Listing, Vendor
from market.vendors.services import check_bank_account
from payments.bulk import IdPool, write_rows

_users, _vendors, _markets = table_of(User), table_of(Vendor), table_of(Market)
_stalls, _listings, _audit = table_of(Stall), table_of(Listing), table_of(AuditEvent)
_producers, _products = table_of(Producer), table_of(Product)
_certifications = table_of(Certification)
SET_CURRENT = (
    update(_products)
    .where(_products.c.id == bindparam("product_id"))
    .values(current_certification_id=bindparam("certification_id"))
)
AUDIT_COLUMNS = (
    "occurred_at",
    "actor_user_id",
    "actor_role",
    "action",
    "subject_type",
    "subject_id",
    "details",
)


def _ids(session: Session, table: Table, count: int) -> list[int]:
    """Return `count` fresh ids of `table`, in increasing order."""
    if count == 0:
        return []
    pool = IdPool(session, table, block=count)
    return [pool.take() for _ in range(count)]


def check_world(session: Session, world: generated.World, today: Any = None) -> None:
    """Refuse the world as the services would refuse its first bad entity, naming the field."""
    today = today or vietnam_today()
    places: dict[str, str] = {}
    for producer in world.producers:
        places.setdefault(producer.commune_code, "commune_code")
    for product in world.products:
        places.setdefault(product.origin_commune_code, "origin_commune_code")
    for code, field in places.items():
        catalog._check_commune(session, code, field)
    for code in {market.commune_code for market in world.markets}:
        markets._check_commune(session, code)
    for product in world.products:
        catalog._check_groups(product.group_code, product.subgroup_code)
        decisions: set[str] = set()
        for certification in product.certifications:
            values = {
                "stars": certification.stars,
                "score": certification.score,
                "decision_number": certification.decision_number,
                "decision_date": certification.decision_date,
                "issuing_level": certification.issuing_level,
            }
            catalog._check_certification(values, today)
            if certification.decision_number in decisions:
                raise Conflict(
                    "This decision is already recorded for the product.", field="decision_number"
                )
            decisions.add(certification.decision_number)
    for vendor in world.vendors:
        check_bank_account(vendor.bank_bin, vendor.account_number)
    codes: set[tuple[str, str]] = set()
    for stall in world.stalls:
        taken = (stall.market, stall.code.strip().upper())
        if taken in codes:
            raise Conflict(f"Stall {taken[1]} is already taken in this market.", field="code")
        codes.add(taken)
    for listing in world.listings:
        if type(listing.price_vnd) is not int or listing.price_vnd <= 0:
            raise DomainError(
                f"A price is a whole number of dong above 0, not {listing.price_vnd!r}.",
                field="price_vnd",
            )
        if type(listing.stock) is not int or not 0 <= listing.stock <= generated.MAX_STOCK:
            raise DomainError(
                f"Stock is 0 to {generated.MAX_STOCK:,}, not {listing.stock!r}.", field="stock"
            )


def store_world_bulk(session: Session, world: generated.World, opened: Any) -> Stored:
    """Check and store the world like `store_world`, a table at a time; return its ids."""
    check_world(session, world)
    since = datetime.combine(opened, datetime.min.time(), VIETNAM)
    now = utcnow()
    system: Principal | None = session.info.get(ACTOR_KEY)
    audit: list[tuple[Any, ...]] = []

    def log(actor: Principal | None, action: str, subject: str, id_: int, **details: Any) -> None:
        actor = actor or system
        audit.append(
            (
                now,
                actor.user_id if actor else None,
                actor.role.value if actor else "system",
                action,
                subject,
                str(id_),
                details,
            )
        )

    session.flush()
    producers = dict(
        zip(
            (producer.key for producer in world.producers),
            _ids(session, _producers, len(world.producers)),
            strict=True,
        )
    )
    producer_names = {producer.key: producer.name for producer in world.producers}
    producer_rows = []
    for producer in world.producers:
        id_ = producers[producer.key]
        producer_rows.append(
            (id_, producer.name, producer.producer_type.value, None, producer.commune_code, now)
        )
        log(None, "producer.create", "producer", id_, name=producer.name)
    products = dict(
        zip(
            (product.key for product in world.products),
            _ids(session, _products, len(world.products)),
            strict=True,
        )
    )
    count = sum(len(product.certifications) for product in world.products)
    certification_ids = iter(_ids(session, _certifications, count))
    product_rows, certification_rows, current = [], [], []
    for product in world.products:
        id_ = products[product.key]
        product_rows.append(
            (
                id_,
                producers[product.producer],
                product.name,
                product.group_code,
                product.subgroup_code,
                product.description,
                product.unit,
                product.origin_commune_code,
                fold(product.name),
                fold(f"{product.name} {producer_names[product.producer]} {product.description}"),
                None,  # current_certification_id, once the certifications are written
                now,
                None,
            )
        )
        log(
            None,
            "product.create",
            "product",
            id_,
            producer_id=producers[product.producer],
            name=product.name,
        )
        latest: tuple[Any, int] | None = None
        for certification in product.certifications:
            certification_id = next(certification_ids)
            certification_rows.append(
                (
                    certification_id,
                    id_,
                    certification.stars,
                    certification.score,
                    certification.decision_number,
                    certification.decision_date,
                    certification.issuing_level.value,
                    add_months(certification.decision_date, VALIDITY_MONTHS),
                    None,
                    None,
                    now,
                )
            )
            log(
                None,
                "certification.record",
                "certification",
                certification_id,
                product_id=id_,
                stars=certification.stars,
                decision_number=certification.decision_number,
            )
            # refresh_current_certification's rule: the latest decision, then the latest row.
            if latest is None or certification.decision_date >= latest[0]:
                latest = (certification.decision_date, certification_id)
        if latest is not None:
            current.append({"product_id": id_, "certification_id": latest[1]})
    stored = Stored()
    market_ids = _ids(session, _markets, len(world.markets))
    market_rows = []
    for market, id_ in zip(world.markets, market_ids, strict=True):
        stored.markets[market.key] = id_
        market_rows.append(
            (
                id_,
                market.name,
                fold(market.name),
                market.commune_code,
                market.kind.value,
                market.market_class,
                market.address,
                market.schedule,
                since,
                True,
            )
        )
        log(None, "market.create", "market", id_, name=market.name)
    user_ids = _ids(session, _users, len(world.vendors))
    vendor_ids = _ids(session, _vendors, len(world.vendors))
    user_rows, vendor_rows = [], []
    for vendor, user_id, vendor_id in zip(world.vendors, user_ids, vendor_ids, strict=True):
        actor = Principal(user_id, Role.VENDOR)
        user_rows.append(
            (user_id, vendor.owner_name.strip(), None, None, Role.VENDOR.value, now, None)
        )
        vendor_rows.append(
            (
                vendor_id,
                user_id,
                vendor.display_name,
                vendor.phone,
                vendor.bank_bin,
                vendor.account_number,
                vendor.account_holder,
                now,
            )
        )
        stored.vendors[vendor.key] = actor
        stored.vendor_ids[vendor.key] = vendor_id
        stored.accounts[vendor.key] = vendor.account_number
    # The services log an account's creation, then its vendor profile, vendor by vendor.
    for vendor, user_id, vendor_id in zip(world.vendors, user_ids, vendor_ids, strict=True):
        log(None, "account.create", "user", user_id, role=Role.VENDOR.value)
        log(
            stored.vendors[vendor.key],
            "vendor.register",
            "vendor",
            vendor_id,
            bank_bin=vendor.bank_bin,
            account_number=mask_account(vendor.account_number),
        )
    stall_rows = []
    for stall, id_ in zip(world.stalls, _ids(session, _stalls, len(world.stalls)), strict=True):
        code = stall.code.strip().upper()
        market_id = stored.markets[stall.market]
        stored.stalls[stall.key] = id_
        stall_rows.append(
            (
                id_,
                market_id,
                stored.vendor_ids[stall.vendor],
                code,
                stall.name,
                stall.category.value,
                since,
                None,
                None,
            )
        )
        log(
            stored.vendors[stall.vendor],
            "stall.open",
            "stall",
            id_,
            market_id=market_id,
            code=code,
        )
    listing_rows = []
    listing_ids = _ids(session, _listings, len(world.listings))
    for listing, id_ in zip(world.listings, listing_ids, strict=True):
        stored.listings[listing.key] = id_
        product_id = products[listing.product] if listing.product else None
        listing_rows.append(
            (
                id_,
                stored.vendor_ids[listing.vendor],
                stored.stalls[listing.stall],
                product_id,
                listing.title,
                fold(listing.title),
                listing.unit,
                listing.price_vnd,
                listing.stock,
                now,
            )
        )
    _write(session, _producers, producer_rows)
    _write(session, _products, product_rows)
    _write(session, _certifications, certification_rows)
    if current:
        session.connection().execute(SET_CURRENT, current)
    _write(session, _markets, market_rows)
    _write(session, _users, user_rows)
    _write(session, _vendors, vendor_rows)
    _write(session, _stalls, stall_rows)
    # The listings' province_code, product_group and product_stars: the trigger fills them.
    _write(session, _listings, listing_rows, skip=("archived_at", *TRIGGER_FILLED))
    write_rows(session, _audit, AUDIT_COLUMNS, audit)
    return stored


TRIGGER_FILLED = ("province_code", "product_group", "product_stars")


def _write(
    session: Session, table: Table, rows: Sequence[tuple[Any, ...]], skip: Sequence[str] = ()
) -> None:
    """Write rows given in the table's column order, less the columns in `skip`."""
    columns = [name for name in table.c.keys() if name not in skip]
    assert not rows or len(rows[0]) == len(columns), f"{table.name}: {columns}"
    write_rows(session, table, columns, rows)
