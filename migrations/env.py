"""Alembic environment: runs on the connection the app hands over, or on DATABASE_URL."""

import re
from typing import Any

from alembic import context
from sqlalchemy import Connection

import market.models  # noqa: F401  (registers every table on Base.metadata)
from market.core.db import Base

config = context.config

# Search objects made by hand in migration 0002 (SQLite FTS5 tables; on PostgreSQL a generated
# tsvector column and its GIN index): the models do not describe them, so autogenerate must not
# propose to drop them.
HAND_MADE = re.compile(
    r"products_fts(_\w+)?|search_vector|ix_products_search_vector|ix_listings_search_title_trgm"
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (reflected and name is not None and HAND_MADE.fullmatch(name))


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_settings() -> None:
    """Run on the app's configured database, as `alembic upgrade head` from the repository does."""
    from market.app import create_app
    from market.core.db import create_db_engine

    engine = create_db_engine(create_app().config["DATABASE_URL"])
    with engine.connect() as connection:
        run_migrations(connection)
        connection.commit()


if config.attributes.get("connection") is not None:
    run_migrations(config.attributes["connection"])
elif context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
else:
    run_from_settings()
