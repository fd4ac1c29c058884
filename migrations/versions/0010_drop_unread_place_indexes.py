"""Drop three indexes no query reads: orders by vendor, payment intents by vendor and by account.

Vendors' pages find orders through their stalls (ix_orders_stall_id) and reports read the roll-ups
and the ledger; a bank notification finds its intent by reference, then compares the account. Each
of these indexes has one hot page per vendor, so on a province's thousands of vendors every sale
touched a page the database's cache had likely dropped (the simulator's bulk writer, 2 M sales
into PostgreSQL: 8,040 sales/s with them, 8,565 without).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 14:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = [
    ("orders", "ix_orders_vendor_id", "vendor_id"),
    ("payment_intents", "ix_payment_intents_vendor_id", "vendor_id"),
    ("payment_intents", "ix_payment_intents_payee_account", "payee_account"),
]


def upgrade() -> None:
    for table, index, _ in UNREAD:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, column in UNREAD:
        op.create_index(index, table, [column])
