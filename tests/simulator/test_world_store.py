"""Storing a world in bulk writes what the services write, and refuses what they refuse; the
writer process reports what failed."""

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from catalog.models import Certification, Producer, Product
from market.accounts.models import User
from market.core.audit import AuditEvent
from market.core.db import create_db_engine, table_of
from market.core.errors import Conflict, DomainError
from market.markets.models import Market, Stall
from market.sales.bulk import Chunk
from market.simulator.scenario import load_scenario
from market.simulator.store import ProcessChunkWriter, store_world
from market.simulator.world import World, build_world
from market.simulator.world_store import store_world_bulk
from market.vendors.models import Listing, Vendor
from payments.bulk import LedgerChunk
from payments.rollups import Totals

OPENED = date(2026, 10, 30)
TABLES = {
    "users": User,
    "vendors": Vendor,
    "producers": Producer,
    "products": Product,
    "ocop_certifications": Certification,
    "markets": Market,
    "stalls": Stall,
    "listings": Listing,
}
SUBJECTS = {
    "user": "users",
    "vendor": "vendors",
    "producer": "producers",
    "product": "products",
    "certification": "ocop_certifications",
    "market": "markets",
    "stall": "stalls",
}
DETAIL_IDS = {"product_id": "products", "producer_id": "producers", "market_id": "markets"}
WALL_CLOCK = {"created_at", "occurred_at"}  # when the row was written: differs between runs


def snapshot(session: Session, before: dict[str, int]) -> dict[str, Any]:
    """Return the rows written since `before` (largest ids), ids counted from each run's first."""
    base = {
        name: session.scalar(select(func.min(table_of(model).c.id)).where(
            table_of(model).c.id > before[name]
        )) or 0
        for name, model in TABLES.items()
    }  # fmt: skip

    def relative(table: str, value: Any) -> Any:
        return None if value is None else int(value) - base[table]

    result: dict[str, Any] = {}
    for name, model in TABLES.items():
        table: Table = table_of(model)
        rows = []
        for row in session.execute(
            select(table).where(table.c.id > before[name]).order_by(table.c.id)
        ).mappings():
            values = dict(row)
            values["id"] = relative(name, values["id"])
            for column in table.c:
                for key in column.foreign_keys:
                    target = key.column.table.name
                    if target in base:
                        values[column.name] = relative(target, values[column.name])
            if name not in {"markets", "stalls"}:  # the others date from when they were stored
                values.pop("created_at")
            rows.append(values)
        result[name] = rows
    events = []
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.id > before["audit_events"]).order_by(AuditEvent.id)
    ):
        details = {
            key: relative(DETAIL_IDS[key], value) if key in DETAIL_IDS else value
            for key, value in event.details.items()
        }
        events.append(
            (
                relative("users", event.actor_user_id),
                event.actor_role,
                event.action,
                event.subject_type,
                relative(SUBJECTS[event.subject_type], event.subject_id),
                details,
            )
        )
    result["audit_events"] = events
    return result


def largest_ids(session: Session) -> dict[str, int]:
    models = {**TABLES, "audit_events": AuditEvent}
    return {
        name: session.scalar(select(func.max(table_of(model).c.id))) or 0
        for name, model in models.items()
    }


def store_both_ways(session: Session, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    results = []
    for store in (store_world, store_world_bulk):
        savepoint = session.begin_nested()
        before = largest_ids(session)
        store(session, world, OPENED)
        session.flush()
        session.expire_all()
        results.append(snapshot(session, before))
        savepoint.rollback()
    return results[0], results[1]


def test_bulk_world_writes_the_rows_and_audit_events_the_services_write(
    session: Session, small_scenario: Path
) -> None:
    world = build_world(load_scenario(small_scenario), 7)
    by_service, in_bulk = store_both_ways(session, world)

    assert len(in_bulk["listings"]) == len(world.listings) > 10
    assert len(in_bulk["ocop_certifications"]) > len(world.products)  # some were renewed
    assert {event[2] for event in in_bulk["audit_events"]} >= {"vendor.register", "stall.open"}
    for table in [*TABLES, "audit_events"]:
        assert in_bulk[table] == by_service[table], table


def test_listings_stored_in_bulk_carry_their_province_group_and_current_stars(
    session: Session, small_scenario: Path
) -> None:
    world = build_world(load_scenario(small_scenario), 7)
    stored = store_world_bulk(session, world, OPENED)
    session.flush()
    products = {product.key: product for product in world.products}

    rows = {
        row.id: row
        for row in session.execute(
            select(Listing.id, Listing.province_code, Listing.product_group, Listing.product_stars)
        )
    }
    for listing in world.listings:
        row = rows[stored.listings[listing.key]]
        assert row.province_code == "04"  # Cao Bằng
        product = products.get(listing.product or "")
        if product is None:
            assert (row.product_group, row.product_stars) == (None, None)
        else:
            latest = max(product.certifications, key=lambda c: c.decision_date)
            assert (row.product_group, row.product_stars) == (product.group_code, latest.stars)
    assert any(row.product_stars for row in rows.values())


def with_first(world: World, name: str, **changes: Any) -> World:
    """Return `world` with its first entity of collection `name` changed."""
    items = getattr(world, name)
    return dataclasses.replace(
        world, **{name: (dataclasses.replace(items[0], **changes), *items[1:])}
    )


@pytest.mark.parametrize(
    ("collection", "changes", "field"),
    [
        ("producers", {"commune_code": "99999"}, "commune_code"),
        ("markets", {"commune_code": "99999"}, "commune_code"),
        ("products", {"subgroup_code": "9.9"}, "subgroup_code"),
        ("vendors", {"bank_bin": "000000"}, "bank_bin"),
        ("vendors", {"account_number": "12-34-56"}, "account_number"),
        ("listings", {"price_vnd": 1500.5}, "price_vnd"),
        ("listings", {"price_vnd": 0}, "price_vnd"),
    ],
)
def test_bulk_world_refuses_what_the_services_refuse_naming_the_field(
    session: Session, small_scenario: Path, collection: str, changes: dict[str, Any], field: str
) -> None:
    world = with_first(build_world(load_scenario(small_scenario), 7), collection, **changes)

    with pytest.raises(DomainError) as refused:
        store_world_bulk(session, world, OPENED)
    assert refused.value.field == field
    assert session.scalar(select(func.count()).select_from(Listing)) == 0


def test_bulk_world_refuses_a_bad_certification_and_a_stall_code_taken_twice(
    session: Session, small_scenario: Path
) -> None:
    world = build_world(load_scenario(small_scenario), 7)
    product = world.products[0]
    wrong = dataclasses.replace(product.certifications[0], score=10)
    bad = dataclasses.replace(world, products=(dataclasses.replace(product, certifications=(
        wrong, *product.certifications[1:]
    )), *world.products[1:]))  # fmt: skip
    with pytest.raises(DomainError) as refused:
        store_world_bulk(session, bad, OPENED)
    assert refused.value.field == "score"

    twice = with_first(world, "stalls", code=world.stalls[1].code.lower())
    with pytest.raises(Conflict) as taken:
        store_world_bulk(session, twice, OPENED)
    assert taken.value.field == "code"


def test_a_writer_process_that_fails_hands_the_database_error_to_the_player(
    tmp_path: Path,
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables
    writer = ProcessChunkWriter(engine)
    order = (1, "o1", 1, 1, 1, 1000, None, "f", datetime.now(UTC), None)
    writer.put(Chunk([], [order], [], [], LedgerChunk([], [], [], [], [], Totals())))

    with pytest.raises(RuntimeError, match="no such table: orders"):
        writer.close()
    engine.dispose()
