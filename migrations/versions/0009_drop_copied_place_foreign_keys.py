"""Drop the foreign keys of columns that only copy a place another foreign key already checks.

An order copies its stall's vendor and market; a line its listing's product; a payment intent its
order's place (vendor, stall, market, commune); a ledger row its event's intent and the intent's
place. The copies are made in code from rows whose own foreign keys hold, and
tests/simulator/test_bulk.py checks that they match, one sale at a time and in bulk. Checking
each copy again cost 3 to 4 µs per key and row (200,000 ledger rows: 0.9 s with their indexes,
3.3 s with the four place keys, 4.8 s with the intent and event keys too), 12 checks per sale,
about a third of the database's time in the simulator's bulk writer. The keys that tie a row to
its parent stay: order to stall, line to order and listing, intent to order, event to intent,
ledger row to event.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (column, referred table, referred column) of each copied place
COPIES = {
    "orders": [("vendor_id", "vendors", "id"), ("market_id", "markets", "id")],
    "order_lines": [("product_id", "products", "id")],
    "payment_intents": [
        ("vendor_id", "vendors", "id"),
        ("stall_id", "stalls", "id"),
        ("market_id", "markets", "id"),
        ("commune_code", "communes", "code"),
    ],
    "ledger_entries": [
        ("intent_id", "payment_intents", "id"),
        ("vendor_id", "vendors", "id"),
        ("stall_id", "stalls", "id"),
        ("market_id", "markets", "id"),
        ("commune_code", "communes", "code"),
    ],
}


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table, keys in COPIES.items():
        with op.batch_alter_table(table) as batch_op:
            for column, referred, _ in keys:
                batch_op.drop_constraint(_name(table, column, referred), type_="foreignkey")


def downgrade() -> None:
    for table, keys in COPIES.items():
        with op.batch_alter_table(table) as batch_op:
            for column, referred, referred_column in keys:
                batch_op.create_foreign_key(
                    _name(table, column, referred), referred, [column], [referred_column]
                )
