"""Indexes for listing filters, measured with 20,000 products and 50,000 listings.

A covering index on live listings replaces the single stall and price indexes (the price one
misled SQLite into 127 ms page counts); narrow indexes let joins by group and stars skip the
wide product and certification rows; on PostgreSQL a trigram index serves listing text search.
Plain index operations, not batch ones: rebuilding `products` on SQLite would drop the FTS
triggers of migration 0002.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:50:32
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_COLUMNS = ["stall_id", "archived_at", "product_id", "price_vnd", "stock", "search_title"]


def upgrade() -> None:
    op.drop_index("ix_listings_price_vnd", table_name="listings")
    op.drop_index("ix_listings_stall_id", table_name="listings")
    op.create_index("ix_listings_stall_live", "listings", LIVE_COLUMNS)
    op.create_index(
        "ix_ocop_certifications_current", "ocop_certifications", ["id", "stars", "revoked_at"]
    )
    op.create_index(
        "ix_products_listing_filter", "products", ["id", "group_code", "current_certification_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_listings_search_title_trgm ON listings "
            "USING gin (search_title gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_listings_search_title_trgm")
    op.drop_index("ix_products_listing_filter", table_name="products")
    op.drop_index("ix_ocop_certifications_current", table_name="ocop_certifications")
    op.drop_index("ix_listings_stall_live", table_name="listings")
    op.create_index("ix_listings_stall_id", "listings", ["stall_id"])
    op.create_index("ix_listings_price_vnd", "listings", ["price_vnd"])
