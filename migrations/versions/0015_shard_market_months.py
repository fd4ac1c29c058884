"""Split each market-month roll-up row into shards by stall, so checkouts stop queuing for it.

Every checkout and every payment at a market added to its one month row and held that row's lock
until it committed: bench_checkout's 20 stalls of one market served 291 checkouts/s with the
machine a third idle, and 562/s with the market-month write left out. Now a stall's sales add
to the row of its shard (stall id modulo 16, `payments.models.market_month_shard`), and the
reports add the shards up as they already added up methods. Rows written before stay as shard
0, which the sums count the same.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["month", "market_id", "method"]


def upgrade() -> None:
    with op.batch_alter_table("sales_market_months") as batch_op:
        batch_op.add_column(
            sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("pk_sales_market_months", type_="primary")
        batch_op.create_primary_key("pk_sales_market_months", [*KEY, "shard"])
    with op.batch_alter_table("sales_market_months") as batch_op:
        batch_op.alter_column("shard", server_default=None)


def downgrade() -> None:
    # Add the shards of each month row up into one row again.
    tally = [
        "payments",
        "paid_vnd",
        "refunds",
        "refunded_vnd",
        "late_payments",
        "ocop_payments",
        "ocop_paid_vnd",
        "ocop_refunded_vnd",
        "qr_issued",
        "qr_expired",
        "active_stalls",
    ]
    sums = ", ".join(f"sum({name})" for name in tally)
    op.execute(
        f"""
        UPDATE sales_market_months SET ({", ".join(tally)}) = (
            SELECT {sums} FROM sales_market_months AS part
            WHERE part.month = sales_market_months.month
              AND part.market_id = sales_market_months.market_id
              AND part.method = sales_market_months.method)
        WHERE shard = (SELECT min(other.shard) FROM sales_market_months AS other
            WHERE other.month = sales_market_months.month
              AND other.market_id = sales_market_months.market_id
              AND other.method = sales_market_months.method)
        """
    )
    op.execute(
        """
        DELETE FROM sales_market_months WHERE shard > (
            SELECT min(other.shard) FROM sales_market_months AS other
            WHERE other.month = sales_market_months.month
              AND other.market_id = sales_market_months.market_id
              AND other.method = sales_market_months.method)
        """
    )
    with op.batch_alter_table("sales_market_months") as batch_op:
        batch_op.drop_constraint("pk_sales_market_months", type_="primary")
        batch_op.create_primary_key("pk_sales_market_months", KEY)
        batch_op.drop_column("shard")
