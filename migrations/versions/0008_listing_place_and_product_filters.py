"""Listings carry their province and their product's group and live stars, kept by triggers.

Filtering listings by province, group and stars joined five tables (listing, stall, market,
commune, product, certification) and probed two indexes per listing of the province: 40 ms a page
with its count on PostgreSQL with 50,000 listings. The three copies make it one index range.

Triggers, not services, keep the copies, because listings are also written by factories, bulk
loaders and the simulator, and the sources change in other packages (a market's commune, a
product's group, a certification's stars or revocation):

- a listing, on insert or when its stall or product changes, reads all three;
- a stall moved to another market, a market moved to another commune, a commune moved to another
  province (2025 mergers) rewrite the province of the listings concerned;
- a product whose group or current certification changes, and a certification whose stars or
  revocation change while it is current, rewrite the listings of that product.

`product_stars` is the current certification's stars while it is not revoked, else null: exactly
what the old join filtered on. Plain operations, no batch rebuild (it would drop triggers).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX_COLUMNS = [
    "province_code",
    "product_group",
    "product_stars",
    "archived_at",
    "stall_id",
    "price_vnd",
    "stock",
]

# Expressions of a listing's copies, given its stall id and product id (SQL, both dialects).
PROVINCE_OF_STALL = (
    "(SELECT c.province_code FROM stalls s JOIN markets m ON m.id = s.market_id"
    " JOIN communes c ON c.code = m.commune_code WHERE s.id = {stall})"
)
GROUP_OF_PRODUCT = "(SELECT p.group_code FROM products p WHERE p.id = {product})"
STARS_OF_PRODUCT = (
    "(SELECT oc.stars FROM products p JOIN ocop_certifications oc"
    " ON oc.id = p.current_certification_id AND oc.revoked_at IS NULL WHERE p.id = {product})"
)


def copies(stall: str, product: str) -> str:
    """Return the SET list that refreshes a listing's three copies."""
    return (
        f"province_code = {PROVINCE_OF_STALL.format(stall=stall)},"
        f" product_group = {GROUP_OF_PRODUCT.format(product=product)},"
        f" product_stars = {STARS_OF_PRODUCT.format(product=product)}"
    )


# (trigger name, table, event, statement run for each row, with `new` the changed row); on
# PostgreSQL the two on listings are one BEFORE trigger instead (PG_LISTING_*).
TRIGGERS = [
    (
        "listings_copy_filters",
        "listings",
        "INSERT",
        f"UPDATE listings SET {copies('new.stall_id', 'new.product_id')} WHERE id = new.id",
    ),
    (
        "listings_recopy_filters",
        "listings",
        "UPDATE OF stall_id, product_id",
        f"UPDATE listings SET {copies('new.stall_id', 'new.product_id')} WHERE id = new.id",
    ),
    (
        "stalls_listing_province",
        "stalls",
        "UPDATE OF market_id",
        f"UPDATE listings SET province_code = {PROVINCE_OF_STALL.format(stall='new.id')}"
        " WHERE stall_id = new.id",
    ),
    (
        "markets_listing_province",
        "markets",
        "UPDATE OF commune_code",
        "UPDATE listings SET province_code ="
        " (SELECT c.province_code FROM communes c WHERE c.code = new.commune_code)"
        " WHERE stall_id IN (SELECT s.id FROM stalls s WHERE s.market_id = new.id)",
    ),
    (
        "communes_listing_province",
        "communes",
        "UPDATE OF province_code",
        "UPDATE listings SET province_code = new.province_code WHERE stall_id IN"
        " (SELECT s.id FROM stalls s JOIN markets m ON m.id = s.market_id"
        " WHERE m.commune_code = new.code)",
    ),
    (
        "products_listing_filters",
        "products",
        "UPDATE OF group_code, current_certification_id",
        f"UPDATE listings SET product_group = new.group_code,"
        f" product_stars = {STARS_OF_PRODUCT.format(product='new.id')}"
        " WHERE product_id = new.id",
    ),
    (
        "certifications_listing_stars",
        "ocop_certifications",
        "UPDATE OF stars, revoked_at",
        f"UPDATE listings SET product_stars = {STARS_OF_PRODUCT.format(product='new.product_id')}"
        " WHERE product_id = new.product_id",
    ),
]


# On PostgreSQL a listing fills its own copies before it is written, not by a second update.
PG_LISTING_FUNCTION = (
    "CREATE FUNCTION listings_copy_filters() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" NEW.province_code := {PROVINCE_OF_STALL.format(stall='NEW.stall_id')};"
    f" NEW.product_group := {GROUP_OF_PRODUCT.format(product='NEW.product_id')};"
    f" NEW.product_stars := {STARS_OF_PRODUCT.format(product='NEW.product_id')};"
    " RETURN NEW; END $$"
)
PG_LISTING_TRIGGER = (
    "CREATE TRIGGER listings_copy_filters BEFORE INSERT OR UPDATE OF stall_id, product_id"
    " ON listings FOR EACH ROW EXECUTE FUNCTION listings_copy_filters()"
)


def upgrade() -> None:
    op.add_column("listings", sa.Column("province_code", sa.String(length=2), nullable=True))
    op.add_column("listings", sa.Column("product_group", sa.String(length=16), nullable=True))
    op.add_column("listings", sa.Column("product_stars", sa.SmallInteger(), nullable=True))
    op.execute(f"UPDATE listings SET {copies('listings.stall_id', 'listings.product_id')}")
    op.create_index("ix_listings_province_filter", "listings", INDEX_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_LISTING_FUNCTION)
        op.execute(PG_LISTING_TRIGGER)
        for name, table, event, statement in TRIGGERS:
            if table == "listings":
                continue
            # RETURN NULL: the result of an AFTER trigger is ignored.
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
                f" $$ BEGIN {statement}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
    else:
        for name, table, event, statement in TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {statement}; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, _, _ in reversed(TRIGGERS):
        if postgresql and table != "listings":
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        elif not postgresql:
            op.execute(f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP TRIGGER listings_copy_filters ON listings")
        op.execute("DROP FUNCTION listings_copy_filters()")
    op.drop_index("ix_listings_province_filter", table_name="listings")
    op.drop_column("listings", "product_stars")
    op.drop_column("listings", "product_group")
    op.drop_column("listings", "province_code")
