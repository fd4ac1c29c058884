"""markets vendors stalls listings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:04:11.863998
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import market.core.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=True),
        sa.Column("bank_bin", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=19), nullable=False),
        sa.Column("account_holder", sa.String(length=50), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_vendors_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_vendors_user_id")),
    )
    op.create_table(
        "markets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("search_name", sa.String(length=120), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "traditional",
                "market_4_0",
                "cashless_street",
                "walking_street",
                "ocop_point",
                name="market_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("market_class", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("market_class IN (1, 2, 3)", name=op.f("ck_markets_market_class_range")),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["communes.code"], name=op.f("fk_markets_commune_code_communes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markets")),
    )
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_markets_commune_code"), ["commune_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_markets_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_markets_search_name"), ["search_name"], unique=False)

    op.create_table(
        "stalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "fresh_produce",
                "meat_fish",
                "cooked_food",
                "drinks",
                "ocop_products",
                "crafts_souvenirs",
                "clothing",
                "household",
                "services",
                name="stall_category",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["market_id"], ["markets.id"], name=op.f("fk_stalls_market_id_markets")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_stalls_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stalls")),
        sa.UniqueConstraint("market_id", "code", name=op.f("uq_stalls_market_id_code")),
    )
    with op.batch_alter_table("stalls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stalls_market_id"), ["market_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stalls_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("stall_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("search_title", sa.String(length=160), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("price_vnd", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price_vnd > 0", name=op.f("ck_listings_price_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_listings_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_listings_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["stall_id"], ["stalls.id"], name=op.f("fk_listings_stall_id_stalls")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_listings_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listings_price_vnd"), ["price_vnd"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_stall_id"), ["stall_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_vendor_id"), ["vendor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listings_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_listings_stall_id"))
        batch_op.drop_index(batch_op.f("ix_listings_product_id"))
        batch_op.drop_index(batch_op.f("ix_listings_price_vnd"))

    op.drop_table("listings")
    with op.batch_alter_table("stalls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stalls_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_stalls_market_id"))

    op.drop_table("stalls")
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_markets_search_name"))
        batch_op.drop_index(batch_op.f("ix_markets_kind"))
        batch_op.drop_index(batch_op.f("ix_markets_commune_code"))

    op.drop_table("markets")
    op.drop_table("vendors")
