"""Drop the foreign keys between rows that one function writes together, parent first.

A line and an intent take their order's id from the order's INSERT ... RETURNING (or, in bulk,
from the ids drawn for the chunk they are written with); an event, a bank notification and a
ledger row refer to an intent locked or written in the same transaction, or to the event just
written. Nothing deletes any of these rows. Checking each link again cost about 5 µs per row,
40 % of the database's time in the simulator's bulk writer after migration 0009, for a promise
the writers keep by construction and tests/simulator/test_bulk.py checks on both write paths.
The keys into what other code manages stay: an order's stall, a line's listing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (column, referred table) of each link, all to the referred table's id
LINKS = {
    "order_lines": [("order_id", "orders")],
    "payment_intents": [("order_id", "orders")],
    "payment_events": [("intent_id", "payment_intents")],
    "bank_notifications": [("intent_id", "payment_intents")],
    "ledger_entries": [("event_id", "payment_events")],
}


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table, links in LINKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, referred in links:
                batch_op.drop_constraint(_name(table, column, referred), type_="foreignkey")


def downgrade() -> None:
    for table, links in LINKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, referred in links:
                batch_op.create_foreign_key(
                    _name(table, column, referred), referred, [column], ["id"]
                )
