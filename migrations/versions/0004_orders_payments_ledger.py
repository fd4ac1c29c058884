"""orders payments ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:11:15.401133
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import market.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("stall_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("total_vnd", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stock_released_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("total_vnd > 0", name=op.f("ck_orders_total_positive")),
        sa.ForeignKeyConstraint(
            ["market_id"], ["markets.id"], name=op.f("fk_orders_market_id_markets")
        ),
        sa.ForeignKeyConstraint(
            ["stall_id"], ["stalls.id"], name=op.f("fk_orders_stall_id_stalls")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_orders_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_orders_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_orders_public_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_stall_id"), ["stall_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("unit_price_vnd", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("line_total_vnd", sa.BigInteger(), nullable=False),
        sa.Column("is_ocop", sa.Boolean(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("unit_price_vnd > 0", name=op.f("ck_order_lines_price_positive")),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_order_lines_listing_id_listings")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_order_lines_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_listing_id"), ["listing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payment_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "vietqr",
                "card",
                "cash",
                name="payment_method",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "paid",
                "underpaid",
                "overpaid",
                "expired",
                "cancelled",
                "partially_refunded",
                "refunded",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("received_vnd", sa.BigInteger(), nullable=False),
        sa.Column("refunded_vnd", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("payee_bin", sa.String(length=6), nullable=False),
        sa.Column("payee_account", sa.String(length=19), nullable=False),
        sa.Column("qr_payload", sa.Text(), nullable=True),
        sa.Column("expires_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attention", sa.String(length=200), nullable=True),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("stall_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("is_ocop", sa.Boolean(), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_vnd > 0", name=op.f("ck_payment_intents_amount_positive")),
        sa.CheckConstraint(
            "received_vnd >= 0", name=op.f("ck_payment_intents_received_not_negative")
        ),
        sa.CheckConstraint(
            "refunded_vnd >= 0 AND refunded_vnd <= received_vnd",
            name=op.f("ck_payment_intents_refund_bounded"),
        ),
        sa.ForeignKeyConstraint(
            ["commune_code"],
            ["communes.code"],
            name=op.f("fk_payment_intents_commune_code_communes"),
        ),
        sa.ForeignKeyConstraint(
            ["market_id"], ["markets.id"], name=op.f("fk_payment_intents_market_id_markets")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_intents_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["stall_id"], ["stalls.id"], name=op.f("fk_payment_intents_stall_id_stalls")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_payment_intents_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_intents")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payment_intents_order_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_payment_intents_public_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_payment_intents_reference")),
    )
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_intents_payee_account"), ["payee_account"], unique=False
        )
        batch_op.create_index(
            "ix_payment_intents_status_expires_at", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_intents_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "bank_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("account_number", sa.String(length=32), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "match",
            sa.Enum(
                "matched",
                "unmatched",
                "wrong_account",
                "outgoing",
                name="bank_match",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("intent_id", sa.Integer(), nullable=True),
        sa.Column("received_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_bank_notifications_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_notifications")),
        sa.UniqueConstraint(
            "provider", "transaction_id", name=op.f("uq_bank_notifications_provider_transaction_id")
        ),
    )
    with op.batch_alter_table("bank_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_notifications_intent_id"), ["intent_id"], unique=False
        )

    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "created",
                "money_received",
                "card_declined",
                "refunded",
                "expired",
                "cancelled",
                name="payment_event_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("occurred_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_vnd >= 0", name=op.f("ck_payment_events_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_payment_events_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_payment_events_dedupe_key")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_events_intent_id"), ["intent_id"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "payment",
                "refund",
                name="ledger_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "method",
            sa.Enum(
                "vietqr",
                "card",
                "cash",
                name="payment_method",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("stall_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("is_ocop", sa.Boolean(), nullable=False),
        sa.Column("is_late", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_code"],
            ["communes.code"],
            name=op.f("fk_ledger_entries_commune_code_communes"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["payment_events.id"],
            name=op.f("fk_ledger_entries_event_id_payment_events"),
        ),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_ledger_entries_intent_id_payment_intents"),
        ),
        sa.ForeignKeyConstraint(
            ["market_id"], ["markets.id"], name=op.f("fk_ledger_entries_market_id_markets")
        ),
        sa.ForeignKeyConstraint(
            ["stall_id"], ["stalls.id"], name=op.f("fk_ledger_entries_stall_id_stalls")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_ledger_entries_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ledger_entries_event_id")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_intent_id"), ["intent_id"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_entries_local_date_vendor", ["local_date", "vendor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_market_id"), ["market_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_province_code"), ["province_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_province_code"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_market_id"))
        batch_op.drop_index("ix_ledger_entries_local_date_vendor")
        batch_op.drop_index(batch_op.f("ix_ledger_entries_intent_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_intent_id"))

    op.drop_table("payment_events")
    with op.batch_alter_table("bank_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_notifications_intent_id"))

    op.drop_table("bank_notifications")
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_intents_vendor_id"))
        batch_op.drop_index("ix_payment_intents_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_payment_intents_payee_account"))

    op.drop_table("payment_intents")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_listing_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_orders_stall_id"))

    op.drop_table("orders")
