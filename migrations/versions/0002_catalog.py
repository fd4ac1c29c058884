"""catalog: producers, products, OCOP certifications, e-commerce listings, product search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:54:35.502918

Besides the tables, this creates the search index the models cannot describe (migrations/env.py
keeps autogenerate from proposing to drop it):
- SQLite: the FTS5 external-content table `products_fts` over products.search_name and
  products.search_text, kept in step by three triggers. A later batch migration that recreates
  `products` drops the triggers: recreate them and run
  INSERT INTO products_fts(products_fts) VALUES ('rebuild').
- PostgreSQL: the generated column products.search_vector, a weighted tsvector of the same columns,
  and its GIN index `ix_products_search_vector`. The models do not map the column; the database
  fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import market.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE products_fts USING fts5(search_name, search_text, content='products',"
    " content_rowid='id', tokenize='unicode61', prefix='2 3')",
    "CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN"
    " INSERT INTO products_fts(rowid, search_name, search_text)"
    " VALUES (new.id, new.search_name, new.search_text); END",
    "CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN"
    " INSERT INTO products_fts(products_fts, rowid, search_name, search_text)"
    " VALUES ('delete', old.id, old.search_name, old.search_text); END",
    "CREATE TRIGGER products_fts_update AFTER UPDATE OF search_name, search_text ON products BEGIN"
    " INSERT INTO products_fts(products_fts, rowid, search_name, search_text)"
    " VALUES ('delete', old.id, old.search_name, old.search_text);"
    " INSERT INTO products_fts(rowid, search_name, search_text)"
    " VALUES (new.id, new.search_name, new.search_text); END",
)
POSTGRESQL_SEARCH = (
    # Stored, so that ranking and the index recheck do not rebuild the vector of every match.
    "ALTER TABLE products ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, search_name), 'A')"
    " || setweight(to_tsvector('simple'::regconfig, search_text), 'B')) STORED",
    "CREATE INDEX ix_products_search_vector ON products USING gin (search_vector)",
)


def upgrade() -> None:
    op.create_table(
        "producers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "producer_type",
            sa.Enum(
                "cooperative",
                "cooperative_group",
                "enterprise",
                "household_business",
                name="producer_type",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("tax_code", sa.String(length=14), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["communes.code"], name=op.f("fk_producers_commune_code_communes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_producers")),
        sa.UniqueConstraint("tax_code", name=op.f("uq_producers_tax_code")),
    )
    with op.batch_alter_table("producers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_producers_commune_code"), ["commune_code"])

    # products.current_certification_id and ocop_certifications.product_id point at each other:
    # the first foreign key is added once both tables exist.
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("group_code", sa.String(length=16), nullable=False),
        sa.Column("subgroup_code", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("origin_commune_code", sa.String(length=5), nullable=False),
        sa.Column("search_name", sa.String(length=200), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("current_certification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["origin_commune_code"],
            ["communes.code"],
            name=op.f("fk_products_origin_commune_code_communes"),
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["producers.id"], name=op.f("fk_products_producer_id_producers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_table(
        "ocop_certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("decision_number", sa.String(length=64), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column(
            "issuing_level",
            sa.Enum(
                "district_legacy",
                "province",
                "central",
                name="issuing_level",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("revoked_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(stars = 3 AND score BETWEEN 50 AND 69) OR (stars = 4 AND score BETWEEN 70 AND 89)"
            " OR (stars = 5 AND score BETWEEN 90 AND 100)",
            name=op.f("ck_ocop_certifications_score_matches_stars"),
        ),
        sa.CheckConstraint(
            "stars BETWEEN 3 AND 5", name=op.f("ck_ocop_certifications_stars_certified")
        ),
        sa.CheckConstraint(
            "valid_until > decision_date",
            name=op.f("ck_ocop_certifications_valid_after_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_ocop_certifications_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocop_certifications")),
        sa.UniqueConstraint(
            "product_id",
            "decision_number",
            name=op.f("uq_ocop_certifications_product_id_decision_number"),
        ),
    )
    with op.batch_alter_table("ocop_certifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ocop_certifications_product_id"), ["product_id"])

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_products_current_certification_id_ocop_certifications"),
            "ocop_certifications",
            ["current_certification_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_products_created_at"), ["created_at"])
        batch_op.create_index(
            batch_op.f("ix_products_current_certification_id"), ["current_certification_id"]
        )
        batch_op.create_index(
            batch_op.f("ix_products_origin_commune_code"), ["origin_commune_code"]
        )
        batch_op.create_index(batch_op.f("ix_products_producer_id"), ["producer_id"])
        batch_op.create_index(batch_op.f("ix_products_search_name"), ["search_name"])

    op.create_table(
        "ecommerce_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column(
            "platform",
            sa.Enum(
                "postmart_buudien",
                "voso",
                "shopee",
                "tiktok_shop",
                "lazada",
                "tiki",
                "sanphamvungmien",
                "other",
                name="ecommerce_platform",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("listed_at", market.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delisted_at", market.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "delisted_at IS NULL OR delisted_at >= listed_at",
            name=op.f("ck_ecommerce_listings_delisted_after_listed"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_ecommerce_listings_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ecommerce_listings")),
        sa.UniqueConstraint("product_id", "url", name=op.f("uq_ecommerce_listings_product_id_url")),
    )
    with op.batch_alter_table("ecommerce_listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ecommerce_listings_product_id"), ["product_id"])

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRESQL_SEARCH}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER products_fts_{trigger}")
        op.execute("DROP TABLE products_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX ix_products_search_vector")
        op.execute("ALTER TABLE products DROP COLUMN search_vector")

    op.drop_table("ecommerce_listings")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_products_current_certification_id_ocop_certifications"),
            type_="foreignkey",
        )
    op.drop_table("ocop_certifications")
    op.drop_table("products")
    op.drop_table("producers")
