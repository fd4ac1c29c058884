"""Drop the index of order lines by listing: it served the foreign key 0013 dropped.

It let the database find a listing's lines when the listing's row was deleted, to check the
key; with the key gone no query reads it (lines are read by their order). Each line still paid
an insert at a random place in it: 8.2 million in the simulator's 6.4 M-sale month.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_order_lines_listing_id", table_name="order_lines")


def downgrade() -> None:
    op.create_index("ix_order_lines_listing_id", "order_lines", ["listing_id"])
