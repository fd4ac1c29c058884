"""Take `stock` out of the listing indexes, and leave room on the table's pages, so that taking
stock at checkout is a heap-only (HOT) update.

Every sale changes its listings' stock. While stock was an indexed column, PostgreSQL wrote each
change as a new row version with new entries in all five listing indexes, the trigram one
included; the simulator's bulk writer spent most of its time on those once a province's 31,000
listings changed stock in every chunk. With no index on stock and 20 % of each page kept free,
the new version stays on its page and no index changes. An in-stock filter now reads the rows
the other filters found.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 15:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = ["stall_id", "archived_at", "product_id", "price_vnd", "search_title"]
PROVINCE = [
    "province_code",
    "product_group",
    "product_stars",
    "archived_at",
    "stall_id",
    "price_vnd",
]


def _indexes(with_stock: bool) -> None:
    live = LIVE[:4] + ["stock"] + LIVE[4:] if with_stock else LIVE
    province = PROVINCE + ["stock"] if with_stock else PROVINCE
    op.drop_index("ix_listings_stall_live", table_name="listings")
    op.drop_index("ix_listings_province_filter", table_name="listings")
    op.create_index("ix_listings_stall_live", "listings", live)
    op.create_index("ix_listings_province_filter", "listings", province)


def upgrade() -> None:
    _indexes(with_stock=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE listings SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE listings RESET (fillfactor)")
    _indexes(with_stock=True)
