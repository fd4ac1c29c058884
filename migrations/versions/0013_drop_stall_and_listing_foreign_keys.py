"""Drop the last foreign keys the checkout writes check: an order's stall, a line's listing.

`perf` on the simulator's bulk writer put these two checks at about a fifth of the database's
time once the other keys had gone (0009, 0011): for each row PostgreSQL starts a query, finds the
stall or listing and locks it FOR KEY SHARE. They guard against nothing that can happen:
stalls are closed and listings archived, never deleted (a market with stalls cannot be deleted
either), and every checkout finds the stall and its listings before it writes, on both write
paths; tests/simulator/test_bulk.py counts lines and orders whose stall or listing is missing
or elsewhere, and requires none.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (column, referred table), the link to the referred table's id
LINKS = {"orders": ("stall_id", "stalls"), "order_lines": ("listing_id", "listings")}


def upgrade() -> None:
    for table, (column, referred) in LINKS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table, (column, referred) in LINKS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(
                f"fk_{table}_{column}_{referred}", referred, [column], ["id"]
            )
